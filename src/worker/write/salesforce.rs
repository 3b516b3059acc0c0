//! Writes to Salesforce through sObject Collections (≤200 records a call): member status
//! updates, new members (after finding or creating the Lead/Contact), removals, and resets of
//! members Marketo would not move back.

use serde_json::{Value, json};
use tracing::Instrument;

use crate::connectors::CallError;
use crate::connectors::salesforce::classify::{classify_record, missing_reference};
use crate::connectors::salesforce::{RecordOutcome, RecordResult};
use crate::sync::batch::{SALESFORCE_RECORDS_PER_CALL, group_into_calls};
use crate::sync::{Decision, Done};

use super::super::context::{Context, api_span};
use super::super::work::{Work, WorkError};
use super::{missing, people};
use crate::mappings::Mapping;

/// One kind of collection call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    Delete,
    Update,
    Create,
}

pub async fn write(ctx: &Context, mapping: &Mapping, works: &mut [Work]) {
    for work in works.iter_mut() {
        // A round that saw the member deleted adds it anew rather than writing the old id.
        let seen_deleted = work.person.sf.as_ref().is_some_and(|o| o.status.is_none());
        if work.person.sf_member_id.is_none() && !seen_deleted {
            work.person.sf_member_id = work.mirror.as_ref().and_then(|m| m.sf_member_id.clone());
        }
    }
    let mut targets: Vec<&mut Work> = works
        .iter_mut()
        .filter(|w| {
            w.is_open()
                && matches!(
                    w.decision,
                    Decision::SetSalesforce(_) | Decision::RemoveFromSalesforce
                )
        })
        .collect();
    let campaign = mapping.config.campaign_id.as_str();
    if targets.iter().any(|w| w.person.sf_member_id.is_none()) {
        let mut unknown: Vec<&mut Work> = targets
            .iter_mut()
            .filter(|w| w.person.sf_member_id.is_none())
            .map(|w| &mut **w)
            .collect();
        people::ensure_salesforce(ctx, &mut unknown).await;
        find_members(ctx, campaign, &mut unknown).await;
    }
    members(ctx, campaign, targets).await;
    // Where the deletion may win (by its time, or always under salesforce_wins), the change
    // waits for its report; under marketo_wins its retry adds the member anew at once.
    if mapping.config.conflict_policy != crate::config::ConflictPolicy::MarketoWins {
        works.iter_mut().for_each(wait_for_the_deletion_report);
    }
}

/// Why an update found its member gone.
const DELETED_MEANWHILE: &str = "the member was deleted meanwhile";

/// Salesforce lists deleted records by the whole minute: a change that met its member deleted
/// is tried again once Salesforce can say when (last-writer-wins weighs that time against the
/// change; under salesforce_wins the deletion overrules it), not at once, which a short retry
/// schedule would spend before the report, ending the change dead rather than overruled.
const DELETION_REPORTED_WITHIN: std::time::Duration = std::time::Duration::from_secs(65);

fn wait_for_the_deletion_report(work: &mut Work) {
    if let Some(Err(WorkError::Call(CallError::Retry { reason, after }))) = &mut work.outcome
        && reason == DELETED_MEANWHILE
    {
        *after = Some(DELETION_REPORTED_WITHIN);
    }
}

/// Sends the open works' member writes to one campaign, grouped into collection calls: a
/// removal deletes a known member, a status updates a known member or creates a new one.
pub async fn members(ctx: &Context, campaign: &str, targets: Vec<&mut Work>) {
    let planned = targets.into_iter().filter(|w| w.is_open()).filter_map(|w| {
        let call = match (&w.decision, w.person.sf_member_id.is_some()) {
            (Decision::RemoveFromSalesforce, false) => {
                w.outcome = Some(Ok(Done::Skipped("not a member of the campaign".into())));
                return None;
            }
            (Decision::RemoveFromSalesforce, true) => Call::Delete,
            (_, true) => Call::Update,
            (_, false) => Call::Create,
        };
        Some((call, w))
    });
    // One call after another: Salesforce locks the campaign's row while it writes or deletes
    // its members, so calls to one campaign sent at once would only queue for the row, and one
    // kept waiting too long fails its records with `UNABLE_TO_LOCK_ROW`.
    for (call, group) in group_into_calls(planned, SALESFORCE_RECORDS_PER_CALL) {
        send(ctx, campaign, call, group).await;
    }
}

/// Existing memberships of people whose member id this round does not know.
async fn find_members(ctx: &Context, campaign: &str, works: &mut [&mut Work]) {
    let people: Vec<String> = works
        .iter()
        .filter(|w| w.is_open())
        .filter_map(|w| w.salesforce_person().map(str::to_string))
        .collect();
    if people.is_empty() {
        return;
    }
    let found = ctx
        .salesforce
        .members_for(campaign, &people)
        .instrument(api_span("salesforce", "members_for", people.len()))
        .await;
    match found {
        Ok(members) => {
            for work in works.iter_mut() {
                let person = work.salesforce_person().map(str::to_string);
                if let Some(member) = members
                    .iter()
                    .find(|m| m.person_id().map(str::to_string) == person)
                {
                    work.person.sf_member_id = Some(member.id.clone());
                    // What the campaign shows before this write, when the round had not seen
                    // it (a first sync): the write is then a status change, from this status.
                    if work.person.sf.is_none() {
                        work.person.sf = Some(crate::sync::Observed {
                            status: member.status.clone(),
                            at: member
                                .system_modstamp
                                .as_deref()
                                .and_then(crate::sync::time::parse_millis),
                        });
                    }
                }
            }
        }
        Err(error) => works.iter_mut().for_each(|w| w.fail(error.clone())),
    }
}

async fn send(ctx: &Context, campaign: &str, call: Call, mut group: Vec<&mut Work>) {
    let client = &ctx.salesforce;
    let size = group.len();
    let sent_at = crate::store::now_millis();
    let results = match call {
        Call::Delete => {
            let ids: Vec<String> = group
                .iter()
                .filter_map(|w| w.person.sf_member_id.clone())
                .collect();
            client
                .delete(&ids)
                .instrument(api_span("salesforce", "delete_members", size))
                .await
        }
        Call::Update => {
            let records = group
                .iter()
                .map(|w| json!({ "Id": w.person.sf_member_id, "Status": target(w) }))
                .collect();
            client
                .update("CampaignMember", records)
                .instrument(api_span("salesforce", "update_members", size))
                .await
        }
        Call::Create => {
            let records = group.iter().map(|w| new_member(campaign, w)).collect();
            client
                .create("CampaignMember", records)
                .instrument(api_span("salesforce", "create_members", size))
                .await
        }
    };
    let results: Vec<RecordResult> = match results {
        Ok(results) => results,
        Err(error) => return group.iter_mut().for_each(|w| w.fail(error.clone())),
    };
    // The org's time when the call was sent, read off this answer: before any of its writes.
    let written_at = client.server_time_at(sent_at);
    let mut unnamed = Vec::new();
    for (work, result) in group.iter_mut().zip(results) {
        if call == Call::Create && missing::person_is_gone(&result) {
            missing::forget_person(ctx, work, missing::is_converted(&result)).await;
            continue;
        }
        if call == Call::Create && missing::names_no_field(&result) {
            unnamed.push((work, result));
            continue;
        }
        settle(work, call, &result);
        if work.outcome == Some(Ok(Done::Applied)) {
            work.sf_written_at = written_at;
        }
    }
    if unnamed.is_empty() {
        return;
    }
    // Salesforce did not say which record is missing: the campaign's absence is asked once.
    match missing::campaign_exists(ctx, campaign).await {
        Some(false) => {
            for (work, result) in unnamed {
                work.fail(CallError::Permanent(missing::no_campaign(
                    campaign,
                    Some(&result),
                )));
            }
        }
        Some(true) => {
            for (work, _) in unnamed {
                missing::forget_person(ctx, work, false).await;
            }
        }
        None => unnamed
            .into_iter()
            .for_each(|(work, result)| settle(work, call, &result)),
    }
}

fn settle(work: &mut Work, call: Call, result: &RecordResult) {
    match (call, classify_record(result)) {
        (Call::Delete, RecordOutcome::AlreadyGone) => {
            work.outcome = Some(Ok(Done::Skipped("the member was already deleted".into())));
        }
        (Call::Update, RecordOutcome::AlreadyGone) => {
            work.fail(CallError::retry(DELETED_MEANWHILE));
        }
        (Call::Create, RecordOutcome::Done(id)) => {
            work.person.sf_member_id = id;
            work.outcome = Some(Ok(Done::Applied));
        }
        (Call::Create, RecordOutcome::AlreadyExists) => {
            work.fail(CallError::retry(
                "already a campaign member; will update it",
            ));
        }
        (Call::Create, RecordOutcome::AlreadyGone) => {
            work.fail(CallError::Permanent(missing_reference(result)))
        }
        (_, RecordOutcome::Failed(error)) => work.fail(error),
        (Call::Delete | Call::Update, RecordOutcome::Done(_) | RecordOutcome::AlreadyExists) => {
            work.outcome = Some(Ok(Done::Applied));
        }
    }
    // An update that may succeed later looks the member up again: it may have been deleted.
    if call == Call::Update && matches!(&work.outcome, Some(Err(e)) if e.is_retryable()) {
        work.person.sf_member_id = None;
    }
}

fn new_member(campaign: &str, work: &Work) -> Value {
    let person = work.salesforce_person().unwrap_or_default();
    let field = if person.starts_with("003") {
        "ContactId"
    } else {
        "LeadId"
    };
    json!({ "CampaignId": campaign, field: person, "Status": target(work) })
}

fn target(work: &Work) -> Option<&str> {
    match &work.decision {
        Decision::SetSalesforce(label) => Some(label),
        _ => None,
    }
}

/// Sets members back to the status Marketo kept, where the plan's Marketo phase asked to. A
/// reset that fails fails its work item, so the change is retried (then dead with the reason)
/// rather than left diverged with nobody setting Salesforce back.
pub async fn reset(ctx: &Context, works: &mut [Work]) {
    let mut resets: Vec<&mut Work> = works
        .iter_mut()
        .filter(|w| w.reset.is_some() && matches!(w.outcome, Some(Ok(_))))
        .collect();
    for work in resets
        .iter_mut()
        .filter(|w| w.person.sf_member_id.is_none())
    {
        work.fail(CallError::Permanent(
            "cannot set Salesforce back to Marketo's status: the campaign member's id is unknown"
                .into(),
        ));
    }
    resets.retain(|w| w.person.sf_member_id.is_some());
    if resets.is_empty() {
        return;
    }
    let records = resets
        .iter()
        .map(|w| json!({ "Id": w.person.sf_member_id, "Status": w.reset.as_ref().map(|r| &r.to) }))
        .collect();
    let sent_at = crate::store::now_millis();
    let written = ctx
        .salesforce
        .update("CampaignMember", records)
        .instrument(api_span("salesforce", "reset_members", resets.len()))
        .await;
    let written_at = ctx.salesforce.server_time_at(sent_at);
    let results = match written {
        Ok(results) => results,
        Err(error) => {
            let error = error.context("setting Salesforce back to Marketo's status");
            resets.iter_mut().for_each(|w| w.fail(error.clone()));
            return;
        }
    };
    for (work, result) in resets.iter_mut().zip(results) {
        match classify_record(&result) {
            RecordOutcome::Done(_) => {
                if let Some(reset) = work.reset.as_mut() {
                    reset.applied = true;
                }
                work.sf_written_at = written_at;
                settled_by_reset(work);
            }
            RecordOutcome::Failed(error) => {
                work.fail(error.context("setting Salesforce back to Marketo's status"));
            }
            other => work.fail(CallError::Permanent(format!(
                "setting Salesforce back to Marketo's status: unexpected answer {other:?}"
            ))),
        }
    }
}

/// A move back Marketo refused is diverged only until Salesforce is set back: once it is, both
/// sides hold Marketo's status and the outcome says how they came to.
fn settled_by_reset(work: &mut Work) {
    let (Some(Ok(Done::Diverged(reason))), Some(reset)) = (&work.outcome, &work.reset) else {
        return;
    };
    let reason = format!(
        "{reason}; the campaign member is set back to {} {}",
        reset.to,
        crate::sync::outcome::SET_BACK
    );
    work.outcome = Some(Ok(Done::Skipped(reason)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(code: &str, fields: &[&str]) -> RecordResult {
        serde_json::from_value(serde_json::json!({
            "id": null,
            "success": false,
            "errors": [{"statusCode": code, "message": "m", "fields": fields}],
        }))
        .unwrap()
    }

    #[test]
    fn only_a_gone_person_is_found_again() {
        let cases = [
            ("CANNOT_UPDATE_CONVERTED_LEAD", &[][..], true),
            ("ENTITY_IS_DELETED", &["LeadId"][..], true),
            ("INVALID_CROSS_REFERENCE_KEY", &["ContactId"][..], true),
            ("ENTITY_IS_DELETED", &["CampaignId"][..], false),
            ("INVALID_CROSS_REFERENCE_KEY", &[][..], false),
            ("UNABLE_TO_LOCK_ROW", &["LeadId"][..], false),
        ];
        for (code, fields, gone) in cases {
            assert_eq!(
                super::missing::person_is_gone(&failed(code, fields)),
                gone,
                "{code} {fields:?}"
            );
        }
    }
}
