//! What a Marketo flow action on a Salesforce campaign writes, given the person's membership
//! now, by Marketo's own rules: an add leaves an existing member's status as it is, a status
//! change makes a non-member a member, a removal of a non-member does nothing.

use crate::signal::FlowActionKind;

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
}
