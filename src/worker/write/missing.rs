//! A new campaign member Salesforce refused for a missing record: a Lead or Contact gone
//! (converted, merged, deleted) is found again; when Salesforce did not name the record
//! (`INVALID_CROSS_REFERENCE_KEY` with no field), one query tells a missing campaign, reported
//! as such, from a missing person.

use tracing::Instrument;

use crate::connectors::CallError;
use crate::connectors::salesforce::RecordResult;

use super::super::context::{Context, api_span};
use super::super::work::Work;

/// Salesforce says the Lead or Contact a new member names is gone: converted to a Contact,
/// merged into another record, or deleted. Only then is the person found again.
pub fn person_is_gone(result: &RecordResult) -> bool {
    result.errors.iter().any(|e| {
        e.status_code == "CANNOT_UPDATE_CONVERTED_LEAD"
            || (matches!(
                e.status_code.as_str(),
                "ENTITY_IS_DELETED" | "INVALID_CROSS_REFERENCE_KEY"
            ) && e
                .fields
                .iter()
                .any(|f| f.eq_ignore_ascii_case("LeadId") || f.eq_ignore_ascii_case("ContactId")))
    })
}

pub fn is_converted(result: &RecordResult) -> bool {
    result
        .errors
        .iter()
        .any(|e| e.status_code == "CANNOT_UPDATE_CONVERTED_LEAD")
}

/// Drops the stale Lead/Contact id from the identity and retries: the next round finds the
/// person again (Contact first, a converted Lead followed to its Contact). A record deleted or
/// merged away is kept as gone, so Marketo's link naming it is not followed again.
pub async fn forget_person(ctx: &Context, work: &mut Work, converted: bool) {
    let Some(stale) = work.salesforce_person().map(str::to_string) else {
        return;
    };
    let identity = &mut work.person.identity;
    if identity.sf_contact_id.as_deref() == Some(stale.as_str()) {
        identity.sf_contact_id = None;
    } else {
        identity.sf_lead_id = None;
    }
    let now = crate::store::now_millis();
    let forgotten = match ctx
        .store
        .forget_salesforce_person(identity.id, &stale, now)
        .await
    {
        Ok(()) if !converted => ctx.store.salesforce_person_gone(&stale, now).await,
        other => other,
    };
    if let Err(error) = forgotten {
        return work.fail(error);
    }
    work.fail(CallError::retry(format!(
        "the Lead or Contact {stale} was converted, merged or deleted; finding the person again"
    )));
}

/// Whether the record failed for a missing referenced record Salesforce did not name.
pub fn names_no_field(result: &RecordResult) -> bool {
    result
        .errors
        .iter()
        .any(|e| e.status_code == "INVALID_CROSS_REFERENCE_KEY" && e.fields.is_empty())
}

/// Whether Salesforce has the campaign; `None` when asking failed.
pub async fn campaign_exists(ctx: &Context, campaign: &str) -> Option<bool> {
    let found = ctx
        .salesforce
        .campaigns(&[campaign.to_string()])
        .instrument(api_span("salesforce", "campaign_exists", 1))
        .await;
    match found {
        Ok(found) => Some(!found.is_empty()),
        Err(error) => {
            tracing::warn!(%error, campaign, "could not ask whether the campaign exists");
            None
        }
    }
}

/// The reason of a member whose campaign Salesforce does not have (with Salesforce's refusal
/// when a write met it).
pub fn no_campaign(campaign: &str, result: Option<&RecordResult>) -> String {
    let code = result
        .and_then(|r| r.errors.first())
        .map_or_else(String::new, |e| {
            format!(": {}: {}", e.status_code, e.message)
        });
    format!("the campaign {campaign} does not exist in Salesforce (deleted, or a wrong id){code}")
}
