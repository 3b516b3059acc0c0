//! Marketo flow actions on Salesforce campaigns ("Add to", "Remove from", "Change Status in SFDC
//! Campaign"): applied to any campaign, and mirrored to the program when the campaign is mapped.
//! A top-level path beside `round`, built from the same steps.

use serde_json::json;
use tracing::Instrument;

use crate::connectors::CallError;
use crate::connectors::salesforce::classify::classify_record;
use crate::connectors::salesforce::{RecordOutcome, RecordResult};
use crate::kinds::{Action, Actor, Connector, Target, TriggerKind};
use crate::signal::{FlowAction, FlowActionKind, Signal};
use crate::store::{Claimed, Journal, StoreError};
use crate::sync::{Decision, Done, Event, Observed};

use super::context::{Context, api_span};
use super::record;
use super::resolve;
use super::work::{Person, Phase, SignalRef, SignalResult, Work, WorkError};
use super::write;

pub async fn apply(
    ctx: &Context,
    items: Vec<Claimed>,
    journal: &mut Journal,
) -> Result<Vec<SignalResult>, StoreError> {
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        let Signal::MarketoFlowAction(action) = &item.signal else {
            continue;
        };
        let span =
            tracing::info_span!("flow_action", signal.id = item.id, campaign = %action.campaign_id);
        let result = apply_one(ctx, &item, action, journal)
            .instrument(span)
            .await?;
        let signal = SignalRef {
            id: item.id,
            attempts: item.attempts,
        };
        results.push(SignalResult::new(signal, result));
    }
    Ok(results)
}

async fn apply_one(
    ctx: &Context,
    item: &Claimed,
    action: &FlowAction,
    journal: &mut Journal,
) -> Result<Result<(), WorkError>, StoreError> {
    let identity =
        resolve::identity(ctx, Some(action.lead_id), None, action.email.as_deref()).await?;
    let person = Person {
        identity,
        signals: vec![SignalRef {
            id: item.id,
            attempts: item.attempts,
        }],
        sf: None,
        sf_member_id: None,
        mk: None,
        failed: None,
    };
    let status = action.status.clone().unwrap_or_default();
    let mut work = Work {
        person,
        mirror: None,
        decision: match action.action {
            FlowActionKind::RemoveFromCampaign => Decision::RemoveFromSalesforce,
            _ => Decision::SetSalesforce(status.clone()),
        },
        actor: Actor::Marketo,
        outcome: None,
        reset: None,
    };
    write::ensure_salesforce(ctx, &mut [&mut work]).await;
    if let Some(Err(error)) = work.outcome {
        return Ok(Err(error));
    }
    let person_id = work.salesforce_person().unwrap_or_default().to_string();
    let existing = match ctx
        .salesforce
        .members_for(&action.campaign_id, std::slice::from_ref(&person_id))
        .instrument(api_span("salesforce", "members_for", 1))
        .await
    {
        Ok(members) => members.into_iter().next(),
        Err(error) => return Ok(Err(error.into())),
    };
    let done = match (action.action, &existing) {
        (FlowActionKind::AddToCampaign, Some(_)) => Ok(Done::Skipped(
            "already a campaign member; status left as is, as Marketo does".into(),
        )),
        (FlowActionKind::RemoveFromCampaign, None) => {
            Ok(Done::Skipped("not a campaign member".into()))
        }
        (FlowActionKind::ChangeCampaignStatus, Some(m))
            if m.status.as_deref() == Some(status.as_str()) =>
        {
            Ok(Done::Skipped("the member already has this status".into()))
        }
        (FlowActionKind::RemoveFromCampaign, Some(m)) => delete(ctx, &m.id).await,
        (_, Some(m)) => update(ctx, &m.id, &status).await,
        (_, None) => {
            let created = create(ctx, &action.campaign_id, &person_id, &status).await;
            if let Ok((_, id)) = &created {
                work.person.sf_member_id = id.clone();
            }
            created.map(|(done, _)| done)
        }
    };
    if matches!(&done, Ok(Done::Skipped(_))) {
        work.decision = Decision::Skip("flow action");
    }
    work.person.sf_member_id = work
        .person
        .sf_member_id
        .clone()
        .or_else(|| existing.as_ref().map(|m| m.id.clone()));
    let done = done.map_err(WorkError::from);
    work.outcome = Some(done.clone());
    let Some(mapping) = ctx.mappings.by_campaign(&action.campaign_id).cloned() else {
        return Ok(unmapped(journal, item, action, &work));
    };
    work.mirror = ctx.store.mirror(mapping.name(), &work.person.key()).await?;
    let campaign_row = record::person(journal, &mapping, &work);
    if done != Ok(Done::Applied) || !ctx.mappings.writes(&mapping) {
        return Ok(done.map(|_| ()));
    }
    // Mirror the campaign change into the program.
    let set = match &work.decision {
        Decision::SetSalesforce(label) => Some(label.clone()),
        _ => None,
    };
    let mut program = Work {
        mirror: campaign_row,
        decision: match &set {
            Some(label) => Decision::SetMarketo(mapping.statuses.to_marketo(label)),
            None => Decision::RemoveFromMarketo,
        },
        outcome: None,
        person: Person {
            sf: Some(Observed {
                status: set,
                at: None,
            }),
            ..work.person
        },
        ..work
    };
    write::phase(
        ctx,
        &mapping,
        Phase::Marketo,
        std::slice::from_mut(&mut program),
    )
    .await;
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
    work: &Work,
) -> Result<(), WorkError> {
    let done = match work.outcome.clone() {
        None => return Ok(()),
        Some(Err(error)) => return Err(error),
        Some(Ok(done)) => done,
    };
    let result = match &done {
        Done::Applied => crate::kinds::OutcomeResult::Applied,
        Done::Skipped(_) | Done::Diverged(_) => crate::kinds::OutcomeResult::Skipped,
    };
    let key = work.person.key();
    let target = Target::new(Connector::Salesforce, Action::FlowAction);
    record::outcome(
        journal,
        Some(item.id),
        None,
        Some(&key),
        target,
        result,
        done.reason(),
    );
    if done == Done::Applied {
        let kind = match action.action {
            FlowActionKind::RemoveFromCampaign => TriggerKind::RemovedFromCampaign,
            FlowActionKind::AddToCampaign => TriggerKind::AddedToCampaign,
            FlowActionKind::ChangeCampaignStatus => TriggerKind::CampaignStatusChanged,
        };
        let event = Event {
            kind,
            old_status: None,
            new_status: action
                .status
                .clone()
                .filter(|_| action.action != FlowActionKind::RemoveFromCampaign),
            actor: Actor::Marketo,
        };
        record::trigger(journal, None, &key, Some(&action.campaign_id), event);
    }
    Ok(())
}

fn first_outcome(result: Result<Vec<RecordResult>, CallError>) -> Result<RecordOutcome, CallError> {
    result?
        .first()
        .map(classify_record)
        .ok_or_else(|| CallError::Permanent("no result for the record".into()))
}

async fn delete(ctx: &Context, id: &str) -> Result<Done, CallError> {
    let deleted = ctx
        .salesforce
        .delete(&[id.to_string()])
        .instrument(api_span("salesforce", "delete_members", 1))
        .await;
    match first_outcome(deleted)? {
        RecordOutcome::Failed(error) => Err(error),
        RecordOutcome::AlreadyGone => Ok(Done::Skipped("the member was already deleted".into())),
        _ => Ok(Done::Applied),
    }
}

async fn update(ctx: &Context, id: &str, status: &str) -> Result<Done, CallError> {
    let record = json!({ "Id": id, "Status": status });
    let updated = ctx
        .salesforce
        .update("CampaignMember", vec![record])
        .instrument(api_span("salesforce", "update_members", 1))
        .await;
    match first_outcome(updated)? {
        RecordOutcome::Failed(error) => Err(error),
        // Deleted since we looked it up: the retry finds no member and creates it.
        RecordOutcome::AlreadyGone => Err(CallError::retry("the member was deleted meanwhile")),
        _ => Ok(Done::Applied),
    }
}

async fn create(
    ctx: &Context,
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
    let created = ctx
        .salesforce
        .create("CampaignMember", vec![record])
        .instrument(api_span("salesforce", "create_members", 1))
        .await;
    match first_outcome(created)? {
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
