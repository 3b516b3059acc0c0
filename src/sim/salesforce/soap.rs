//! The outbound message on the wire: the SOAP 1.1 `notifications` envelope Salesforce posts, and
//! the check that a listener's answer is the `notificationsResponse`/`Ack` `true` envelope.

use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use serde_json::{Map, Value};

const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const OUTBOUND: &str = "http://soap.sforce.com/2005/09/outbound";

/// The CampaignMember fields the simulated outbound message selects, in the order Salesforce
/// sends them: `Id` first, then the rest by name (the WSDL declares them as a sequence).
pub const MEMBER_FIELDS: [&str; 10] = [
    "Id",
    "CampaignId",
    "ContactId",
    "CreatedDate",
    "Email",
    "HasResponded",
    "LastModifiedDate",
    "LeadId",
    "Status",
    "SystemModstamp",
];

/// What one message says about where it came from.
pub struct Sender<'a> {
    pub organization_id: &'a str,
    pub action_id: &'a str,
    pub base_url: &'a str,
    pub api_version: &'a str,
}

/// One notification: its id and the record's fields at send time (only `Id` when the record
/// was deleted before delivery, Salesforce's "contains no data").
pub struct Notification<'a> {
    pub id: &'a str,
    pub fields: Map<String, Value>,
}

pub fn envelope(sender: &Sender<'_>, notifications: &[Notification<'_>]) -> String {
    let org15 = sender
        .organization_id
        .get(..15)
        .unwrap_or(sender.organization_id);
    let (base, version) = (sender.base_url, sender.api_version);
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope \
         xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n <soapenv:Body>\n  \
         <notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\">\n",
    );
    xml.push_str(&format!(
        "   <OrganizationId>{}</OrganizationId>\n   <ActionId>{}</ActionId>\n   \
         <SessionId xsi:nil=\"true\"/>\n   \
         <EnterpriseUrl>{}</EnterpriseUrl>\n   <PartnerUrl>{}</PartnerUrl>\n",
        escape(sender.organization_id),
        escape(sender.action_id),
        escape(format!("{base}/services/Soap/c/{version}/{org15}")),
        escape(format!("{base}/services/Soap/u/{version}/{org15}")),
    ));
    for notification in notifications {
        xml.push_str(&format!(
            "   <Notification>\n    <Id>{}</Id>\n    <sObject xsi:type=\"sf:CampaignMember\" \
             xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">\n",
            escape(notification.id)
        ));
        for field in MEMBER_FIELDS {
            let text = match notification.fields.get(field) {
                None | Some(Value::Null) => continue,
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
            };
            xml.push_str(&format!(
                "     <sf:{field}>{}</sf:{field}>\n",
                escape(text.as_str())
            ));
        }
        xml.push_str("    </sObject>\n   </Notification>\n");
    }
    xml.push_str("  </notifications>\n </soapenv:Body>\n</soapenv:Envelope>\n");
    xml
}

/// Whether `body` is a SOAP envelope whose Body holds `notificationsResponse` with `Ack` true,
/// both in the outbound namespace. Anything else — `Ack` false, a fault, plain text, leading
/// garbage, the wrong element or namespace — is a failed delivery, as in Salesforce.
pub fn is_ack(body: &str) -> bool {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    // An XML declaration must open the document: even whitespace before it is content in the
    // prolog, which Salesforce's parser refuses ("Content is not allowed in prolog").
    if body.trim_start().starts_with("<?xml") && !body.starts_with("<?xml") {
        return false;
    }
    let expected: [(&str, &str); 4] = [
        (SOAP_ENV, "Envelope"),
        (SOAP_ENV, "Body"),
        (OUTBOUND, "notificationsResponse"),
        (OUTBOUND, "Ack"),
    ];
    let mut reader = NsReader::from_str(body);
    let mut path: Vec<bool> = Vec::new();
    let mut acked = false;
    loop {
        let (namespace, event) = match reader.read_resolved_event() {
            Ok(pair) => pair,
            Err(_) => return false,
        };
        let on_path = |local: &str| {
            let depth = path.len();
            path.iter().all(|ok| *ok)
                && expected.get(depth).is_some_and(|(ns, name)| {
                    matches!(namespace, ResolveResult::Bound(bound) if bound.as_ref() == *ns)
                        && local == *name
                })
        };
        match event {
            Event::Start(start) => {
                let ok = on_path(start.local_name().as_ref());
                if path.is_empty() && !ok {
                    return false;
                }
                path.push(ok);
            }
            Event::Empty(_) if path.is_empty() => return false,
            Event::End(_) => {
                path.pop();
            }
            Event::Text(text) => {
                let content = text.xml10_content();
                let inside_ack = path.len() == expected.len() && path.iter().all(|ok| *ok);
                // `Ack` is an `xsd:boolean`, whose true is written `true` or `1`.
                if inside_ack && matches!(content.trim(), "true" | "1") {
                    acked = true;
                } else if path.is_empty() && !content.trim().is_empty() {
                    return false;
                }
            }
            Event::Eof => return acked && path.is_empty(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">
 <env:Body><out:notificationsResponse xmlns:out="http://soap.sforce.com/2005/09/outbound">
  <out:Ack> true </out:Ack></out:notificationsResponse></env:Body></env:Envelope>"#;

    #[test]
    fn fields_go_as_salesforce_sends_them_id_first_then_by_name() {
        assert_eq!(MEMBER_FIELDS[0], "Id");
        assert!(MEMBER_FIELDS[1..].is_sorted(), "{MEMBER_FIELDS:?}");
    }

    #[test]
    fn accepts_the_ack_envelope_whatever_the_prefixes() {
        assert!(is_ack(ACK));
        assert!(is_ack(&format!("\u{feff}{ACK}")));
        assert!(
            is_ack(&ACK.replace(" true ", "1")),
            "xsd:boolean's other true"
        );
    }

    #[test]
    fn rejects_everything_else() {
        assert!(!is_ack(&ACK.replace(" true ", "false")));
        assert!(!is_ack(&ACK.replace(" true ", "0")));
        assert!(!is_ack(&ACK.replace(" true ", "yes")));
        assert!(!is_ack(
            &ACK.replace("notificationsResponse", "notifications")
        ));
        assert!(!is_ack(&ACK.replace("2005/09/outbound", "2005/09/inbound")));
        assert!(!is_ack(&format!("OK{ACK}")));
        assert!(
            !is_ack(&format!("\n  {ACK}")),
            "whitespace before the declaration"
        );
        assert!(!is_ack(""));
        assert!(!is_ack("<Ack>true</Ack>"));
    }
}
