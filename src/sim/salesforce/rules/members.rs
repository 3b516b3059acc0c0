//! CampaignMember and CampaignMemberStatus rules: one membership per person and campaign, no
//! converted leads, Status one of the campaign's labels, HasResponded derived from it.

use serde_json::{Map, Value, json};

use super::{converted_lead, is_set, reference};
use crate::sim::salesforce::error::SfError;
use crate::sim::salesforce::org::Org;
use crate::sim::salesforce::schema::Kind;

pub(super) fn check_status_row(org: &Org, fields: &mut Map<String, Value>) -> Result<(), SfError> {
    let campaign = reference(org, fields, "CampaignId", Kind::Campaign)?;
    let label = fields.get("Label").cloned();
    if org
        .statuses_of(&campaign)
        .iter()
        .any(|s| s.fields.get("Label") == label.as_ref())
    {
        return Err(
            SfError::bad_request("DUPLICATE_VALUE", "duplicate value found: Label")
                .with_fields(&["Label"]),
        );
    }
    for (flag, default) in [("IsDefault", json!(false)), ("HasResponded", json!(false))] {
        fields.entry(flag).or_insert(default);
    }
    Ok(())
}

pub(super) fn check_new_member(org: &Org, fields: &mut Map<String, Value>) -> Result<(), SfError> {
    let campaign = reference(org, fields, "CampaignId", Kind::Campaign)?;
    let person_field = if is_set(fields, "ContactId") {
        "ContactId"
    } else {
        "LeadId"
    };
    let expected = if person_field == "ContactId" {
        Kind::Contact
    } else {
        Kind::Lead
    };
    let person = reference(org, fields, person_field, expected)?;
    if org
        .get(&person)
        .is_ok_and(|p| p.fields.get("IsConverted") == Some(&json!(true)))
    {
        return Err(converted_lead());
    }
    if org.member_id(&campaign, &person).is_some() {
        return Err(SfError::bad_request(
            "DUPLICATE_VALUE",
            "Already a campaign member.",
        ));
    }
    apply_status(org, &campaign, fields)
}

/// Checks Status against the campaign's labels (the default label when absent) and derives
/// HasResponded and FirstRespondedDate from it. The notes leave Salesforce's exact answer to an
/// unknown label open; the simulator answers like a restricted picklist.
pub(super) fn apply_status(
    org: &Org,
    campaign: &str,
    fields: &mut Map<String, Value>,
) -> Result<(), SfError> {
    let statuses = org.statuses_of(campaign);
    let chosen = match fields.get("Status").and_then(Value::as_str) {
        Some(label) => statuses
            .iter()
            .find(|s| s.text("Label") == Some(label))
            .ok_or_else(|| {
                SfError::bad_request(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!("Status: bad value for restricted picklist field: {label}"),
                )
                .with_fields(&["Status"])
            })?,
        None => match statuses
            .iter()
            .find(|s| s.fields.get("IsDefault") == Some(&json!(true)))
        {
            Some(default) => default,
            None => return Err(SfError::required_missing(&["Status"])),
        },
    };
    let responded = chosen
        .fields
        .get("HasResponded")
        .cloned()
        .unwrap_or(json!(false));
    let label = chosen.fields.get("Label").cloned().unwrap_or(Value::Null);
    fields.insert("Status".to_owned(), label);
    if responded == json!(true) && !is_set(fields, "FirstRespondedDate") {
        let today = crate::sim::salesforce::clock::format_z(org.clock.now());
        fields.insert("FirstRespondedDate".to_owned(), json!(today.get(..10)));
    }
    fields.insert("HasResponded".to_owned(), responded);
    Ok(())
}
