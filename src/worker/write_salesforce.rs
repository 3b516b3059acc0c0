//! Writes to Salesforce through sObject Collections (≤200 records a call): member status
//! updates, new members (after resolving the Lead/Contact), removals, and resets of members
//! Marketo would not move back.

use serde_json::json;

use crate::connectors::CallError;
use crate::connectors::salesforce::RecordOutcome;
use crate::connectors::salesforce::classify::classify_record;
use crate::sync::Decision;

use super::Worker;
use super::identity::{self, salesforce_id};
use super::mappings::Mapping;
use super::round::{Done, PersonWork};

pub async fn apply(worker: &Worker, mapping: &Mapping, works: &mut [PersonWork]) {
    let campaign = mapping.config.campaign_id.as_str();
    for work in works.iter_mut() {
        if work.sf_member_id.is_none() {
            work.sf_member_id = work.mirror.as_ref().and_then(|m| m.sf_member_id.clone());
        }
    }
    let mut targets: Vec<&mut PersonWork> = works
        .iter_mut()
        .filter(|w| {
            w.is_open()
                && matches!(
                    w.decision,
                    Decision::SetSalesforce(_) | Decision::RemoveFromSalesforce
                )
        })
        .collect();
    if targets.iter().any(|w| w.sf_member_id.is_none()) {
        let mut unknown: Vec<&mut PersonWork> = targets
            .iter_mut()
            .filter(|w| w.sf_member_id.is_none())
            .map(|w| &mut **w)
            .collect();
        if let Err(error) = identity::ensure_salesforce(worker, &mut unknown).await {
            let error = CallError::retry(format!("store: {error}"));
            unknown.iter_mut().for_each(|w| w.fail(&error));
        }
        find_members(worker, campaign, &mut unknown).await;
    }
    let (mut removing, mut setting): (Vec<&mut PersonWork>, Vec<&mut PersonWork>) = targets
        .into_iter()
        .filter(|w| w.is_open())
        .partition(|w| w.decision == Decision::RemoveFromSalesforce);
    remove(worker, &mut removing).await;
    set(worker, campaign, &mut setting).await;
    let mut resets: Vec<&mut PersonWork> = works
        .iter_mut()
        .filter(|w| w.reset_to.is_some() && w.sf_member_id.is_some())
        .collect();
    reset(worker, &mut resets).await;
}

/// Existing memberships of people whose member id this round does not know.
async fn find_members(worker: &Worker, campaign: &str, works: &mut [&mut PersonWork]) {
    let people: Vec<String> = works
        .iter()
        .filter(|w| w.is_open())
        .filter_map(|w| salesforce_id(&w.identity).map(str::to_string))
        .collect();
    if people.is_empty() {
        return;
    }
    match worker.salesforce().members_for(campaign, &people).await {
        Ok(members) => {
            for work in works.iter_mut() {
                let person = salesforce_id(&work.identity).map(str::to_string);
                if let Some(member) = members
                    .iter()
                    .find(|m| m.person_id().map(str::to_string) == person)
                {
                    work.sf_member_id = Some(member.id.clone());
                }
            }
        }
        Err(error) => works.iter_mut().for_each(|w| w.fail(&error)),
    }
}

async fn remove(worker: &Worker, works: &mut [&mut PersonWork]) {
    let (known, unknown): (Vec<_>, Vec<_>) =
        works.iter_mut().partition(|w| w.sf_member_id.is_some());
    for work in unknown {
        work.outcome = Some(Ok(Done::Skipped("not a member of the campaign".into())));
    }
    let mut known = known;
    let ids: Vec<String> = known
        .iter()
        .filter_map(|w| w.sf_member_id.clone())
        .collect();
    if ids.is_empty() {
        return;
    }
    match worker.salesforce().delete(&ids).await {
        Ok(results) => {
            for (work, result) in known.iter_mut().zip(results) {
                work.outcome = Some(match classify_record(&result) {
                    RecordOutcome::Done(_) => Ok(Done::Applied),
                    RecordOutcome::AlreadyGone => {
                        Ok(Done::Skipped("the member was already deleted".into()))
                    }
                    RecordOutcome::AlreadyExists => Ok(Done::Applied),
                    RecordOutcome::Failed(error) => Err(error),
                });
            }
        }
        Err(error) => known.iter_mut().for_each(|w| w.fail(&error)),
    }
}

/// Updates known members; creates the others (a duplicate found on create is looked up and
/// updated in the next round, through a retry).
async fn set(worker: &Worker, campaign: &str, works: &mut [&mut PersonWork]) {
    let (mut updating, mut creating): (Vec<&mut PersonWork>, Vec<&mut PersonWork>) = works
        .iter_mut()
        .map(|w| &mut **w)
        .partition(|w| w.sf_member_id.is_some());
    if !updating.is_empty() {
        let records = updating
            .iter()
            .map(|w| json!({ "Id": w.sf_member_id, "Status": target(w) }))
            .collect();
        match worker.salesforce().update("CampaignMember", records).await {
            Ok(results) => {
                for (work, result) in updating.iter_mut().zip(results) {
                    match classify_record(&result) {
                        RecordOutcome::Done(_) | RecordOutcome::AlreadyExists => {
                            work.outcome = Some(Ok(Done::Applied))
                        }
                        RecordOutcome::AlreadyGone => {
                            work.fail(&CallError::retry("the member was deleted meanwhile"))
                        }
                        RecordOutcome::Failed(error) => work.fail(&error),
                    }
                    if matches!(work.outcome, Some(Err(CallError::Retry { .. }))) {
                        work.sf_member_id = None;
                    }
                }
            }
            Err(error) => updating.iter_mut().for_each(|w| w.fail(&error)),
        }
    }
    creating.retain(|w| w.is_open());
    if creating.is_empty() {
        return;
    }
    let records = creating
        .iter()
        .map(|w| {
            let person = salesforce_id(&w.identity).unwrap_or_default();
            let field = if person.starts_with("003") {
                "ContactId"
            } else {
                "LeadId"
            };
            json!({ "CampaignId": campaign, field: person, "Status": target(w) })
        })
        .collect();
    match worker.salesforce().create("CampaignMember", records).await {
        Ok(results) => {
            for (work, result) in creating.iter_mut().zip(results) {
                match classify_record(&result) {
                    RecordOutcome::Done(id) => {
                        work.sf_member_id = id;
                        work.outcome = Some(Ok(Done::Applied));
                    }
                    RecordOutcome::AlreadyExists => work.fail(&CallError::retry(
                        "already a campaign member; will update it",
                    )),
                    RecordOutcome::AlreadyGone => work.fail(&CallError::Permanent(
                        "the Lead or Contact no longer exists".into(),
                    )),
                    RecordOutcome::Failed(error) => work.fail(&error),
                }
            }
        }
        Err(error) => creating.iter_mut().for_each(|w| w.fail(&error)),
    }
}

fn target(work: &PersonWork) -> String {
    match &work.decision {
        Decision::SetSalesforce(label) => label.clone(),
        _ => String::new(),
    }
}

async fn reset(worker: &Worker, works: &mut [&mut PersonWork]) {
    if works.is_empty() {
        return;
    }
    let records = works
        .iter()
        .map(|w| json!({ "Id": w.sf_member_id, "Status": w.reset_to }))
        .collect();
    match worker.salesforce().update("CampaignMember", records).await {
        Ok(results) => {
            for (work, result) in works.iter_mut().zip(results) {
                work.reset_applied = matches!(classify_record(&result), RecordOutcome::Done(_));
            }
        }
        Err(error) => tracing::warn!(%error, "could not set Salesforce back to Marketo's status"),
    }
}
