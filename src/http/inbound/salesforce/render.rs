//! Writes an [`OutboundMessage`] the way Salesforce sends it: the Salesforce simulator, the
//! benchmark and the property tests produce their messages here, so they share one shape.

use std::fmt::Write;

use quick_xml::escape::escape;

use super::message::{CampaignMemberFields, Notification, NotifiedObject, OutboundMessage};
use super::xml::{OUTBOUND, SOAP_ENVELOPE, SOBJECT};

/// Surface details that must not change the meaning of a message; the parser has to accept
/// every combination.
#[derive(Debug, Clone)]
pub struct RenderStyle {
    /// Prefix bound to the SOAP envelope namespace.
    pub soap_prefix: String,
    /// Prefix bound to the sObject namespace (Salesforce uses `sf`).
    pub sobject_prefix: String,
    /// `Some(p)` puts the outbound elements under prefix `p` instead of the default namespace.
    pub outbound_prefix: Option<String>,
    pub xml_declaration: bool,
    pub byte_order_mark: bool,
    /// Line breaks and indentation between elements.
    pub pretty: bool,
}

impl Default for RenderStyle {
    /// What Salesforce itself sends.
    fn default() -> Self {
        RenderStyle {
            soap_prefix: "soapenv".into(),
            sobject_prefix: "sf".into(),
            outbound_prefix: None,
            xml_declaration: true,
            byte_order_mark: false,
            pretty: true,
        }
    }
}

/// The message as Salesforce sends it.
pub fn render_outbound_message(message: &OutboundMessage) -> String {
    render_with(message, &RenderStyle::default())
}

pub fn render_with(message: &OutboundMessage, style: &RenderStyle) -> String {
    let mut out = String::with_capacity(1024 + 640 * message.notifications.len());
    let nl = if style.pretty { "\n" } else { "" };
    let soap = &style.soap_prefix;
    let sf = &style.sobject_prefix;
    let (om, om_decl) = match &style.outbound_prefix {
        Some(p) => (format!("{p}:"), format!("xmlns:{p}=\"{OUTBOUND}\"")),
        None => (String::new(), format!("xmlns=\"{OUTBOUND}\"")),
    };
    if style.byte_order_mark {
        out.push('\u{FEFF}');
    }
    if style.xml_declaration {
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        out.push_str(nl);
    }
    let _ = write!(
        out,
        "<{soap}:Envelope xmlns:{soap}=\"{SOAP_ENVELOPE}\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">{nl}<{soap}:Body>{nl}\
         <{om}notifications {om_decl}>{nl}"
    );
    leaf(
        &mut out,
        &om,
        "OrganizationId",
        Some(&message.organization_id),
        nl,
    );
    leaf(&mut out, &om, "ActionId", Some(&message.action_id), nl);
    match &message.session_id {
        Some(session) => leaf(&mut out, &om, "SessionId", Some(session), nl),
        None => {
            let _ = write!(out, "<{om}SessionId xsi:nil=\"true\"/>{nl}");
        }
    }
    leaf(
        &mut out,
        &om,
        "EnterpriseUrl",
        message.enterprise_url.as_deref(),
        nl,
    );
    leaf(
        &mut out,
        &om,
        "PartnerUrl",
        message.partner_url.as_deref(),
        nl,
    );
    for notification in &message.notifications {
        notification_element(&mut out, notification, &om, sf, nl);
    }
    let _ = write!(
        out,
        "</{om}notifications>{nl}</{soap}:Body>{nl}</{soap}:Envelope>{nl}"
    );
    out
}

/// One `<Notification>` element as it appears inside a message Salesforce sends (its
/// ancestors' namespace declarations not repeated): what a rejected notification keeps.
pub fn render_notification(notification: &Notification) -> String {
    let mut out = String::with_capacity(640);
    notification_element(&mut out, notification, "", "sf", "\n");
    out
}

fn notification_element(
    out: &mut String,
    notification: &Notification,
    om: &str,
    sf: &str,
    nl: &str,
) {
    let _ = write!(out, "<{om}Notification>{nl}");
    leaf(out, om, "Id", Some(&notification.id), nl);
    let sobject_type = match &notification.object {
        NotifiedObject::CampaignMember(_) | NotifiedObject::Vanished => "CampaignMember",
        NotifiedObject::Other { sobject_type } => sobject_type,
    };
    let _ = write!(
        out,
        "<{om}sObject xsi:type=\"{sf}:{}\" xmlns:{sf}=\"{SOBJECT}\">{nl}",
        escape(sobject_type)
    );
    // An `Other` named "CampaignMember" cannot be written distinctly: it reads back as one.
    match &notification.object {
        NotifiedObject::CampaignMember(member) => {
            member_fields(out, &format!("{sf}:"), member, nl);
        }
        NotifiedObject::Vanished | NotifiedObject::Other { .. } => {}
    }
    let _ = write!(out, "</{om}sObject>{nl}</{om}Notification>{nl}");
}

/// Null fields are omitted, as Salesforce does.
fn member_fields(out: &mut String, sf: &str, member: &CampaignMemberFields, nl: &str) {
    let has_responded = member.has_responded.map(|b| b.to_string());
    let fields = [
        ("Id", Some(&member.id)),
        ("CampaignId", member.campaign_id.as_ref()),
        ("ContactId", member.contact_id.as_ref()),
        ("CreatedDate", member.created_date.as_ref()),
        ("Email", member.email.as_ref()),
        ("HasResponded", has_responded.as_ref()),
        ("LastModifiedDate", member.last_modified_date.as_ref()),
        ("LeadId", member.lead_id.as_ref()),
        ("Status", member.status.as_ref()),
        ("SystemModstamp", member.system_modstamp.as_ref()),
    ];
    for (name, value) in fields {
        leaf(out, sf, name, value.map(String::as_str), nl);
    }
}

fn leaf(out: &mut String, prefix: &str, name: &str, value: Option<&str>, nl: &str) {
    if let Some(value) = value {
        let _ = write!(
            out,
            "<{prefix}{name}>{}</{prefix}{name}>{nl}",
            escape_text(value)
        );
    }
}

/// Escapes markup, and a carriage return as a character reference, because a parser turns a
/// literal one into a line feed.
fn escape_text(value: &str) -> String {
    escape(value).replace('\r', "&#13;")
}
