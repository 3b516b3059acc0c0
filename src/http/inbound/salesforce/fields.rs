//! What a CampaignMember's fields may hold: ids that are Salesforce ids and text no longer than
//! the field it came from, so nothing the worker cannot use is ever stored as a signal.

use super::message::{CampaignMemberFields, ParseError};
use super::parse::check_id;

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
