//! What a Marketo flow action on a Salesforce campaign writes, given the person's membership
//! now, by Marketo's own rules: an add leaves an existing member's status as it is, a status
//! change makes a non-member a member, a removal of a non-member does nothing.

use crate::kinds::{Actor, TriggerKind};
use crate::signal::FlowActionKind;

use super::Event;

/// The one write a flow action needs, or why it needs none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowStep {
    Skip(&'static str),
    Create,
    Update,
    Delete,
}

/// `member` is the person's current membership: `None` when not a member, else its status.
pub fn flow_step(kind: FlowActionKind, member: Option<Option<&str>>, status: &str) -> FlowStep {
    match (kind, member) {
        (FlowActionKind::AddToCampaign, Some(_)) => {
            FlowStep::Skip("already a campaign member; status left as is, as Marketo does")
        }
        (FlowActionKind::RemoveFromCampaign, None) => FlowStep::Skip("not a campaign member"),
        (FlowActionKind::RemoveFromCampaign, Some(_)) => FlowStep::Delete,
        (FlowActionKind::ChangeCampaignStatus, Some(now)) if now == Some(status) => {
            FlowStep::Skip("the member already has this status")
        }
        (FlowActionKind::ChangeCampaignStatus, Some(_)) => FlowStep::Update,
        (FlowActionKind::AddToCampaign | FlowActionKind::ChangeCampaignStatus, None) => {
            FlowStep::Create
        }
    }
}

/// The trigger event of an applied flow-action write: what happened to the membership (an add,
/// a status change or a removal), whatever the action asked for, with the status before it.
pub fn flow_event(step: FlowStep, before: Option<&str>, status: &str) -> Option<Event> {
    let (kind, new_status) = match step {
        FlowStep::Skip(_) => return None,
        FlowStep::Create => (TriggerKind::AddedToCampaign, Some(status.to_string())),
        FlowStep::Update => (TriggerKind::CampaignStatusChanged, Some(status.to_string())),
        FlowStep::Delete => (TriggerKind::RemovedFromCampaign, None),
    };
    Some(Event {
        kind,
        old_status: before
            .filter(|_| step != FlowStep::Create)
            .map(str::to_string),
        new_status,
        actor: Actor::Marketo,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use FlowActionKind::*;

    #[test]
    fn each_action_against_each_membership() {
        let cases = [
            (AddToCampaign, None, FlowStep::Create),
            (AddToCampaign, Some(Some("Sent")), FlowStep::Skip("")),
            (AddToCampaign, Some(Some("Attended")), FlowStep::Skip("")),
            (ChangeCampaignStatus, None, FlowStep::Create),
            (ChangeCampaignStatus, Some(Some("Sent")), FlowStep::Skip("")),
            (
                ChangeCampaignStatus,
                Some(Some("Responded")),
                FlowStep::Update,
            ),
            (ChangeCampaignStatus, Some(None), FlowStep::Update),
            (RemoveFromCampaign, None, FlowStep::Skip("")),
            (RemoveFromCampaign, Some(Some("Sent")), FlowStep::Delete),
        ];
        for (kind, member, expected) in cases {
            let step = flow_step(kind, member, "Sent");
            let same = match (step, expected) {
                (FlowStep::Skip(reason), FlowStep::Skip(_)) => !reason.is_empty(),
                (step, expected) => step == expected,
            };
            assert!(
                same,
                "{kind:?} on {member:?}: {step:?}, expected {expected:?}"
            );
        }
    }

    #[test]
    fn a_flow_event_says_what_happened_with_the_status_before() {
        let event = |step, before| {
            flow_event(step, before, "Sent").map(|e| (e.kind, e.old_status, e.new_status))
        };
        assert_eq!(event(FlowStep::Skip("why"), Some("Sent")), None);
        assert_eq!(
            event(FlowStep::Create, None),
            Some((TriggerKind::AddedToCampaign, None, Some("Sent".into())))
        );
        assert_eq!(
            event(FlowStep::Update, Some("Responded")),
            Some((
                TriggerKind::CampaignStatusChanged,
                Some("Responded".into()),
                Some("Sent".into())
            ))
        );
        assert_eq!(
            event(FlowStep::Delete, Some("Responded")),
            Some((
                TriggerKind::RemovedFromCampaign,
                Some("Responded".into()),
                None
            ))
        );
    }
}
