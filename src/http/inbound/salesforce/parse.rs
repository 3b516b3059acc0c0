//! The outbound-message parser: SOAP bytes in, a typed [`OutboundMessage`] out. It streams over
//! the body once, matches namespace URI and local name (never the prefix), and reads only what
//! the sync needs; unknown elements are skipped so a wider field selection still parses.

use super::fields::{self, check_id, check_id_shape, is_api_name, parse_boolean, truncate};
pub use super::message::{
    CampaignMemberFields, MAX_NOTIFICATIONS, Notification, NotifiedObject, OutboundMessage,
    ParseError, RejectedNotification,
};
use super::xml::{Element, Node, Ns, XmlReader};

/// The most of a rejected notification's XML kept for operators.
const MAX_RAW_BYTES: usize = 16 * 1024;

/// Parses a SOAP outbound message. Never expands entities or reads a DTD; nesting is bounded
/// (32 levels); a UTF-8 BOM and a missing XML declaration are fine.
pub fn parse_notifications(body: &[u8]) -> Result<OutboundMessage, ParseError> {
    super::charset::not_utf16(body)?;
    if let Some((at, byte)) = super::xml::forbidden_byte(body) {
        return Err(ParseError::Malformed {
            position: at as u64,
            message: format!("U+{byte:04X} is not a character XML allows"),
        });
    }
    let mut xml = XmlReader::new(body);
    let message = envelope(&mut xml)?;
    loop {
        match xml.next()? {
            Node::Eof => return Ok(message),
            Node::Text(text) if text.trim().is_empty() => {}
            Node::Text(_) | Node::Open(_) | Node::Close => {
                return Err(ParseError::TrailingContent);
            }
        }
    }
}

fn envelope(xml: &mut XmlReader<'_>) -> Result<OutboundMessage, ParseError> {
    let root = first_element(xml, "a SOAP 1.1 Envelope")?;
    if !root.is(Ns::Soap, "Envelope") {
        return Err(not_outbound("a SOAP 1.1 Envelope", &root.local));
    }
    let mut message = None;
    while let Some(child) = next_child(xml)? {
        if child.is(Ns::Soap, "Body") && message.is_none() {
            message = Some(body(xml)?);
        } else if child.is(Ns::Soap, "Body") {
            return Err(ParseError::Duplicate("Body"));
        } else {
            xml.skip()?;
        }
    }
    message.ok_or(ParseError::Missing("Body"))
}

fn body(xml: &mut XmlReader<'_>) -> Result<OutboundMessage, ParseError> {
    let expected = "a notifications element in namespace http://soap.sforce.com/2005/09/outbound";
    let Some(first) = next_child(xml)? else {
        return Err(ParseError::Missing("notifications"));
    };
    if !first.is(Ns::Outbound, "notifications") {
        return Err(not_outbound(expected, &first.local));
    }
    let message = notifications(xml)?;
    if let Some(extra) = next_child(xml)? {
        return Err(ParseError::Unexpected {
            found: extra.local,
            inside: "Body".into(),
        });
    }
    Ok(message)
}

fn notifications(xml: &mut XmlReader<'_>) -> Result<OutboundMessage, ParseError> {
    let mut organization_id = None;
    let mut action_id = None;
    let mut session_id = None;
    let mut enterprise_url = None;
    let mut partner_url = None;
    let mut list = Vec::new();
    let mut rejected = Vec::new();
    // Notifications read, and the ids seen: a repeat of an id within one message is dropped,
    // so the first stands there as it does across redeliveries.
    let mut count = 0;
    let mut repeats = 0;
    let mut seen = std::collections::HashSet::new();
    let mut first = |id: &str| {
        let key = crate::ids::SalesforceId::parse(id).map_or_else(|_| id.to_string(), |i| i.long());
        seen.insert(key)
    };
    while let Some(child) = next_child(xml)? {
        if child.ns != Ns::Outbound {
            xml.skip()?;
            continue;
        }
        match child.local.as_str() {
            "OrganizationId" => {
                set_once(&mut organization_id, "OrganizationId", xml.text(&child)?)?
            }
            "ActionId" => set_once(&mut action_id, "ActionId", xml.text(&child)?)?,
            "SessionId" => set_once(&mut session_id, "SessionId", xml.text(&child)?)?,
            "EnterpriseUrl" => set_once(&mut enterprise_url, "EnterpriseUrl", xml.text(&child)?)?,
            "PartnerUrl" => set_once(&mut partner_url, "PartnerUrl", xml.text(&child)?)?,
            "Notification" if count == MAX_NOTIFICATIONS => {
                return Err(ParseError::TooManyNotifications);
            }
            "Notification" => {
                count += 1;
                let start = xml.opened_at();
                match notification(xml)? {
                    (_, Ok(understood)) if !first(&understood.id) => repeats += 1,
                    (Some(id), Err(_)) if !first(&id) => repeats += 1,
                    (_, Ok(mut understood)) => {
                        // Set aside by the receiver, so kept as sent.
                        if let NotifiedObject::CampaignMember(m) = &understood.object
                            && m.status.is_none()
                        {
                            understood.raw = Some(xml.quote(start, MAX_RAW_BYTES));
                        }
                        list.push(understood)
                    }
                    (id, Err(reason)) => rejected.push(RejectedNotification {
                        id,
                        raw: xml.quote(start, MAX_RAW_BYTES),
                        reason,
                    }),
                }
            }
            _ => xml.skip()?,
        }
    }
    let organization_id = organization_id
        .filter(|id| !id.is_empty())
        .ok_or(ParseError::Missing("OrganizationId"))?;
    check_id("OrganizationId", &organization_id)?;
    let action_id = action_id
        .filter(|id| !id.is_empty())
        .ok_or(ParseError::Missing("ActionId"))?;
    check_id_shape("ActionId", &action_id)?;
    if list.is_empty() && rejected.is_empty() {
        return Err(ParseError::Missing("Notification"));
    }
    Ok(OutboundMessage {
        organization_id,
        action_id,
        session_id: session_id.filter(|s| !s.is_empty()),
        enterprise_url: enterprise_url.filter(|s| !s.is_empty()),
        partner_url: partner_url.filter(|s| !s.is_empty()),
        notifications: list,
        rejected,
        repeats,
    })
}

/// A result that refuses one notification but not its message.
type Understood<T> = Result<T, ParseError>;

/// One notification. The outer error is the whole body's (malformed XML); the inner one refuses
/// only this notification, which is read to its end either way. Its id comes back when valid.
fn notification(
    xml: &mut XmlReader<'_>,
) -> Result<(Option<String>, Understood<Notification>), ParseError> {
    let mut id = None;
    let mut object = None;
    let mut problem = None;
    while let Some(child) = next_child(xml)? {
        if child.is(Ns::Outbound, "Id") {
            if let Some(text) = note(&mut problem, field_text(xml, &child)?) {
                note(&mut problem, set_once(&mut id, "Notification/Id", text));
            }
        } else if child.is(Ns::Outbound, "sObject") {
            let parsed = sobject(xml, child.xsi_type)?;
            if object.is_some() {
                problem.get_or_insert(ParseError::Duplicate("Notification/sObject"));
            }
            object = Some(parsed);
        } else {
            xml.skip()?;
        }
    }
    let id = id.filter(|id| !id.is_empty());
    let checked = id
        .ok_or(ParseError::Missing("Notification/Id"))
        .and_then(|id| check_id("Notification/Id", &id).map(|()| id));
    let valid_id = checked.as_ref().ok().cloned();
    Ok((valid_id, understood(checked, problem, object)))
}

/// A notification is understood when its id is valid, nothing in it was a problem, and it has
/// an sObject that was understood.
fn understood(
    id: Understood<String>,
    problem: Option<ParseError>,
    object: Option<Understood<NotifiedObject>>,
) -> Understood<Notification> {
    let id = id?;
    if let Some(problem) = problem {
        return Err(problem);
    }
    let object = object.ok_or(ParseError::Missing("Notification/sObject"))??;
    Ok(Notification::new(id, object))
}

fn sobject(
    xml: &mut XmlReader<'_>,
    xsi_type: Option<(Ns, String)>,
) -> Result<Understood<NotifiedObject>, ParseError> {
    let Some((type_ns, sobject_type)) = xsi_type.filter(|(_, t)| !t.is_empty()) else {
        xml.skip()?;
        return Ok(Err(ParseError::Missing("sObject/@xsi:type")));
    };
    if !is_api_name(&sobject_type) {
        xml.skip()?;
        return Ok(Err(ParseError::Invalid {
            element: "sObject/@xsi:type",
            value: truncate(&sobject_type),
            reason: "not an sObject API name",
        }));
    }
    // A CampaignMember typed in another namespace is a member the sync would miss without a
    // word if it were ignored as another object's notification: it is set aside, visibly.
    if sobject_type == "CampaignMember" && type_ns != Ns::SObject {
        xml.skip()?;
        return Ok(Err(ParseError::Invalid {
            element: "sObject/@xsi:type",
            value: sobject_type,
            reason: "a CampaignMember whose type prefix is not bound to \
                     urn:sobject.enterprise.soap.sforce.com",
        }));
    }
    if type_ns != Ns::SObject || sobject_type != "CampaignMember" {
        xml.skip()?;
        return Ok(Ok(NotifiedObject::Other { sobject_type }));
    }
    let mut fields = CampaignMemberFields::default();
    let mut id = None;
    let mut problem = None;
    // Whether the sObject held any element at all, read or not, and any field beside `Id`.
    let mut empty = true;
    let mut beside_id = false;
    while let Some(child) = next_child(xml)? {
        empty = false;
        if child.ns != Ns::SObject {
            xml.skip()?;
            continue;
        }
        beside_id |= child.local != "Id";
        let (name, slot): (&'static str, &mut Option<String>) = match child.local.as_str() {
            "Id" => ("sObject/Id", &mut id),
            "CampaignId" => ("CampaignId", &mut fields.campaign_id),
            "LeadId" => ("LeadId", &mut fields.lead_id),
            "ContactId" => ("ContactId", &mut fields.contact_id),
            "Email" => ("Email", &mut fields.email),
            "Status" => ("Status", &mut fields.status),
            "CreatedDate" => ("CreatedDate", &mut fields.created_date),
            "LastModifiedDate" => ("LastModifiedDate", &mut fields.last_modified_date),
            "SystemModstamp" => ("SystemModstamp", &mut fields.system_modstamp),
            "HasResponded" => {
                let Some(value) = note(&mut problem, field_text(xml, &child)?) else {
                    continue;
                };
                if fields.has_responded.is_some() {
                    problem.get_or_insert(ParseError::Duplicate("HasResponded"));
                }
                if let Some(value) = note(&mut problem, parse_boolean(&value, child.nil)) {
                    fields.has_responded = value;
                }
                continue;
            }
            _ => {
                xml.skip()?;
                continue;
            }
        };
        let Some(value) = note(&mut problem, field_text(xml, &child)?) else {
            continue;
        };
        if slot.is_some() {
            problem.get_or_insert(ParseError::Duplicate(name));
        }
        *slot = Some(value).filter(|v| !v.is_empty() && !child.nil);
    }
    if let Some(problem) = problem {
        return Ok(Err(problem));
    }
    // Deleted before delivery: "the notification contains no data". One with its `Id` alone
    // may be that too, or a message definition without `Status`: it is kept aside (NO_STATUS).
    if empty {
        return Ok(Ok(NotifiedObject::Vanished));
    }
    let Some(id) = id else {
        return Ok(Err(ParseError::Missing("sObject/Id")));
    };
    // Without its campaign a member's change cannot be placed; the `Id` alone is kept aside
    // with the notifications without `Status`.
    if beside_id && fields.campaign_id.is_none() {
        return Ok(Err(ParseError::MissingField("CampaignId")));
    }
    fields.id = id;
    Ok(fields::check(&fields).map(|()| NotifiedObject::CampaignMember(fields)))
}

/// A field's text; an element inside it (every field read is a simple value) refuses only its
/// notification, read past to the field's end, while malformed XML refuses the whole body.
fn field_text(xml: &mut XmlReader<'_>, field: &Element) -> Result<Understood<String>, ParseError> {
    match xml.text(field) {
        Err(unexpected @ ParseError::Unexpected { .. }) => {
            // The element just opened inside the field, then the rest of the field.
            xml.skip()?;
            xml.skip()?;
            Ok(Err(unexpected))
        }
        other => other.map(Ok),
    }
}

/// Keeps the first problem of a notification; the value when there was none.
fn note<T>(problem: &mut Option<ParseError>, result: Result<T, ParseError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            problem.get_or_insert(error);
            None
        }
    }
}

/// The next child element of the current element, or `None` at its end. Whitespace between
/// elements is ignored; other text is an error.
fn next_child(xml: &mut XmlReader<'_>) -> Result<Option<Element>, ParseError> {
    loop {
        match xml.next()? {
            Node::Open(element) => return Ok(Some(element)),
            Node::Close => return Ok(None),
            Node::Text(text) if text.trim().is_empty() => {}
            Node::Text(text) => {
                return Err(ParseError::StrayText(truncate(&text)));
            }
            Node::Eof => return Err(xml.ends_early()),
        }
    }
}

fn first_element(xml: &mut XmlReader<'_>, expected: &'static str) -> Result<Element, ParseError> {
    loop {
        match xml.next()? {
            Node::Open(element) => return Ok(element),
            Node::Text(text) if text.trim().is_empty() => {}
            Node::Eof => return Err(ParseError::Missing("Envelope")),
            Node::Text(_) | Node::Close => return Err(not_outbound(expected, "text")),
        }
    }
}

fn set_once(
    slot: &mut Option<String>,
    name: &'static str,
    value: String,
) -> Result<(), ParseError> {
    if slot.replace(value).is_some() {
        return Err(ParseError::Duplicate(name));
    }
    Ok(())
}

fn not_outbound(expected: &'static str, found: &str) -> ParseError {
    ParseError::NotOutboundMessage {
        expected,
        found: truncate(found),
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "parse_bad_tests.rs"]
mod bad_tests;

#[cfg(test)]
#[path = "parse_props.rs"]
mod props;
