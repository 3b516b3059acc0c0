//! What a message's values may hold: ids that are Salesforce ids, sObject type names, booleans,
//! and a CampaignMember's text no longer than the field it came from, so nothing the worker
//! cannot use is ever stored as a signal.

use super::message::{CampaignMemberFields, ParseError};
use crate::ids::SalesforceId;

/// `CampaignMember.Email` mirrors an Email field: 80 characters.
pub const EMAIL_MAX: usize = 80;
/// `CampaignMember.Status` is a picklist of length 40.
pub const STATUS_MAX: usize = 40;
/// Date-times are `2026-11-02T09:15:01.000Z` (24 characters); the bound leaves room for offsets.
pub const DATE_MAX: usize = 40;

/// The first problem of a parsed CampaignMember, if any.
pub fn check(fields: &CampaignMemberFields) -> Result<(), ParseError> {
    check_id("sObject/Id", &fields.id)?;
    let ids = [
        ("CampaignId", &fields.campaign_id),
        ("LeadId", &fields.lead_id),
        ("ContactId", &fields.contact_id),
    ];
    for (element, value) in ids {
        if let Some(value) = value {
            check_id(element, value)?;
        }
    }
    let texts = [
        ("Email", &fields.email, EMAIL_MAX),
        ("Status", &fields.status, STATUS_MAX),
        ("CreatedDate", &fields.created_date, DATE_MAX),
        ("LastModifiedDate", &fields.last_modified_date, DATE_MAX),
        ("SystemModstamp", &fields.system_modstamp, DATE_MAX),
    ];
    for (element, value, max) in texts {
        let length = value.as_deref().map_or(0, |v| v.chars().count());
        if length > max {
            return Err(ParseError::TooLong {
                element,
                length,
                max,
            });
        }
    }
    // The worker orders a member's changes by these; one it cannot read would pass for new.
    let times = [
        ("CreatedDate", &fields.created_date),
        ("LastModifiedDate", &fields.last_modified_date),
        ("SystemModstamp", &fields.system_modstamp),
    ];
    for (element, value) in times {
        if let Some(value) = value
            && crate::sync::time::parse_millis(value).is_none()
        {
            return Err(ParseError::Invalid {
                element,
                value: value.clone(),
                reason: "not a date-time such as 2026-11-02T09:15:01.000Z",
            });
        }
    }
    Ok(())
}

/// Salesforce ids are 15 (case-sensitive) or 18 (case-safe) letters and digits, the last three
/// matching the first fifteen; anything else cannot be a deduplication key or an organization id.
pub(super) fn check_id(element: &'static str, value: &str) -> Result<(), ParseError> {
    SalesforceId::parse(value)
        .map(|_| ())
        .map_err(|reason| ParseError::BadId {
            element,
            value: truncate(value),
            reason,
        })
}

/// The outbound message's `ActionId` is not used: an 18-character suffix that does not match
/// its first 15 (as in a hand-edited or anonymised message) is let pass; the shape is checked.
pub(super) fn check_id_shape(element: &'static str, value: &str) -> Result<(), ParseError> {
    match check_id(element, value) {
        Err(ParseError::BadId {
            reason: crate::ids::IdError::Suffix,
            ..
        }) => Ok(()),
        other => other,
    }
}

/// sObject API names are letters, digits and underscores (custom ones end in `__c`, managed
/// ones carry a namespace prefix), well under 120 characters.
pub(super) fn is_api_name(name: &str) -> bool {
    name.len() <= 120
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `xsd:boolean`: `true`, `false`, `1`, `0`, surrounded by optional whitespace.
pub(super) fn parse_boolean(value: &str, nil: bool) -> Result<Option<bool>, ParseError> {
    match value.trim() {
        _ if nil => Ok(None),
        "" => Ok(None),
        "true" | "1" => Ok(Some(true)),
        "false" | "0" => Ok(Some(false)),
        _ => Err(ParseError::Invalid {
            element: "HasResponded",
            value: truncate(value),
            reason: "not an xsd:boolean",
        }),
    }
}

/// Error messages echo at most a short prefix of hostile input.
pub(super) fn truncate(value: &str) -> String {
    value.chars().take(64).collect()
}
