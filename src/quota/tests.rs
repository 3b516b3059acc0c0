//! The daily count and pause of each side, one process at a time.

use super::*;

/// 2026-12-01T05:59:59Z is 23:59:59 CST on 30 November: the reset is one second later.
#[test]
fn marketo_resets_at_central_midnight() {
    let just_before = 1_796_104_799_000;
    assert_eq!(next_marketo_reset(just_before), just_before + 1_000);
    assert_eq!(
        next_marketo_reset(just_before + 1_000),
        just_before + 1_000 + DAY_MS
    );
}

#[test]
fn a_used_up_budget_pauses_until_reset_and_scheduled_work_yields_first() {
    let side = SideQuota::new("marketo", next_marketo_reset);
    side.set_budget(10);
    let now = 1_796_104_700_000;
    for _ in 0..7 {
        side.admit(now).unwrap();
        side.count(now);
    }
    assert!(side.scheduled_may_run(now));
    assert_eq!(side.scheduled_held(now), None);
    side.count(now);
    assert!(
        !side.scheduled_may_run(now),
        "80% used: scheduled work yields"
    );
    let held = side
        .scheduled_held(now)
        .expect("says why scheduled work waits");
    assert!(
        held.starts_with("8 of daily_call_budget 10 used today"),
        "{held}"
    );
    side.admit(now).unwrap();
    side.count(now);
    side.count(now);
    let refused = side.admit(now).unwrap_err();
    assert_eq!(side.scheduled_held(now), None, "paused: the pause says it");
    assert!(
        matches!(refused, CallError::Paused { until_ms, .. } if until_ms == next_marketo_reset(now))
    );
    let after_reset = next_marketo_reset(now);
    assert!(side.paused(after_reset).is_none());
    assert!(side.take_ended(after_reset) && !side.take_ended(after_reset));
    assert_eq!(side.used(after_reset), 0, "a new day counts from zero");
    side.admit(after_reset).unwrap();
}

/// A restart with a larger budget (or none) does not take on the pause the smaller one met;
/// with the same budget it does.
#[test]
fn a_budget_pause_is_not_taken_on_under_a_larger_budget() {
    let now = 1_796_104_700_000;
    let before = SideQuota::new("marketo", next_marketo_reset);
    before.set_budget(3);
    for _ in 0..3 {
        before.admit(now).unwrap();
        before.count(now);
    }
    assert!(before.admit(now).is_err(), "used up: paused");
    let shared = before.report(now);
    for (budget, paused) in [(3, true), (100, false), (0, false)] {
        let after = SideQuota::new("marketo", next_marketo_reset);
        after.set_budget(budget);
        after.adopt(now, &shared);
        assert_eq!(after.paused(now).is_some(), paused, "budget {budget}");
        assert_eq!(after.used(now), 3, "the day's calls still count");
    }
}

#[test]
fn a_longer_pause_is_kept_and_ending_it_early_counts_as_ended() {
    let side = SideQuota::new("salesforce", next_utc_day);
    side.pause(5_000, "first");
    side.pause(3_000, "shorter");
    assert_eq!(side.paused(1_000).unwrap().until_ms, 5_000);
    assert_eq!(side.paused(1_000).unwrap().reason, "first");
    side.end_pause(1_000);
    assert!(side.paused(1_000).is_none());
    assert!(side.take_ended(1_000), "postponed changes are made due");
}

/// Subscribers hear of each pause once, and of a pause met again after an admin lifted one,
/// though it ends at the same reset.
#[test]
fn a_pause_met_again_after_a_lift_is_announced_again() {
    let side = SideQuota::new("marketo", next_marketo_reset);
    let now = 1_796_104_700_000;
    let reset = next_marketo_reset(now);
    side.pause(reset, "Marketo 607: Daily quota reached");
    assert_eq!(side.unannounced(now).map(|p| p.until_ms), Some(reset));
    assert!(side.unannounced(now + 1).is_none(), "announced once");
    side.end_pause(now + 2);
    assert!(side.unannounced(now + 3).is_none(), "lifted");
    side.pause(reset, "Marketo 607: Daily quota reached");
    assert_eq!(
        side.unannounced(now + 4).map(|p| p.until_ms),
        Some(reset),
        "met again after the lift"
    );
}
