//! Decision table tests: echo, staleness, conflicts, removals, status mapping.

use std::collections::BTreeMap;

use super::*;

fn mirror(sf: Option<&str>, mk: Option<&str>, modstamp: i64) -> MirrorRow {
    MirrorRow {
        mapping: "m".into(),
        person: "p".into(),
        sf_status: sf.map(str::to_string),
        mkto_status: mk.map(str::to_string),
        sf_modstamp: Some(modstamp),
        ..MirrorRow::default()
    }
}

fn seen(status: Option<&str>, at: i64) -> Observed {
    Observed {
        status: status.map(str::to_string),
        at: Some(at),
    }
}

const LWW: ConflictPolicy = ConflictPolicy::LastWriterWins;

#[test]
fn a_salesforce_change_is_written_to_marketo() {
    let m = mirror(Some("Registered"), Some("Registered"), 100);
    let d = decide(
        Some(&m),
        Some(&seen(Some("Attended"), 200)),
        None,
        LWW,
        &StatusMap::default(),
    );
    assert_eq!(d, Decision::SetMarketo("Attended".into()));
}

#[test]
fn our_own_write_coming_back_is_an_echo() {
    let m = mirror(Some("Attended"), Some("Attended"), 100);
    let d = decide(
        Some(&m),
        Some(&seen(Some("Attended"), 300)),
        None,
        LWW,
        &StatusMap::default(),
    );
    assert_eq!(d, Decision::Skip(ECHO));
    let d = decide(
        Some(&m),
        None,
        Some(&seen(Some("Attended"), 300)),
        LWW,
        &StatusMap::default(),
    );
    assert_eq!(d, Decision::Skip(ECHO));
}

#[test]
fn someone_never_synced_and_on_neither_side_is_not_an_echo() {
    let d = decide(
        None,
        None,
        Some(&Observed {
            status: None,
            at: None,
        }),
        LWW,
        &StatusMap::default(),
    );
    assert_eq!(d, Decision::Skip(NOT_A_MEMBER));
}

#[test]
fn an_older_outbound_message_is_stale() {
    let m = mirror(Some("Attended"), Some("Attended"), 500);
    let d = decide(
        Some(&m),
        Some(&seen(Some("Registered"), 400)),
        None,
        LWW,
        &StatusMap::default(),
    );
    assert_eq!(d, Decision::Skip(STALE));
}

#[test]
fn a_marketo_change_is_written_to_salesforce_through_the_status_map() {
    let map = StatusMap::new(&BTreeMap::from([(
        "Attended On-demand".into(),
        "Attended".into(),
    )]));
    let m = mirror(Some("Registered"), Some("Registered"), 100);
    let d = decide(
        Some(&m),
        None,
        Some(&seen(Some("Attended On-demand"), 200)),
        LWW,
        &map,
    );
    assert_eq!(d, Decision::SetSalesforce("Attended".into()));
}

#[test]
fn new_members_are_created_and_removals_mirrored() {
    let map = StatusMap::default();
    assert_eq!(
        decide(None, None, Some(&seen(Some("Invited"), 1)), LWW, &map),
        Decision::SetSalesforce("Invited".into())
    );
    let m = mirror(Some("Invited"), Some("Invited"), 100);
    assert_eq!(
        decide(Some(&m), None, Some(&seen(None, 200)), LWW, &map),
        Decision::RemoveFromSalesforce
    );
    assert_eq!(
        decide(
            Some(&m),
            None,
            Some(&seen(Some("Not in Program"), 200)),
            LWW,
            &map
        ),
        Decision::RemoveFromSalesforce
    );
    assert_eq!(
        decide(Some(&m), Some(&seen(None, 200)), None, LWW, &map),
        Decision::RemoveFromMarketo
    );
}

#[test]
fn conflicts_follow_the_policy() {
    let map = StatusMap::default();
    let m = mirror(Some("Invited"), Some("Invited"), 100);
    let sf = seen(Some("Registered"), 300);
    let mk = seen(Some("Attended"), 200);
    assert_eq!(
        decide(Some(&m), Some(&sf), Some(&mk), LWW, &map),
        Decision::SetMarketo("Registered".into())
    );
    let later_mk = seen(Some("Attended"), 400);
    assert_eq!(
        decide(Some(&m), Some(&sf), Some(&later_mk), LWW, &map),
        Decision::SetSalesforce("Attended".into())
    );
    assert_eq!(
        decide(
            Some(&m),
            Some(&sf),
            Some(&later_mk),
            ConflictPolicy::SalesforceWins,
            &map
        ),
        Decision::SetMarketo("Registered".into())
    );
    assert_eq!(
        decide(
            Some(&m),
            Some(&sf),
            Some(&mk),
            ConflictPolicy::MarketoWins,
            &map
        ),
        Decision::SetSalesforce("Attended".into())
    );
}

#[test]
fn both_sides_reaching_the_same_state_need_no_write() {
    let m = mirror(Some("Invited"), Some("Invited"), 100);
    let d = decide(
        Some(&m),
        Some(&seen(Some("Attended"), 300)),
        Some(&seen(Some("Attended"), 200)),
        LWW,
        &StatusMap::default(),
    );
    assert_eq!(d, Decision::Skip(IN_SYNC));
}

/// A notification stamped next year is taken as now: it is applied, and a real notification
/// delayed from before it is then stale, while a change made after it is not.
#[test]
fn a_stamp_from_the_future_is_taken_as_now() {
    use crate::sync::time::{CLOCK_SKEW_MS, believable};
    let org_now = 1_800_000_060_000;
    let m = mirror(Some("Registered"), Some("Registered"), 1_800_000_000_000);
    let forged = Observed {
        status: Some("Attended".into()),
        at: believable(Some(org_now + 365 * 86_400_000), org_now),
    };
    assert_eq!(forged.at, Some(org_now));
    let d = decide(Some(&m), Some(&forged), None, LWW, &StatusMap::default());
    assert_eq!(d, Decision::SetMarketo("Attended".into()));
    // The mirror after it holds the taken stamp.
    let after = MirrorRow {
        sf_status: Some("Attended".into()),
        mkto_status: Some("Attended".into()),
        sf_modstamp: forged.at,
        ..m
    };
    let delayed = seen(Some("No Show"), org_now - 30_000);
    let d = decide(
        Some(&after),
        Some(&delayed),
        None,
        LWW,
        &StatusMap::default(),
    );
    assert_eq!(
        d,
        Decision::Skip(STALE),
        "older than the forged one's arrival"
    );
    let later = seen(Some("No Show"), org_now + 2_000);
    let d = decide(Some(&after), Some(&later), None, LWW, &StatusMap::default());
    assert_eq!(d, Decision::SetMarketo("No Show".into()));
    // Within the skew, a stamp is believed as it is.
    assert_eq!(
        believable(Some(org_now + CLOCK_SKEW_MS), org_now),
        Some(org_now + CLOCK_SKEW_MS)
    );
}
