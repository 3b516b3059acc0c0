//! A change the other side's change won over: recorded as overruled on its own signal (or on
//! none, when the round read it from its side before its signal came), naming the winner and
//! the rule, and counted apart in `/admin/status`.

use campaign_sync::config::ConflictPolicy;
use campaign_sync::store::{NamedOutcome, OutcomeResult, Timeline};

use crate::world::{INTEGRATION, Options, USER, World};

const TOKEN: &str = "operator-token";

async fn world(policy: ConflictPolicy) -> World {
    World::with(Options {
        conflict_policy: policy,
        admin_token: Some(TOKEN.into()),
        ..Options::default()
    })
    .await
}

/// The person's timeline, found through their one overruled outcome.
async fn overruled_timeline(world: &World) -> (NamedOutcome, Timeline) {
    let skipped = world.outcomes(OutcomeResult::Skipped).await;
    let lost: Vec<_> = skipped
        .iter()
        .filter(|o| {
            o.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("overruled:"))
        })
        .collect();
    assert_eq!(lost.len(), 1, "one overruled change: {skipped:?}");
    let person: i64 = lost[0].person.as_deref().unwrap().parse().unwrap();
    let timeline = world
        .app
        .store
        .timeline(person, 50)
        .await
        .unwrap()
        .expect("the person");
    let outcome = timeline
        .outcomes
        .iter()
        .find(|o| o.id == lost[0].id)
        .expect("in the person's timeline")
        .clone();
    (outcome, timeline)
}

/// The kind of the delivery a signal id names in the timeline.
fn kind_of(timeline: &Timeline, signal: Option<i64>) -> Option<&str> {
    let signal = signal?;
    let delivery = timeline.deliveries.iter().find(|d| d.id == signal)?;
    Some(delivery.kind.as_str())
}

async fn overruled_last_hour(world: &World) -> i64 {
    let (_, status) = world
        .app
        .admin(reqwest::Method::GET, "/admin/status", TOKEN)
        .await;
    status["mappings"][0]["changes"]["lastHour"]["overruled"]
        .as_i64()
        .unwrap_or_else(|| panic!("an overruled count: {status}"))
}

#[tokio::test]
async fn a_change_the_policy_overrules_is_recorded_on_its_signal_naming_the_winner() {
    let world = world(ConflictPolicy::SalesforceWins).await;
    let (lead, sf_lead, member) = world.synced_person("both@example.com", "Registered").await;
    world.sf.update_member(USER, &member, "Attended").unwrap();
    world.mk_sets(lead, "No Show");
    world.mk.deliver_webhooks_now().await;
    world.sf.deliver_outbound_now().await;
    world.wait_for_due_signals(2).await;
    world.app.worker.run_pending().await.unwrap();
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));

    let (lost, timeline) = overruled_timeline(&world).await;
    assert_eq!(
        lost.reason.as_deref(),
        Some(
            "overruled: Salesforce change to \"Attended\" wins over this Marketo change to \
             \"No Show\" (the mapping's conflict policy is salesforce_wins); not written"
        )
    );
    assert_eq!(lost.mapping.as_deref(), Some("webinar"));
    assert_eq!(
        kind_of(&timeline, lost.signal_id),
        Some("marketo_member"),
        "on the losing side's signal"
    );
    let applied = world.outcomes(OutcomeResult::Applied).await;
    let write = applied.last().unwrap();
    assert_eq!(
        write.reason.as_deref(),
        Some("set the program status to Attended")
    );
    assert_eq!(
        kind_of(&timeline, write.signal_id),
        Some("salesforce_member"),
        "the write goes with the winning side's signal"
    );
    assert_eq!(overruled_last_hour(&world).await, 1);
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
}

#[tokio::test]
async fn a_change_whose_own_round_finds_a_winner_on_the_other_side_is_overruled() {
    let world = world(ConflictPolicy::MarketoWins).await;
    let (lead, sf_lead, member) = world.synced_person("split@example.com", "Registered").await;
    // Marketo's webhook waits; only Salesforce's notification reaches the round, which reads
    // Marketo first under marketo_wins.
    world.mk_sets(lead, "No Show");
    world.sf.update_member(USER, &member, "Attended").unwrap();
    world.sf.deliver_outbound_now().await;
    world.wait_for_due_signals(1).await;
    world.app.worker.run_pending().await.unwrap();
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("No Show"));

    let (lost, timeline) = overruled_timeline(&world).await;
    assert!(
        lost.reason.as_deref().unwrap().starts_with(
            "overruled: Marketo change to \"No Show\" wins over this Salesforce change to \
             \"Attended\" (the mapping's conflict policy is marketo_wins)"
        ),
        "{lost:?}"
    );
    assert_eq!(
        kind_of(&timeline, lost.signal_id),
        Some("salesforce_member")
    );
    // Marketo's webhook, arriving late, changes nothing and overrules nothing more.
    world.settle().await;
    overruled_timeline(&world).await;
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("No Show"));
}

#[tokio::test]
async fn a_losing_change_read_before_its_signal_came_is_recorded_without_one() {
    let world = world(ConflictPolicy::LastWriterWins).await;
    let (lead, sf_lead, member) = world.synced_person("race@example.com", "Registered").await;
    // A Salesforce change the service has not heard of (no outbound message for this user),
    // then a Marketo change a second later (both sides stamp whole seconds).
    world
        .sf
        .update_member(INTEGRATION, &member, "No Show")
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    world.mk_sets(lead, "Attended");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );

    let (lost, _) = overruled_timeline(&world).await;
    let reason = lost.reason.as_deref().unwrap();
    assert!(
        reason.starts_with(
            "overruled: Marketo change to \"Attended\" wins over this Salesforce change to \
             \"No Show\" (last-writer-wins: made at "
        ),
        "{reason}"
    );
    assert_eq!(lost.signal_id, None, "{lost:?}");
    assert_eq!(lost.email.as_deref(), Some("race@example.com"));
    assert_eq!(overruled_last_hour(&world).await, 1);
}

#[tokio::test]
async fn a_conflict_both_sides_settle_alike_overrules_nothing() {
    let world = world(ConflictPolicy::LastWriterWins).await;
    let (lead, _, member) = world.synced_person("alike@example.com", "Registered").await;
    world.sf.update_member(USER, &member, "Attended").unwrap();
    world.mk_sets(lead, "Attended");
    world.settle().await;
    assert_eq!(overruled_last_hour(&world).await, 0);
    assert!(
        world
            .outcomes(OutcomeResult::Skipped)
            .await
            .iter()
            .all(|o| !o.reason.as_deref().unwrap_or("").starts_with("overruled")),
        "both sides hold the same status: nobody lost"
    );
}

/// One losing change brought by two signals (the outbound message and the change feed) is
/// overruled once: the first signal says so, and the count is one.
#[tokio::test]
async fn a_losing_change_brought_twice_is_overruled_once() {
    let world = world(ConflictPolicy::MarketoWins).await;
    let (lead, _, member) = world.synced_person("twice@example.com", "Registered").await;
    // The change feed's first read only sets its cursor (to the next second): a few seconds
    // back, so the change below is after it.
    let before = campaign_sync::store::now_millis() - 5_000;
    world
        .app
        .worker
        .read_salesforce_changes_at(before)
        .await
        .unwrap();
    world.sf.update_member(USER, &member, "Attended").unwrap();
    world.mk_sets(lead, "No Show");
    world.mk.deliver_webhooks_now().await;
    world.sf.deliver_outbound_now().await;
    world.wait_for_due_signals(2).await;
    world.app.worker.read_salesforce_changes().await.unwrap();
    world.app.worker.run_pending().await.unwrap();
    let (lost, timeline) = overruled_timeline(&world).await;
    let salesforce = timeline
        .deliveries
        .iter()
        .filter(|d| d.kind == "salesforce_member" && d.state == "done")
        .count();
    assert_eq!(salesforce, 2, "the change, brought twice: {timeline:?}");
    assert_eq!(
        kind_of(&timeline, lost.signal_id),
        Some("salesforce_member")
    );
    assert_eq!(overruled_last_hour(&world).await, 1);
}

/// Salesforce's change that Marketo refused for its own later one (1037, then Salesforce set
/// to Marketo's status) is overruled too, on its own signal.
#[tokio::test]
async fn a_salesforce_change_marketo_keeps_its_own_over_is_overruled() {
    let world = world(ConflictPolicy::LastWriterWins).await;
    let (lead, sf_lead, member) = world.synced_person("kept@example.com", "Registered").await;
    world.sf.update_member(USER, &member, "No Show").unwrap();
    world.mk_sets(lead, "Attended");
    world.sf.deliver_outbound_now().await;
    world.wait_for_due_signals(1).await;
    world.app.worker.run_pending().await.unwrap();
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
    let (lost, timeline) = overruled_timeline(&world).await;
    let reason = lost.reason.as_deref().unwrap();
    assert!(
        reason.starts_with("overruled: Marketo's own change wins")
            && reason.ends_with("this Salesforce change to \"No Show\" is not written"),
        "{reason}"
    );
    assert_eq!(
        kind_of(&timeline, lost.signal_id),
        Some("salesforce_member")
    );
}

/// The Marketo change is tried, meets the deleted member and waits to be retried; a minute on,
/// the deletion is polled and settled.
async fn waits_then_the_deletion_is_polled(world: &World) {
    world.settle().await;
    let now = campaign_sync::store::now_millis();
    let waiting = world.app.store.backlog(now).await.unwrap();
    assert_eq!(waiting.retrying, 1, "the Marketo change waits: {waiting:?}");
    world.sf.advance_clock(std::time::Duration::from_secs(61));
    world
        .app
        .worker
        .poll_deleted_at(world.sf.now())
        .await
        .unwrap();
    world.settle().await;
}

/// A Marketo change met its member deleted in Salesforce and waits to be retried; the deletion,
/// made later and polled meanwhile, wins. The waiting signal takes the overruled outcome and
/// ends with it, rather than the outcome standing alone and the retry ending as an echo.
#[tokio::test]
async fn a_losing_change_whose_signal_waits_to_be_retried_is_recorded_on_it() {
    let world = world(ConflictPolicy::LastWriterWins).await;
    let (lead, sf_lead, member) = world
        .synced_person("waiting@example.com", "Registered")
        .await;
    world.mk_sets(lead, "Attended");
    world.sf.advance_clock(std::time::Duration::from_secs(5));
    world.sf.delete_member(USER, &member).unwrap();
    waits_then_the_deletion_is_polled(&world).await;
    assert_eq!(world.mk_status(lead), None, "the later deletion wins");
    assert_eq!(world.sf_member_status(&sf_lead), None);

    let (lost, timeline) = overruled_timeline(&world).await;
    let reason = lost.reason.as_deref().unwrap();
    assert!(
        reason.starts_with(
            "overruled: Salesforce removal from the campaign wins over this Marketo change to \
             \"Attended\" (last-writer-wins: made at "
        ),
        "{reason}"
    );
    assert_eq!(kind_of(&timeline, lost.signal_id), Some("marketo_member"));
    let signal = timeline
        .deliveries
        .iter()
        .find(|d| Some(d.id) == lost.signal_id)
        .unwrap();
    assert_eq!(signal.state, "done", "{signal:?}");
    let on_it: Vec<_> = timeline
        .outcomes
        .iter()
        .filter(|o| o.signal_id == lost.signal_id)
        .collect();
    // The signal row is the person's one for the program (its first change synced earlier):
    // the overrule is its last word, no echo after it.
    assert_eq!(on_it[0].id, lost.id, "{on_it:?}");
    let skipped = world.outcomes(OutcomeResult::Skipped).await;
    assert_eq!(skipped.len(), 1, "the overrule alone: {skipped:?}");
    assert_eq!(overruled_last_hour(&world).await, 1);
}

/// Under marketo_wins a Marketo change met its member deleted and waits to be retried; the
/// deletion, polled meanwhile, loses to it. The write adding the person back goes with the
/// waiting Marketo signal, which ends with it; the deletion's signal is the one overruled.
#[tokio::test]
async fn the_winning_write_goes_with_the_winners_signal_waiting_to_be_retried() {
    let world = World::with(Options {
        conflict_policy: ConflictPolicy::MarketoWins,
        admin_token: Some(TOKEN.into()),
        configure: |c| c.worker.retry_schedule_secs = vec![3600; 3],
        ..Options::default()
    })
    .await;
    let (lead, sf_lead, member) = world.synced_person("anew@example.com", "Registered").await;
    world.sf.delete_member(USER, &member).unwrap();
    world.mk_sets(lead, "Attended");
    waits_then_the_deletion_is_polled(&world).await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );

    let (lost, timeline) = overruled_timeline(&world).await;
    assert_eq!(
        kind_of(&timeline, lost.signal_id),
        Some("salesforce_member_deleted"),
        "{lost:?}"
    );
    let applied = world.outcomes(OutcomeResult::Applied).await;
    let write = applied.last().unwrap();
    assert_eq!(
        kind_of(&timeline, write.signal_id),
        Some("marketo_member"),
        "{write:?}"
    );
    let now = campaign_sync::store::now_millis();
    let backlog = world.app.store.backlog(now).await.unwrap();
    assert_eq!(backlog.retrying, 0, "{backlog:?}");
    let skipped = world.outcomes(OutcomeResult::Skipped).await;
    assert_eq!(
        skipped.len(),
        1,
        "no echo of the Marketo change: {skipped:?}"
    );
}

/// Under last-writer-wins a later Salesforce move back wins over an earlier Marketo change,
/// Marketo refuses it (1037) and Salesforce keeps it: diverged on Salesforce's signal, and the
/// Marketo change, never written to Salesforce, overruled on its own.
#[tokio::test]
async fn a_winning_move_back_marketo_refuses_still_overrules_the_marketo_change() {
    let world = world(ConflictPolicy::LastWriterWins).await;
    let (lead, sf_lead, member) = world.synced_person("back@example.com", "Registered").await;
    world.mk_sets(lead, "Attended");
    world.mk.deliver_webhooks_now().await;
    world.sf.advance_clock(std::time::Duration::from_secs(2));
    world.sf.update_member(USER, &member, "No Show").unwrap();
    world.sf.deliver_outbound_now().await;
    world.wait_for_due_signals(2).await;
    world.app.worker.run_pending().await.unwrap();
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("No Show"));

    let (lost, timeline) = overruled_timeline(&world).await;
    let reason = lost.reason.as_deref().unwrap();
    assert!(
        reason.starts_with(
            "overruled: Salesforce change to \"No Show\" wins over this Marketo change to \
             \"Attended\" (last-writer-wins"
        ),
        "{reason}"
    );
    assert_eq!(kind_of(&timeline, lost.signal_id), Some("marketo_member"));
    let diverged = world.outcomes(OutcomeResult::Diverged).await;
    assert_eq!(diverged.len(), 1, "{diverged:?}");
    assert_eq!(
        kind_of(&timeline, diverged[0].signal_id),
        Some("salesforce_member"),
        "the refused write goes with the winning side's signal"
    );
    assert_eq!(overruled_last_hour(&world).await, 1);
}

/// Under salesforce_wins, a Salesforce deletion wins over a Marketo change made after it: the
/// Marketo change met its member deleted and waits to be retried, and once the deletion is
/// polled its signal takes the overruled outcome (it ended as an echo of our own write).
#[tokio::test]
async fn under_salesforce_wins_a_deletion_overrules_a_later_marketo_change_waiting_to_retry() {
    let world = world(ConflictPolicy::SalesforceWins).await;
    let (lead, sf_lead, member) = world
        .synced_person("sfwins@example.com", "Registered")
        .await;
    world.sf.delete_member(USER, &member).unwrap();
    world.sf.advance_clock(std::time::Duration::from_secs(1));
    world.mk_sets(lead, "Attended");
    waits_then_the_deletion_is_polled(&world).await;
    assert_eq!(world.mk_status(lead), None, "the deletion wins by policy");
    assert_eq!(world.sf_member_status(&sf_lead), None);
    let (lost, _) = overruled_timeline(&world).await;
    let reason = lost.reason.as_deref().unwrap();
    assert!(
        reason.starts_with(
            "overruled: Salesforce removal from the campaign wins over this Marketo change to \
             \"Attended\" (the mapping's conflict policy is salesforce_wins)"
        ),
        "{reason}"
    );
    assert_eq!(overruled_last_hour(&world).await, 1);
}
