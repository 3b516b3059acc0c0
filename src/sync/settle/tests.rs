//! Table tests: which mirror row, target and trigger events each ended write produces.

use super::*;

pub(super) fn mirror(sf: Option<&str>, mk: Option<&str>) -> MirrorRow {
    MirrorRow {
        mapping: "m".into(),
        person: "p".into(),
        sf_member_id: sf.map(|_| "00v000000000001".into()),
        sf_status: sf.map(str::to_string),
        mkto_status: mk.map(str::to_string),
        sf_modstamp: Some(100),
        ..MirrorRow::default()
    }
}

pub(super) fn ended<'a>(
    mirror: Option<&'a MirrorRow>,
    decision: &'a Decision,
    done: &'a Done,
    actor: Actor,
) -> Ended<'a> {
    Ended {
        mirror,
        salesforce: None,
        marketo: None,
        decision,
        done,
        reset: None,
        sf_written_at: None,
        was_member: false,
        actor,
        member_id: None,
        person_id: Some("00Q000000000001"),
        lead_id: Some(7),
    }
}

#[test]
fn applied_writes_move_the_mirror_and_emit_one_event() {
    let set_mk = Decision::SetMarketo("Attended".into());
    let rm_mk = Decision::RemoveFromMarketo;
    let set_sf = Decision::SetSalesforce("Attended".into());
    let rm_sf = Decision::RemoveFromSalesforce;
    let both = mirror(Some("Registered"), Some("Registered"));
    type Case<'a> = (
        &'a Decision,
        Option<&'a MirrorRow>,
        TriggerKind,
        Option<&'a str>,
        Option<&'a str>,
    );
    let cases: [Case<'_>; 6] = [
        (
            &set_mk,
            None,
            TriggerKind::AddedToProgram,
            None,
            Some("Attended"),
        ),
        (
            &set_mk,
            Some(&both),
            TriggerKind::ProgramStatusChanged,
            Some("Registered"),
            Some("Attended"),
        ),
        (
            &rm_mk,
            Some(&both),
            TriggerKind::RemovedFromProgram,
            Some("Registered"),
            None,
        ),
        (
            &set_sf,
            None,
            TriggerKind::AddedToCampaign,
            None,
            Some("Attended"),
        ),
        (
            &set_sf,
            Some(&both),
            TriggerKind::CampaignStatusChanged,
            Some("Registered"),
            Some("Attended"),
        ),
        (
            &rm_sf,
            Some(&both),
            TriggerKind::RemovedFromCampaign,
            Some("Registered"),
            None,
        ),
    ];
    for (decision, old, kind, old_status, new_status) in cases {
        let done = Done::Applied;
        let out = settle("m", "p", ended(old, decision, &done, Actor::Marketo), 5);
        assert_eq!(out.events.len(), 1, "{decision:?}");
        let event = &out.events[0];
        assert_eq!(event.kind, kind);
        assert_eq!(event.old_status.as_deref(), old_status);
        assert_eq!(event.new_status.as_deref(), new_status);
        assert_eq!(event.actor, Actor::Marketo);
        assert_eq!(out.row.synced_at, 5);
        assert_eq!(out.row.mkto_lead_id, Some(7));
        match decision {
            Decision::SetMarketo(s) => assert_eq!(out.row.mkto_status.as_ref(), Some(s)),
            Decision::RemoveFromMarketo => assert_eq!(out.row.mkto_status, None),
            Decision::SetSalesforce(s) => assert_eq!(out.row.sf_status.as_ref(), Some(s)),
            Decision::RemoveFromSalesforce => {
                assert_eq!(out.row.sf_status, None);
                assert_eq!(out.row.sf_member_id, None, "a removed member keeps no id");
            }
            Decision::Skip(_) => unreachable!(),
        }
    }
}

#[test]
fn skips_and_divergences_emit_nothing() {
    let both = mirror(Some("Registered"), Some("Attended"));
    let cases = [
        (
            Decision::Skip("echo"),
            Done::Skipped("echo".into()),
            Target::NONE,
        ),
        (
            Decision::SetMarketo("Registered".into()),
            Done::Diverged("1037".into()),
            Target::new(Connector::Marketo, Action::SetStatus),
        ),
        (
            Decision::RemoveFromSalesforce,
            Done::Skipped("already gone".into()),
            Target::new(Connector::Salesforce, Action::RemoveMember),
        ),
    ];
    for (decision, done, target) in cases {
        let out = settle(
            "m",
            "p",
            ended(Some(&both), &decision, &done, Actor::Salesforce),
            1,
        );
        assert!(out.events.is_empty(), "{decision:?}");
        assert_eq!(out.target, target);
    }
}

#[test]
fn stale_observations_do_not_move_the_mirror_back() {
    let old = mirror(Some("Attended"), Some("Attended"));
    let stale = Observed {
        status: Some("Registered".into()),
        at: Some(50),
    };
    let decision = Decision::Skip("stale");
    let done = Done::Skipped("stale".into());
    let mut input = ended(Some(&old), &decision, &done, Actor::Salesforce);
    input.salesforce = Some(&stale);
    let out = settle("m", "p", input, 1);
    assert_eq!(out.row.sf_status.as_deref(), Some("Attended"));
    assert_eq!(out.row.sf_modstamp, Some(100));
}

/// The event's old status is what the written side showed before the write, when the round
/// observed it: a first reconciliation (no mirror) that moves an existing member records a
/// status change, and a side that turned out not to hold the person records an addition.
#[test]
fn the_old_status_is_what_the_written_side_showed() {
    let observed = |status: Option<&str>, at| Observed {
        status: status.map(str::to_string),
        at,
    };
    let invited = observed(Some("Invited"), Some(200));
    let none = observed(None, Some(200));
    let stale = observed(Some("Registered"), Some(50));
    let set_sf = Decision::SetSalesforce("Attended".into());
    let set_mk = Decision::SetMarketo("Attended".into());
    let done = Done::Applied;
    let gone = mirror(Some("Registered"), Some("Registered"));
    type Case<'a> = (
        &'a Decision,
        Option<&'a MirrorRow>,
        &'a Observed,
        TriggerKind,
        Option<&'a str>,
    );
    let cases: [Case<'_>; 6] = [
        (
            &set_sf,
            None,
            &invited,
            TriggerKind::CampaignStatusChanged,
            Some("Invited"),
        ),
        (
            &set_mk,
            None,
            &invited,
            TriggerKind::ProgramStatusChanged,
            Some("Invited"),
        ),
        (
            &set_sf,
            Some(&gone),
            &none,
            TriggerKind::AddedToCampaign,
            None,
        ),
        (
            &set_mk,
            Some(&gone),
            &none,
            TriggerKind::AddedToProgram,
            None,
        ),
        // Older than what the mirror saw: the mirror's status stands.
        (
            &set_sf,
            Some(&gone),
            &stale,
            TriggerKind::CampaignStatusChanged,
            Some("Registered"),
        ),
        (&set_mk, None, &none, TriggerKind::AddedToProgram, None),
    ];
    for (decision, mirror, seen, kind, old_status) in cases {
        let mut input = ended(mirror, decision, &done, Actor::Marketo);
        match decision {
            Decision::SetSalesforce(_) => input.salesforce = Some(seen),
            _ => input.marketo = Some(seen),
        }
        let out = settle("m", "p", input, 5);
        assert_eq!(out.events.len(), 1, "{decision:?} {mirror:?} {seen:?}");
        assert_eq!(out.events[0].kind, kind, "{decision:?} {mirror:?} {seen:?}");
        assert_eq!(out.events[0].old_status.as_deref(), old_status);
        assert_eq!(out.events[0].new_status.as_deref(), Some("Attended"));
    }
}

#[test]
fn our_applied_salesforce_write_moves_the_salesforce_stamp_up_to_its_time() {
    let row = mirror(Some("Registered"), Some("Registered"));
    let set_sf = Decision::SetSalesforce("Attended".into());
    let set_mk = Decision::SetMarketo("Attended".into());
    let applied = Done::Applied;
    let skipped = Done::Skipped("echo".into());
    let cases = [
        (&set_sf, &applied, Some(500), Some(500)),
        (&set_sf, &applied, Some(50), Some(100)),
        (&set_sf, &applied, None, Some(100)),
        (&set_sf, &skipped, Some(500), Some(100)),
        (&set_mk, &applied, Some(500), Some(100)),
    ];
    for (decision, done, written_at, stamp) in cases {
        let mut input = ended(Some(&row), decision, done, Actor::Marketo);
        input.sf_written_at = written_at;
        let settled = settle("m", "p", input, 1_000);
        assert_eq!(
            settled.row.sf_modstamp, stamp,
            "{decision:?} {done:?} written at {written_at:?}"
        );
    }
}

/// A first sync of someone already a member on the side written: Marketo answered `updated`
/// (a status change from a status nobody read), and a Salesforce member the write found
/// (its status observed): neither is an addition.
#[test]
fn a_write_that_found_a_member_is_a_status_change() {
    let set_mk = Decision::SetMarketo("Attended".into());
    let done = Done::Applied;
    let mut found = ended(None, &set_mk, &done, Actor::Salesforce);
    found.was_member = true;
    let out = settle("m", "p", found, 5);
    assert_eq!(out.events[0].kind, TriggerKind::ProgramStatusChanged);
    assert_eq!(out.events[0].old_status, None);

    let set_sf = Decision::SetSalesforce("Attended".into());
    let seen = Observed {
        status: Some("Invited".into()),
        at: Some(50),
    };
    let mut found = ended(None, &set_sf, &done, Actor::Marketo);
    found.salesforce = Some(&seen);
    let out = settle("m", "p", found, 5);
    assert_eq!(out.events[0].kind, TriggerKind::CampaignStatusChanged);
    assert_eq!(out.events[0].old_status.as_deref(), Some("Invited"));
    assert_eq!(out.row.sf_status.as_deref(), Some("Attended"));
}

#[test]
fn both_sides_moved_alike_is_the_change_reaching_the_later_side() {
    let in_sync = Decision::Skip(crate::sync::IN_SYNC);
    let done = Done::Skipped(crate::sync::IN_SYNC.into());
    let row = mirror(Some("Registered"), Some("Registered"));
    let at = |status: Option<&str>, at: i64| Observed {
        status: status.map(str::to_string),
        at: Some(at),
    };
    // Marketo's user at 1000, our lost write landing in Salesforce at 2000.
    let (sf, mk) = (at(Some("Attended"), 2000), at(Some("Attended"), 1000));
    let mut round = ended(Some(&row), &in_sync, &done, Actor::Salesforce);
    round.salesforce = Some(&sf);
    round.marketo = Some(&mk);
    let settled = settle("m", "p", round, 5);
    assert_eq!(
        settled.events,
        [Event {
            kind: TriggerKind::CampaignStatusChanged,
            old_status: Some("Registered".into()),
            new_status: Some("Attended".into()),
            actor: Actor::Marketo,
        }]
    );
    assert_eq!(settled.row.sf_status.as_deref(), Some("Attended"));
    // The other way: Salesforce first, so the change reached Marketo; a removal from both.
    let (sf, mk) = (at(None, 1000), at(None, 3000));
    round.salesforce = Some(&sf);
    round.marketo = Some(&mk);
    let events = settle("m", "p", round, 5).events;
    assert_eq!(
        (
            events[0].kind,
            events[0].actor,
            events[0].new_status.clone()
        ),
        (TriggerKind::RemovedFromProgram, Actor::Salesforce, None)
    );
    // Only one side moved (the other already showed it at the last sync), or the Salesforce
    // notification is older than the last sync: nothing happened now.
    let mk_same = at(Some("Registered"), 3000);
    round.marketo = Some(&mk_same);
    assert!(settle("m", "p", round, 5).events.is_empty());
    let stale = at(Some("Attended"), 50);
    round.salesforce = Some(&stale);
    round.marketo = Some(&mk);
    assert!(settle("m", "p", round, 5).events.is_empty());
    round.mirror = None;
    round.salesforce = Some(&sf);
    assert!(settle("m", "p", round, 5).events.is_empty(), "never synced");
}
