//! Validation and derived fields, per sObject type: which fields a client may send and the JSON
//! type of each value, required fields, value lengths and e-mail addresses, reference checks,
//! and the CampaignMember rules (one membership per person, keys immutable, Status one of the
//! campaign's labels, HasResponded derived from it).

mod members;
mod types;
mod values;

use members::{check_new_member, check_status_row};
use serde_json::{Map, Value, json};
use values::check_values;

use super::error::SfError;
use super::ids;
use super::org::{Org, Record};
use super::schema::Kind;

/// The input with canonical field names; `attributes` and, on update, `Id` are ignored.
pub fn accept(
    kind: Kind,
    input: &Map<String, Value>,
    creating: bool,
) -> Result<Map<String, Value>, SfError> {
    let mut accepted = Map::new();
    let mut not_writable = Vec::new();
    for (name, value) in input {
        if name == "attributes" {
            continue;
        }
        if name.eq_ignore_ascii_case("Id") {
            if creating {
                return Err(SfError::bad_request(
                    "INVALID_FIELD",
                    "cannot specify Id in an insert call",
                )
                .with_fields(&["Id"]));
            }
            continue;
        }
        let field = kind
            .field(name)
            .ok_or_else(|| SfError::invalid_field(name, kind.name()))?;
        let writable = if creating {
            kind.creatable().contains(&field)
        } else {
            kind.updatable().any(|f| f == field)
        };
        if !writable {
            not_writable.push(field);
        }
        accepted.insert(field.to_owned(), value.clone());
    }
    if !not_writable.is_empty() {
        return Err(SfError::not_writable(&not_writable));
    }
    types::check_types(kind, &mut accepted)?;
    Ok(accepted)
}

/// The default of a new org's Lead Status picklist.
pub const DEFAULT_LEAD_STATUS: &str = "Open - Not Contacted";

pub fn check_create(org: &Org, kind: Kind, fields: &mut Map<String, Value>) -> Result<(), SfError> {
    if kind == Kind::CampaignMember && is_set(fields, "LeadId") && is_set(fields, "ContactId") {
        // Salesforce accepts both and keeps only the ContactId.
        fields.remove("LeadId");
    }
    check_required(kind, fields)?;
    check_values(org, kind, fields)?;
    match kind {
        Kind::Lead => {
            fields.insert("IsConverted".to_owned(), json!(false));
            // Status is required on a Lead; a create that leaves it out gets the picklist's
            // default, as in a new org.
            if !is_set(fields, "Status") {
                fields.insert("Status".to_owned(), json!(DEFAULT_LEAD_STATUS));
            }
            Ok(())
        }
        Kind::CampaignMemberStatus => check_status_row(org, fields),
        Kind::CampaignMember => check_new_member(org, fields),
        Kind::Contact | Kind::Campaign => Ok(()),
    }
}

pub fn check_update(
    org: &Org,
    existing: &Record,
    fields: &mut Map<String, Value>,
) -> Result<(), SfError> {
    check_required(existing.kind, fields)?;
    match existing.kind {
        Kind::Lead if existing.fields.get("IsConverted") == Some(&json!(true)) => {
            Err(converted_lead())
        }
        kind @ (Kind::Lead | Kind::Contact | Kind::Campaign) => check_values(org, kind, fields),
        Kind::CampaignMember => {
            let campaign = fields
                .get("CampaignId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            members::apply_status(org, &campaign, fields)
        }
        _ => Ok(()),
    }
}

pub fn check_delete(org: &Org, record: &Record) -> Result<(), SfError> {
    if record.kind != Kind::CampaignMemberStatus {
        return Ok(());
    }
    let label = record.fields.get("Label");
    let campaign = record.text("CampaignId");
    let in_use = org
        .records_of(Kind::CampaignMember)
        .any(|r| r.text("CampaignId") == campaign && r.fields.get("Status") == label);
    if record.fields.get("IsDefault") == Some(&json!(true)) || in_use {
        return Err(SfError::bad_request(
            "DELETE_FAILED",
            "You can't delete a campaign member status that is the default or in use.",
        ));
    }
    Ok(())
}

fn check_required(kind: Kind, fields: &Map<String, Value>) -> Result<(), SfError> {
    let missing: Vec<&str> = kind
        .required()
        .iter()
        .copied()
        .filter(|f| !is_set(fields, f))
        .collect();
    if kind == Kind::CampaignMember && !is_set(fields, "LeadId") && !is_set(fields, "ContactId") {
        return Err(SfError::required_missing(
            &[missing.as_slice(), &["LeadId", "ContactId"]].concat(),
        ));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(SfError::required_missing(&missing))
    }
}

/// Normalises a reference field to the 18-character id of a live record of `expected` type.
fn reference(
    org: &Org,
    fields: &mut Map<String, Value>,
    field: &str,
    expected: Kind,
) -> Result<String, SfError> {
    let raw = fields
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let id = ids::normalize(&raw)
        .filter(|id| Kind::of_id(id) == Some(expected))
        .ok_or_else(|| {
            SfError::bad_request(
                "MALFORMED_ID",
                format!("{} ID: id value of incorrect type: {raw}", expected.name()),
            )
            .with_fields(&[field])
        })?;
    match org.get(&id) {
        Ok(_) => {}
        // A record deleted (or merged away) is named as such, with the field that points at it.
        Err(error) if error.code == "ENTITY_IS_DELETED" => {
            return Err(
                SfError::bad_request("ENTITY_IS_DELETED", "entity is deleted")
                    .with_fields(&[field]),
            );
        }
        Err(_) => {
            return Err(SfError::bad_request(
                "INVALID_CROSS_REFERENCE_KEY",
                "invalid cross reference id",
            ));
        }
    }
    fields.insert(field.to_owned(), json!(id));
    Ok(id)
}

fn converted_lead() -> SfError {
    SfError::bad_request(
        "CANNOT_UPDATE_CONVERTED_LEAD",
        "cannot reference converted lead",
    )
}

fn is_set(fields: &Map<String, Value>, field: &str) -> bool {
    match fields.get(field) {
        None | Some(Value::Null) => false,
        Some(Value::String(text)) => !text.trim().is_empty(),
        Some(_) => true,
    }
}
