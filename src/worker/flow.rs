//! Marketo flow actions on Salesforce campaigns ("Add to", "Remove from", "Change Status in SFDC
//! Campaign"): applied to any campaign, and mirrored to the program when the campaign is mapped.
//! A round's flow actions share its batched calls like every other write: one lookup of the
//! people, one membership query per campaign, collection writes of up to 200 members, and one
//! program write per mapping. A top-level path beside `round`, built from the same steps.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use tracing::Instrument;

use crate::kinds::Actor;
use crate::mappings::Mapping;
use crate::signal::{FlowAction, FlowActionKind, Signal};
use crate::store::{Claimed, Journal, StoreError};
use crate::sync::{Decision, Done, FlowStep, Observed, flow_step};

use super::context::{Context, api_span};
use super::record;
use super::resolve;
use super::work::{About, Person, Phase, SignalRef, SignalResult, Work, WorkError};
use super::write;

mod unmapped;
use unmapped::{unmapped, unmapped_result};

/// A mapping and the program writes that mirror its campaign's changes (each work carries its
/// flow's signal).
type ProgramWrites = (Arc<Mapping>, Vec<Work>);

/// One flow action this round: the signal, what it asks, and the campaign write it became.
struct Flow {
    signal: SignalRef,
    action: FlowAction,
    work: Work,
    /// The write the person's membership called for, and their status before it, once read.
    step: Option<FlowStep>,
    before: Option<String>,
}

pub async fn apply(
    ctx: &Context,
    items: Vec<Claimed>,
    journal: &mut Journal,
) -> Result<Vec<SignalResult>, StoreError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let span = tracing::info_span!("flow_actions", signals = items.len());
    apply_all(ctx, items, journal).instrument(span).await
}

async fn apply_all(
    ctx: &Context,
    mut items: Vec<Claimed>,
    journal: &mut Journal,
) -> Result<Vec<SignalResult>, StoreError> {
    // Signals are stored in the order they came; a claim need not return them so.
    items.sort_by_key(|item| item.id);
    let mut flows = Vec::with_capacity(items.len());
    let mut taken = HashSet::new();
    for item in items {
        let Signal::MarketoFlowAction(action) = item.signal else {
            continue;
        };
        let signal = SignalRef {
            id: item.id,
            attempts: item.attempts,
        };
        // One action per person and campaign a round, in the order they came: the next one
        // sees what this one wrote.
        if !taken.insert((action.campaign_id.clone(), action.lead_id)) {
            record::next_round(journal, signal);
            continue;
        }
        if let Some(why) = held_back(ctx, &action.campaign_id) {
            // Held back like a switched-off mapping's signals; due again once it is on.
            record::postpone(journal, signal, &why);
            continue;
        }
        flows.push(flow(ctx, signal, action).await?);
    }
    let mut people: Vec<&mut Work> = flows.iter_mut().map(|f| &mut f.work).collect();
    write::ensure_salesforce(ctx, &mut people).await;
    let mut by_campaign: BTreeMap<String, Vec<&mut Flow>> = BTreeMap::new();
    for flow in flows.iter_mut().filter(|f| f.work.is_open()) {
        by_campaign
            .entry(flow.action.campaign_id.clone())
            .or_default()
            .push(flow);
    }
    for (campaign, group) in by_campaign {
        write_campaign(ctx, &campaign, group).await;
    }
    record_all(ctx, flows, journal).await
}

/// Why a flow action on this campaign waits (sync off, or its mapping off or held), or `None`
/// when it may write: campaign sync is on and, for a mapped campaign, its mapping writes
/// (switched on, statuses compatible). A switched-off mapping writes nothing, its campaign
/// included.
fn held_back(ctx: &Context, campaign: &str) -> Option<String> {
    match ctx.mappings.by_campaign(campaign) {
        Some(mapping) => ctx.mappings.held_back(mapping),
        None => ctx.mappings.sync_held_back(),
    }
}

/// The flow action as planned work: who, and the campaign write it asks for.
async fn flow(ctx: &Context, signal: SignalRef, action: FlowAction) -> Result<Flow, StoreError> {
    // By the lead id alone: the e-mail the call carried may be stale or wrong (a template's
    // token, a lead id Marketo does not have), and linking by it could join the lead to another
    // person. The Salesforce step finds the person by the address Marketo has for the lead.
    let identity = resolve::identity(ctx, Some(action.lead_id), None, None).await?;
    let status = action.status.clone().unwrap_or_default();
    let work = Work {
        person: Person {
            identity,
            signals: vec![signal],
            from_salesforce: Vec::new(),
            sf: None,
            sf_member_id: None,
            mk: None,
            failed: None,
        },
        mirror: None,
        decision: match action.action {
            FlowActionKind::RemoveFromCampaign => Decision::RemoveFromSalesforce,
            _ => Decision::SetSalesforce(status),
        },
        actor: Actor::Marketo,
        outcome: None,
        reset: None,
        sf_written_at: None,
        was_member: false,
        left_alone: false,
        note: None,
        overruled: None,
    };
    Ok(Flow {
        signal,
        action,
        work,
        step: None,
        before: None,
    })
}

/// Reads the people's memberships in one campaign, settles what needs no write, and sends the
/// rest in collection calls.
async fn write_campaign(ctx: &Context, campaign: &str, mut group: Vec<&mut Flow>) {
    let people: Vec<String> = group
        .iter()
        .filter_map(|f| f.work.salesforce_person().map(str::to_string))
        .collect();
    if people.is_empty() {
        return;
    }
    let found = ctx
        .salesforce
        .members_for(campaign, &people)
        .instrument(api_span("salesforce", "members_for", people.len()))
        .await;
    let members = match found {
        Ok(members) => members,
        Err(error) => return group.iter_mut().for_each(|f| f.work.fail(error.clone())),
    };
    for flow in group.iter_mut() {
        let person = flow.work.salesforce_person().map(str::to_string);
        let member = members
            .iter()
            .find(|m| person.is_some() && m.person_id().map(str::to_string) == person);
        let status = flow.action.status.clone().unwrap_or_default();
        let step = flow_step(
            flow.action.action,
            member.map(|m| m.status.as_deref()),
            &status,
        );
        flow.work.person.sf_member_id = member.map(|m| m.id.clone());
        // What the campaign shows now, read here: the record's events start from it (a member
        // deleted meanwhile is added anew, not moved from the status last synced).
        flow.work.person.sf = Some(Observed {
            status: member.and_then(|m| m.status.clone()),
            at: member
                .and_then(|m| m.system_modstamp.as_deref())
                .and_then(crate::sync::time::parse_millis),
        });
        flow.step = Some(step);
        flow.before = member.and_then(|m| m.status.clone());
        if let FlowStep::Skip(reason) = step {
            flow.work.decision = Decision::Skip("flow action");
            flow.work.outcome = Some(Ok(Done::Skipped(reason.into())));
        }
    }
    // A removal finding no member may name a campaign Salesforce does not have: asked once,
    // so the action ends dead saying so rather than skipped as "not a campaign member".
    let removal_found_none = group.iter().any(|f| {
        f.action.action == FlowActionKind::RemoveFromCampaign
            && f.work.person.sf_member_id.is_none()
    });
    if members.is_empty()
        && removal_found_none
        && write::missing::campaign_exists(ctx, campaign).await == Some(false)
    {
        let reason = write::missing::no_campaign(campaign, None);
        return group.iter_mut().for_each(|f| {
            f.work
                .fail(crate::connectors::CallError::Permanent(reason.clone()))
        });
    }
    let targets = group.into_iter().map(|f| &mut f.work).collect();
    write::campaign_members(ctx, campaign, targets).await;
}

/// Records each flow's campaign change; an applied change to a mapped campaign is mirrored to
/// its program, one batched write per mapping.
async fn record_all(
    ctx: &Context,
    flows: Vec<Flow>,
    journal: &mut Journal,
) -> Result<Vec<SignalResult>, StoreError> {
    let mut results = Vec::with_capacity(flows.len());
    let mut programs: BTreeMap<String, ProgramWrites> = BTreeMap::new();
    for flow in flows {
        let done = flow.work.outcome.clone().unwrap_or_else(|| {
            Err(WorkError::Call(crate::connectors::CallError::retry(
                "Salesforce answered no result for the member",
            )))
        });
        let mapping = ctx.mappings.by_campaign(&flow.action.campaign_id).cloned();
        // The mapping was switched off during the round, after its campaign was written: the
        // campaign change stands alone and the mirror keeps what was last synced, so the
        // change reaches the program (by the change feed or reconciliation) once the mapping
        // writes again.
        let covering = mapping.as_ref().map(|m| m.name().to_string());
        let Some(mapping) = mapping.filter(|m| ctx.mappings.writes(m)) else {
            let result = unmapped(journal, &flow, covering.as_deref(), done);
            results.push(unmapped_result(&flow, covering, result));
            continue;
        };
        let mut work = flow.work;
        work.mirror = ctx.store.mirror(mapping.name(), &work.person.key()).await?;
        let campaign_row = record::person(journal, &mapping, &work);
        // A retry whose earlier attempt wrote the campaign and then failed on the program
        // finds the campaign done already: the program write it still owes goes now. Only
        // then: an action that never wrote the campaign (a first attempt, or one that failed
        // before its campaign write), a skip for another reason, or a campaign not where this
        // action puts it leaves the program alone, however the mirror's sides disagree.
        let retried_into_place = matches!(flow.step, Some(FlowStep::Skip(_)))
            && flow.before.as_deref() == leaves(&flow.action)
            && ctx.store.signal_wrote_salesforce(flow.signal.id).await?;
        // The campaign status the program is to mirror, when a program write is due.
        let program_status = match &done {
            Ok(Done::Applied) => Some(match &work.decision {
                Decision::SetSalesforce(label) => Some(label.clone()),
                _ => None,
            }),
            Ok(Done::Skipped(_)) if retried_into_place => {
                owed_program_status(&mapping, &work, flow.before.as_deref())
            }
            _ => None,
        };
        let Some(status) = program_status else {
            let mut result = SignalResult::new(flow.signal, done.map(|_| ()));
            result.about = Some(About {
                mapping: Some(mapping.name().to_string()),
                person: work.person.key(),
                status: work.decision.status().map(str::to_string),
            });
            result.target = work.decision.target();
            results.push(result);
            continue;
        };
        let program = program_work(&mapping, work, campaign_row, status);
        programs
            .entry(mapping.name().to_string())
            .or_insert_with(|| (mapping, Vec::new()))
            .1
            .push(program);
    }
    for (mapping, mut works) in programs.into_values() {
        write::phase(ctx, &mapping, Phase::Marketo, &mut works).await;
        for work in &works {
            let before = journal.events.len();
            record::person(journal, &mapping, work);
            // Marketo has the campaign event of this change: the program's is not sent too.
            for event in &mut journal.events[before..] {
                event.marketo_twin = true;
            }
        }
        // Each work carries its flow's signal, so a failed program write names the mapping,
        // the person and the write as any other does.
        results.extend(record::signal_results(&mapping, &works));
    }
    Ok(results)
}

/// The program write that mirrors a campaign change (applied this round, or on an earlier
/// attempt); `set`: the campaign member status the program is to mirror (`None`: not a member).
fn program_work(
    mapping: &Mapping,
    work: Work,
    campaign_row: Option<crate::store::MirrorRow>,
    set: Option<String>,
) -> Work {
    Work {
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
    }
}

/// The campaign membership a flow action leaves: its status, or none for a removal.
fn leaves(action: &FlowAction) -> Option<&str> {
    match action.action {
        FlowActionKind::RemoveFromCampaign => None,
        _ => action.status.as_deref(),
    }
}

/// The campaign status the program still owes after a flow action found nothing to write: the
/// mirror holds the campaign as it is now (`before`, read this round), yet its program side
/// does not match it. `Some(None)`: the program still holds a member the campaign removed.
fn owed_program_status(
    mapping: &Mapping,
    work: &Work,
    before: Option<&str>,
) -> Option<Option<String>> {
    let mirror = work.mirror.as_ref()?;
    if mirror.sf_status.as_deref() != before {
        return None;
    }
    // Compared as Salesforce labels: under a many-to-one map several program statuses agree.
    let program = mirror
        .mkto_status
        .as_deref()
        .and_then(|name| mapping.statuses.to_salesforce(name));
    (program.as_deref() != before).then(|| before.map(str::to_string))
}
