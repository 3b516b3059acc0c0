//! Conflicts in the sync worker end to end: the mapping's policy decides when both sides
//! changed, a change not yet heard of still wins under its side's policy, and a fresh change is
//! written without reading the other side unless the policy needs it.

use campaign_sync::config::ConflictPolicy;
use campaign_sync::store::OutcomeResult;

use crate::world::{Options, USER, World};

#[tokio::test]
async fn conflicts_follow_the_mapping_policy() {
    for (policy, expected) in [
        (ConflictPolicy::SalesforceWins, "No Show"),
        (ConflictPolicy::MarketoWins, "Attended"),
    ] {
        let world = World::with(Options {
            conflict_policy: policy,
            ..Options::default()
        })
        .await;
        let (lead, sf_lead, member) = world.synced_person("both@example.com", "Registered").await;
        // Both sides change before the service hears of either.
        world.sf.update_member(USER, &member, "No Show").unwrap();
        world.mk_sets(lead, "Attended");
        world.mk.deliver_webhooks_now().await;
        world.sf.deliver_outbound_now().await;
        // The simulator's background sender may hold the notification in flight: wait until
        // both signals are stored, so one round sees the conflict.
        world.wait_for_due_signals(2).await;
        world.settle().await;
        assert_eq!(
            world.sf_member_status(&sf_lead).as_deref(),
            Some(expected),
            "{policy:?}"
        );
    }
}

/// Both sides change; only Salesforce's notification arrives before the round (Marketo's
/// webhook is still queued). Salesforce moves forward, Marketo to an earlier status.
async fn split_conflict(policy: ConflictPolicy) -> (World, i64, String) {
    let world = World::with(Options {
        conflict_policy: policy,
        ..Options::default()
    })
    .await;
    let (lead, sf_lead, member) = world.synced_person("split@example.com", "Registered").await;
    world.mk_sets(lead, "No Show");
    world.sf.update_member(USER, &member, "Attended").unwrap();
    world.sf.deliver_outbound_now().await;
    world.wait_for_due_signals(1).await;
    (world, lead, sf_lead)
}

/// Marketo reads of program members the service made so far.
fn member_reads(world: &World) -> usize {
    world
        .mk
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/members.json"))
        .count()
}

#[tokio::test]
async fn a_marketo_change_whose_webhook_has_not_arrived_still_wins_under_marketo_wins() {
    let (world, lead, sf_lead) = split_conflict(ConflictPolicy::MarketoWins).await;
    world.app.worker.run_pending().await.unwrap();
    // Marketo was read before Salesforce's status was written over it.
    assert_eq!(world.mk_status(lead).as_deref(), Some("No Show"));
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("No Show"));
    // Marketo's webhook, arriving late, is then an echo.
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("No Show"));
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("No Show"));
}

/// Salesforce's change, then Marketo's later one; Salesforce's notification is processed
/// first and Marketo refuses its status (already past it). The status Marketo kept is its own
/// later change, not a move back: it wins, and Salesforce is set to it, before Marketo's own
/// signal arrives (or if it never does).
#[tokio::test]
async fn a_later_marketo_change_wins_when_the_earlier_salesforce_change_is_processed_first() {
    let world = World::new().await;
    let (lead, sf_lead, member) = world
        .synced_person("overtaken@example.com", "Registered")
        .await;
    // In this order; Marketo's stamp has whole seconds, so it may read as the same second,
    // which cannot be told apart from later and also goes to the status both sides can hold.
    world.sf.update_member(USER, &member, "No Show").unwrap();
    world.mk_sets(lead, "Attended");
    world.sf.deliver_outbound_now().await;
    world.wait_for_due_signals(1).await;
    world.app.worker.run_pending().await.unwrap();
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended"),
        "Marketo's later change reached Salesforce"
    );
    assert!(world.outcomes(OutcomeResult::Diverged).await.is_empty());
    let events = world.app.store.trigger_events(0, 50).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (last.new_status.as_deref(), last.actor),
        (Some("Attended"), campaign_sync::kinds::Actor::Marketo),
        "{events:?}"
    );
    // Marketo's webhook, arriving late, is then an echo.
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
}

#[tokio::test]
async fn a_fresh_salesforce_change_is_written_without_reading_marketo_unless_marketo_wins() {
    // Under salesforce_wins the read could change nothing; under last-writer-wins a change
    // seconds old is written unread (a bulk load keeps one Marketo call per 300 changes).
    for policy in [
        ConflictPolicy::SalesforceWins,
        ConflictPolicy::LastWriterWins,
    ] {
        let (world, lead, sf_lead) = split_conflict(policy).await;
        let reads = member_reads(&world);
        world.app.worker.run_pending().await.unwrap();
        assert_eq!(member_reads(&world), reads, "{policy:?}: no read");
        assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
        world.settle().await;
        assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
        assert_eq!(
            world.sf_member_status(&sf_lead).as_deref(),
            Some("Attended")
        );
    }
}

#[tokio::test]
async fn a_salesforce_change_whose_notification_has_not_arrived_still_wins_under_salesforce_wins() {
    use crate::world::INBOUND_TOKEN;
    let world = World::with(Options {
        conflict_policy: ConflictPolicy::SalesforceWins,
        ..Options::default()
    })
    .await;
    let (lead, sf_lead, member) = world.synced_person("held@example.com", "Registered").await;
    // Salesforce's notification cannot reach the service for now (it retries later).
    world
        .sf
        .set_outbound_endpoint("http://127.0.0.1:9/unreachable");
    world.sf.update_member(USER, &member, "No Show").unwrap();
    world.mk_sets(lead, "Attended");
    world.mk.deliver_webhooks_now().await;
    world.wait_for_due_signals(1).await;
    world.app.worker.run_pending().await.unwrap();
    // Salesforce was read before Marketo's status was written over it: its change wins (and
    // Marketo, already past it, keeps its own: diverged).
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("No Show"));
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    world.sf.set_outbound_endpoint(&world.app.url(&format!(
        "/v1/salesforce/outbound-messages?token={INBOUND_TOKEN}"
    )));
    world.settle().await;
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("No Show"));
}

/// Under last-writer-wins a fresh Marketo change reads Salesforce before it is written there:
/// a Salesforce user's later change whose notification has not arrived (and would carry our
/// own write once it does) still wins.
#[tokio::test]
async fn a_later_salesforce_change_not_yet_heard_of_is_not_overwritten_by_a_fresh_marketo_one() {
    use crate::world::INBOUND_TOKEN;
    let world = World::new().await;
    let (lead, sf_lead, member) = world
        .synced_person("later.sf@example.com", "Registered")
        .await;
    world
        .sf
        .set_outbound_endpoint("http://127.0.0.1:9/unreachable");
    world.mk_sets(lead, "No Show");
    world.sf.update_member(USER, &member, "Attended").unwrap();
    world.mk.deliver_webhooks_now().await;
    world.wait_for_due_signals(1).await;
    world.app.worker.run_pending().await.unwrap();
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended"),
        "the later Salesforce change stands"
    );
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    world.sf.set_outbound_endpoint(&world.app.url(&format!(
        "/v1/salesforce/outbound-messages?token={INBOUND_TOKEN}"
    )));
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
}

#[tokio::test]
async fn a_fresh_marketo_change_is_written_without_reading_salesforce_under_marketo_wins() {
    for policy in [ConflictPolicy::MarketoWins] {
        let world = World::with(Options {
            conflict_policy: policy,
            ..Options::default()
        })
        .await;
        let (lead, sf_lead) = world.person("fresh-mk@example.com");
        world.mk_sets(lead, "Registered");
        world.settle().await;
        let queries = soql_reads(&world);
        world.mk_sets(lead, "Attended");
        world.settle().await;
        assert_eq!(soql_reads(&world), queries, "{policy:?}: no read");
        assert_eq!(
            world.sf_member_status(&sf_lead).as_deref(),
            Some("Attended")
        );
    }
}

/// SOQL queries the service sent Salesforce so far.
fn soql_reads(world: &World) -> usize {
    world
        .sf
        .requests()
        .iter()
        .filter(|r| {
            r.client.as_deref() == Some(crate::world::INTEGRATION) && r.path.contains("/query")
        })
        .count()
}

#[tokio::test]
async fn a_first_change_for_someone_never_synced_is_written_without_a_conflict_read() {
    let world = World::with(Options {
        conflict_policy: ConflictPolicy::SalesforceWins,
        ..Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("first@example.com");
    // Already in the campaign before the service knew them (no outbound message, no mirror).
    world.sf_adds_unheard(&sf_lead, "Invited");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered"),
        "no last sync, so no conflict: the Marketo change is written"
    );
}
