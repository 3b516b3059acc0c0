//! Marketo flow actions on Salesforce campaigns ("Add to", "Remove from", "Change Status in SFDC
//! Campaign"): applied to any campaign, and mirrored to the program when the campaign is mapped.

use serde_json::json;

use crate::connectors::CallError;
use crate::connectors::salesforce::RecordOutcome;
use crate::connectors::salesforce::classify::classify_record;
use crate::signal::{FlowAction, FlowActionKind, Signal};
use crate::store::{Claimed, Journal, OutcomeResult, StoreError, TriggerEvent, now_millis};
use crate::sync::{Decision, Observed};

use super::identity::{self, salesforce_id};
use super::record::{self, Settled};
use super::round::{Done, PersonWork};
use super::{Worker, write_marketo};

pub async fn apply(
    worker: &Worker,
    items: Vec<Claimed>,
    journal: &mut Journal,
) -> Result<Vec<Settled>, StoreError> {
    let mut settled = Vec::with_capacity(items.len());
    for item in items {
        let Signal::MarketoFlowAction(action) = &item.signal else {
            continue;
        };
        let result = apply_one(worker, &item, action, journal).await?;
        settled.push((item.id, item.attempts, result));
    }
    Ok(settled)
}

async fn apply_one(
    worker: &Worker,
    item: &Claimed,
    action: &FlowAction,
    journal: &mut Journal,
) -> Result<Result<(), CallError>, StoreError> {
    let identity =
        identity::resolve(worker, Some(action.lead_id), None, action.email.as_deref()).await?;
    let mut work = PersonWork {
        identity,
        signals: vec![(item.id, item.attempts)],
        sf: None,
        sf_member_id: None,
        mk: None,
        mirror: None,
        decision: Decision::Skip(""),
        actor: "marketo",
        outcome: None,
        reset_to: None,
        reset_applied: false,
    };
    identity::ensure_salesforce(worker, &mut [&mut work]).await?;
    if let Some(Err(error)) = work.outcome {
        return Ok(Err(error));
    }
    let person = salesforce_id(&work.identity)
        .unwrap_or_default()
        .to_string();
    let existing = match worker
        .salesforce()
        .members_for(&action.campaign_id, std::slice::from_ref(&person))
        .await
    {
        Ok(members) => members.into_iter().next(),
        Err(error) => return Ok(Err(error)),
    };
    let status = action.status.clone().unwrap_or_default();
    let (decision, done) = match (action.action, &existing) {
        (FlowActionKind::AddToCampaign, Some(_)) => (
            Decision::Skip(""),
            Ok(Done::Skipped(
                "already a campaign member; status left as is, as Marketo does".into(),
            )),
        ),
        (FlowActionKind::RemoveFromCampaign, None) => (
            Decision::Skip(""),
            Ok(Done::Skipped("not a campaign member".into())),
        ),
        (FlowActionKind::ChangeCampaignStatus, Some(m))
            if m.status.as_deref() == Some(status.as_str()) =>
        {
            (
                Decision::Skip(""),
                Ok(Done::Skipped("the member already has this status".into())),
            )
        }
        (FlowActionKind::RemoveFromCampaign, Some(m)) => {
            (Decision::RemoveFromSalesforce, delete(worker, &m.id).await)
        }
        (_, Some(m)) => (
            Decision::SetSalesforce(status.clone()),
            update(worker, &m.id, &status).await,
        ),
        (_, None) => {
            let created = create(worker, &action.campaign_id, &person, &status).await;
            if let Ok((_, id)) = &created {
                work.sf_member_id = id.clone();
            }
            (
                Decision::SetSalesforce(status.clone()),
                created.map(|(done, _)| done),
            )
        }
    };
    work.sf_member_id = work
        .sf_member_id
        .clone()
        .or_else(|| existing.as_ref().map(|m| m.id.clone()));
    work.decision = decision.clone();
    work.outcome = Some(done.clone());
    let Some(mapping) = worker.mappings().by_campaign(&action.campaign_id).cloned() else {
        return Ok(unmapped(journal, item, action, &work, &person));
    };
    work.mirror = worker
        .inner
        .store
        .mirror(mapping.name(), &work.person_key())
        .await?;
    let campaign_row = record::person(journal, &mapping, &work);
    if done != Ok(Done::Applied) || !worker.mappings().writes(&mapping) {
        return Ok(done.map(|_| ()));
    }
    // Mirror the campaign change into the program.
    let mut program = PersonWork {
        mirror: campaign_row,
        sf: Some(Observed {
            status: match &decision {
                Decision::SetSalesforce(s) => Some(s.clone()),
                _ => None,
            },
            at: None,
        }),
        decision: match decision {
            Decision::SetSalesforce(label) => {
                Decision::SetMarketo(mapping.statuses.to_marketo(&label))
            }
            _ => Decision::RemoveFromMarketo,
        },
        outcome: None,
        signals: work.signals.clone(),
        ..work
    };
    write_marketo::apply(worker, &mapping, std::slice::from_mut(&mut program)).await;
    record::person(journal, &mapping, &program);
    Ok(match program.outcome {
        Some(Err(error)) => Err(error),
        _ => Ok(()),
    })
}

/// A flow action on a campaign no mapping covers: the campaign change is all there is.
fn unmapped(
    journal: &mut Journal,
    item: &Claimed,
    action: &FlowAction,
    work: &PersonWork,
    person: &str,
) -> Result<(), CallError> {
    let done = match work.outcome.clone() {
        None => return Ok(()),
        Some(Err(error)) => return Err(error),
        Some(Ok(done)) => done,
    };
    let (result, reason) = match &done {
        Done::Applied => (OutcomeResult::Applied, None),
        Done::Skipped(r) | Done::Diverged(r) => (OutcomeResult::Skipped, Some(r.as_str())),
    };
    let target = ("salesforce", "flow_action");
    record::outcome(
        journal,
        Some(item.id),
        None,
        Some(&work.person_key()),
        target,
        result,
        reason,
    );
    if done == Done::Applied {
        let kind = match action.action {
            FlowActionKind::RemoveFromCampaign => "removed_from_campaign",
            FlowActionKind::AddToCampaign => "added_to_campaign",
            FlowActionKind::ChangeCampaignStatus => "campaign_status_changed",
        };
        journal.events.push(TriggerEvent {
            id: 0,
            kind: kind.into(),
            mapping: None,
            person: person.to_string(),
            campaign_id: Some(action.campaign_id.clone()),
            program_id: None,
            old_status: None,
            new_status: action
                .status
                .clone()
                .filter(|_| action.action != FlowActionKind::RemoveFromCampaign),
            actor: "marketo".into(),
            occurred_at: now_millis(),
        });
    }
    Ok(())
}

fn first_outcome(
    result: Result<Vec<crate::connectors::salesforce::RecordResult>, CallError>,
) -> Result<RecordOutcome, CallError> {
    result?
        .first()
        .map(classify_record)
        .ok_or_else(|| CallError::Permanent("no result for the record".into()))
}

async fn delete(worker: &Worker, id: &str) -> Result<Done, CallError> {
    match first_outcome(worker.salesforce().delete(&[id.to_string()]).await)? {
        RecordOutcome::Failed(error) => Err(error),
        RecordOutcome::AlreadyGone => Ok(Done::Skipped("the member was already deleted".into())),
        _ => Ok(Done::Applied),
    }
}

async fn update(worker: &Worker, id: &str, status: &str) -> Result<Done, CallError> {
    match first_outcome(
        worker
            .salesforce()
            .update(
                "CampaignMember",
                vec![json!({ "Id": id, "Status": status })],
            )
            .await,
    )? {
        RecordOutcome::Failed(error) => Err(error),
        _ => Ok(Done::Applied),
    }
}

async fn create(
    worker: &Worker,
    campaign: &str,
    person: &str,
    status: &str,
) -> Result<(Done, Option<String>), CallError> {
    let field = if person.starts_with("003") {
        "ContactId"
    } else {
        "LeadId"
    };
    let record = json!({ "CampaignId": campaign, field: person, "Status": status });
    match first_outcome(
        worker
            .salesforce()
            .create("CampaignMember", vec![record])
            .await,
    )? {
        RecordOutcome::Done(id) => Ok((Done::Applied, id)),
        RecordOutcome::AlreadyExists => Err(CallError::retry(
            "already a campaign member; will update it",
        )),
        RecordOutcome::AlreadyGone => Err(CallError::Permanent(
            "the Lead or Contact no longer exists".into(),
        )),
        RecordOutcome::Failed(error) => Err(error),
    }
}
