//! Flow actions whose campaign change stands alone: no mapping covers the campaign, or its
//! mapping does not write now. The outcome and trigger event name the campaign write.

use crate::kinds::{OutcomeResult, Target};
use crate::store::Journal;
use crate::sync::{Done, FlowStep, flow_event};

use super::super::record;
use super::super::work::{About, SignalResult, WorkError};
use super::Flow;

/// The result of a flow action whose campaign change stands alone (no mapping covers the
/// campaign, or its mapping does not write now), naming its person, the covering mapping if
/// any and the campaign write, so a dead one's outcome says whom and what.
pub(super) fn unmapped_result(
    flow: &Flow,
    covering: Option<String>,
    result: Result<(), WorkError>,
) -> SignalResult {
    SignalResult {
        signal: flow.signal,
        result,
        about: Some(About {
            mapping: covering,
            person: flow.work.person.key(),
            status: flow.work.decision.status().map(str::to_string),
        }),
        target: Target::FLOW_ACTION,
    }
}

/// What an applied flow action did to the campaign, for its outcome's reason, as a mapped
/// campaign's write says it.
fn written(step: FlowStep, status: Option<&str>) -> Option<String> {
    let status = status.unwrap_or_default();
    match step {
        FlowStep::Create => Some(format!("added to the campaign as {status}")),
        FlowStep::Update => Some(format!("set the campaign member status to {status}")),
        FlowStep::Delete => Some("removed from the campaign".into()),
        FlowStep::Skip(_) => None,
    }
}

/// A flow action on a campaign no mapping covers (or whose mapping does not write now): the
/// campaign change is all there is.
pub(super) fn unmapped(
    journal: &mut Journal,
    flow: &Flow,
    covering: Option<&str>,
    done: Result<Done, WorkError>,
) -> Result<(), WorkError> {
    let done = done?;
    let result = match &done {
        Done::Applied => OutcomeResult::Applied,
        Done::Skipped(_) | Done::Diverged(_) => OutcomeResult::Skipped,
    };
    let key = flow.work.person.key();
    let target = Target::FLOW_ACTION;
    let action = &flow.action;
    let written = match (&done, flow.step) {
        (Done::Applied, Some(step)) => written(step, action.status.as_deref()),
        _ => None,
    };
    // Duplicates passed over for the person are named beside what was written.
    let written = flow.work.noted(written);
    record::outcome(
        journal,
        Some(flow.signal.id),
        covering,
        Some(&key),
        target,
        result,
        done.reason().or(written.as_deref()),
    );
    let event = flow
        .step
        .filter(|_| done == Done::Applied)
        .and_then(|step| {
            flow_event(
                step,
                flow.before.as_deref(),
                action.status.as_deref().unwrap_or_default(),
            )
        });
    if let Some(event) = event {
        record::trigger(journal, None, &key, Some(&action.campaign_id), event);
    }
    Ok(())
}
