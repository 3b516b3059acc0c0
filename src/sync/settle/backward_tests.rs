//! Table tests of a Salesforce move back Marketo refused: the campaign's status change by
//! Salesforce, and under `reset_salesforce` the reset's own event after it.

use super::tests::{ended, mirror};
use super::*;

#[test]
fn an_applied_reset_sets_salesforce_back_with_its_own_event() {
    let old = mirror(Some("Attended"), Some("Attended"));
    let seen = Observed {
        status: Some("Registered".into()),
        at: Some(200),
    };
    let decision = Decision::SetMarketo("Registered".into());
    // As the write leaves it once the reset landed.
    let done = Done::Skipped("1037; the campaign member is set back to Attended".into());
    let reset = Reset {
        to: "Attended".into(),
        applied: true,
        actor: Actor::CampaignSync,
    };
    let mut input = ended(Some(&old), &decision, &done, Actor::Salesforce);
    input.salesforce = Some(&seen);
    input.reset = Some(&reset);
    let out = settle("m", "p", input, 1);
    assert_eq!(out.row.sf_status.as_deref(), Some("Attended"));
    let events: Vec<_> = out
        .events
        .iter()
        .map(|e| (e.actor, e.old_status.as_deref(), e.new_status.as_deref()))
        .collect();
    assert_eq!(
        events,
        [
            (Actor::Salesforce, Some("Attended"), Some("Registered")),
            (Actor::CampaignSync, Some("Registered"), Some("Attended")),
        ],
        "the move back, then the reset"
    );
}

/// A move back Marketo refused was still a change in Salesforce: the campaign's event, by
/// Salesforce, from the status synced to the one seen. Seen again, it is no change.
#[test]
fn a_refused_move_back_is_the_campaigns_status_change() {
    let old = mirror(Some("Attended"), Some("Attended"));
    let seen = Observed {
        status: Some("Registered".into()),
        at: Some(200),
    };
    let decision = Decision::SetMarketo("Registered".into());
    let done = Done::Diverged("1037".into());
    let mut input = ended(Some(&old), &decision, &done, Actor::Salesforce);
    input.salesforce = Some(&seen);
    let out = settle("m", "p", input, 1);
    assert_eq!(
        out.events,
        [Event {
            kind: TriggerKind::CampaignStatusChanged,
            old_status: Some("Attended".into()),
            new_status: Some("Registered".into()),
            actor: Actor::Salesforce,
        }]
    );
    assert_eq!(
        out.target,
        Target::new(Connector::Marketo, Action::SetStatus)
    );
    let mut again = ended(Some(&out.row), &decision, &done, Actor::Salesforce);
    again.salesforce = Some(&seen);
    assert!(settle("m", "p", again, 2).events.is_empty());
}
