//! A round whose leases cannot be renewed (the database unreachable or locked) stops before
//! another replica would count them abandoned: its calls in flight are dropped and nothing more
//! is written, so the replica taking over does not write the same change a second time.

use std::time::Duration;

use serde_json::json;

use crate::world::{INTEGRATION, World};

/// Salesforce write calls the service made so far.
fn salesforce_writes(world: &World) -> usize {
    world.writes().0
}

#[tokio::test]
async fn a_round_that_cannot_renew_its_leases_stops_before_writing() {
    let world = World::new().await;
    let (lead, sf_lead, _) = world
        .synced_person("fenced@example.com", "Registered")
        .await;
    world.mk_sets(lead, "Attended");
    world.mk.deliver_webhooks_now().await;
    world.wait_for_due_signals(1).await;
    // Salesforce answers slowly: the round's read of the campaign before writing is in flight
    // when its hold lapses.
    world
        .sf_fault(json!({ "latency_ms": 15_000, "seconds": 60 }))
        .await;
    let writes_before = salesforce_writes(&world);

    let worker = world.app.worker.clone();
    let round = tokio::spawn(async move { worker.run_pending().await });
    // Once the signal is claimed, another connection takes the database's write lock: the
    // round's renewals wait on it, as on a database gone away.
    let store = world.app.store.clone();
    for _ in 0..500 {
        let backlog = store
            .backlog(campaign_sync::store::now_millis())
            .await
            .unwrap();
        if backlog.in_progress == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let path = world.db_url.trim_start_matches("sqlite://");
    let path = path.split('?').next().unwrap().to_string();
    let (locked, unlock) = std::sync::mpsc::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch("BEGIN EXCLUSIVE").unwrap();
        locked.send(()).unwrap();
        released.recv().unwrap();
        db.execute_batch("COMMIT").unwrap();
    });
    unlock.recv().unwrap();

    let ended = tokio::time::timeout(Duration::from_secs(14), round)
        .await
        .expect("the round stopped before its slow call answered")
        .unwrap();
    let error = ended.expect_err("the round was stopped").to_string();
    assert!(error.contains("leases went unrenewed"), "{error}");
    release.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(
        salesforce_writes(&world),
        writes_before,
        "nothing written after the hold lapsed"
    );

    // Once the database answers again the change is synced, once.
    world.sf_faults_cleared().await;
    // As the replica taking over does with a lease gone unrenewed.
    store
        .release_leases_of_others("nobody", i64::MAX, campaign_sync::store::now_millis())
        .await
        .unwrap();
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
    assert_eq!(salesforce_writes(&world), writes_before + 1);
}

/// A write whose round was never recorded (its replica cut off, or its answer lost to a
/// timeout) has landed when the change is tried again: the retry finds both sides alike and
/// still records the change's trigger event, as the write would have.
#[tokio::test]
async fn a_write_that_landed_unrecorded_still_gets_its_trigger_event() {
    let world = World::new().await;
    let (lead, sf_lead, member) = world
        .synced_person("landed@example.com", "Registered")
        .await;
    let events_before = world.app.store.trigger_events(0, 100).await.unwrap().len();
    world.mk_sets(lead, "Attended");
    // What the lost attempt wrote (the integration user's writes send no outbound message).
    world
        .sf
        .update_member(INTEGRATION, &member, "Attended")
        .unwrap();
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
    let events = world.app.store.trigger_events(0, 100).await.unwrap();
    let new: Vec<_> = events[events_before..].iter().collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(
        (
            new[0].kind,
            new[0].old_status.as_deref(),
            new[0].new_status.as_deref(),
            new[0].actor
        ),
        (
            campaign_sync::kinds::TriggerKind::CampaignStatusChanged,
            Some("Registered"),
            Some("Attended"),
            campaign_sync::kinds::Actor::Marketo
        )
    );
}

/// A replica that takes the worker over starts no round while the leader before it still holds
/// leases (ending its round, or cut off and not yet stopped): a later change of the same
/// person written beside that round's write in flight could land first and be overwritten.
/// Once those leases end, it syncs what is due.
#[tokio::test]
async fn a_new_leader_waits_for_the_leases_of_the_one_before() {
    // Replicas share a PostgreSQL database (one SQLite file serves one process).
    let Some(db) = crate::test_app::TestDb::postgres().await else {
        return;
    };
    let world = World::with(crate::world::Options {
        db: Some(db),
        ..Default::default()
    })
    .await;
    let (lead, sf_lead) = world.person("handover@example.com");
    world.mk_sets(lead, "Registered");
    world.mk.deliver_webhooks_now().await;
    world.wait_for_due_signals(1).await;
    let store = world.app.store.clone();
    let now = campaign_sync::store::now_millis();
    // The leader before holds it, its round under way.
    let held = store
        .claim("worker-before", 10, 120_000, now)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    // A later change of the same person, due now.
    world.mk_sets(lead, "Attended");
    store
        .record(vec![crate::world::member_signal("later-change", lead)], now)
        .await
        .unwrap();
    let mut config = world.config.clone();
    config.worker.enabled = true;
    let leader =
        crate::test_app::TestApp::spawn_with(crate::test_app::TestDb::shared(&world.db_url), {
            move |c| *c = config
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        world.sf_member_status(&sf_lead),
        None,
        "nothing written while another worker holds leases"
    );
    // The leader before ends its round (here: its lease handed back).
    store
        .release_leases_of_others("nobody", i64::MAX, campaign_sync::store::now_millis())
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while world.sf_member_status(&sf_lead).as_deref() != Some("Attended") {
        assert!(std::time::Instant::now() < deadline, "never synced");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    leader.stop().await.unwrap();
}
