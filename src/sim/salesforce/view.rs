//! How a record reads: every readable field (null when unset), plus the fields Salesforce
//! derives at read time — a member's Email and names come from its Lead or Contact, a
//! campaign's counts from its members.

use serde_json::{Map, Value, json};

use super::org::{Org, Record};
use super::schema::Kind;

/// All readable fields of `record`, in schema order.
pub fn fields(org: &Org, record: &Record) -> Map<String, Value> {
    let derived = derived(org, record);
    record
        .kind
        .readable()
        .map(|field| {
            let value = derived
                .get(field)
                .or_else(|| record.fields.get(field))
                .cloned()
                .unwrap_or(Value::Null);
            (field.to_owned(), value)
        })
        .collect()
}

/// The REST shape: `attributes` first, then the fields, datetimes as REST writes them.
pub fn rest(org: &Org, record: &Record, version: &str) -> Map<String, Value> {
    let mut shaped = Map::new();
    shaped.insert("attributes".to_owned(), attributes(record, version));
    shaped.extend(fields(org, record));
    rest_datetimes(&mut shaped);
    shaped
}

/// REST and SOQL answers write a datetime with a numeric offset,
/// `2026-11-28T20:22:01.000+0000`; outbound messages (SOAP) write the same instant with `Z`,
/// as the records keep it.
pub fn rest_datetimes(fields: &mut Map<String, Value>) {
    for name in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
        if let Some(Value::String(text)) = fields.get_mut(name)
            && let Some(base) = text.strip_suffix('Z')
        {
            *text = format!("{base}+0000");
        }
    }
}

pub fn attributes(record: &Record, version: &str) -> Value {
    let kind = record.kind.name();
    let id = record.text("Id").unwrap_or_default();
    json!({"type": kind, "url": format!("/services/data/{version}/sobjects/{kind}/{id}")})
}

fn derived(org: &Org, record: &Record) -> Map<String, Value> {
    let mut out = Map::new();
    let name = |r: &Record| {
        let parts: Vec<&str> = [r.text("FirstName"), r.text("LastName")]
            .into_iter()
            .flatten()
            .collect();
        json!(parts.join(" "))
    };
    match record.kind {
        Kind::Lead | Kind::Contact => {
            out.insert("Name".to_owned(), name(record));
        }
        Kind::CampaignMember => {
            let person_id = record.text("ContactId").or_else(|| record.text("LeadId"));
            if let Some(person) = person_id.and_then(|id| org.get(id).ok()) {
                for field in ["Email", "FirstName", "LastName"] {
                    out.insert(
                        field.to_owned(),
                        person.fields.get(field).cloned().unwrap_or(Value::Null),
                    );
                }
                out.insert("Name".to_owned(), name(person));
                out.insert(
                    "CompanyOrAccount".to_owned(),
                    person.fields.get("Company").cloned().unwrap_or(Value::Null),
                );
                out.insert("LeadOrContactId".to_owned(), json!(person_id));
            }
        }
        Kind::Campaign => {
            let id = record.text("Id");
            let members: Vec<&Record> = org
                .records_of(Kind::CampaignMember)
                .filter(|r| r.text("CampaignId") == id)
                .collect();
            let count =
                |pred: &dyn Fn(&Record) -> bool| json!(members.iter().filter(|m| pred(m)).count());
            out.insert(
                "NumberOfLeads".to_owned(),
                count(&|m| m.text("LeadId").is_some() && m.text("ContactId").is_none()),
            );
            out.insert(
                "NumberOfContacts".to_owned(),
                count(&|m| m.text("ContactId").is_some()),
            );
            out.insert(
                "NumberOfResponses".to_owned(),
                count(&|m| m.fields.get("HasResponded") == Some(&json!(true))),
            );
        }
        Kind::CampaignMemberStatus => {}
    }
    out
}
