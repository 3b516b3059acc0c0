//! The nets under every delivery and the daily quotas: a lost webhook found by the activity
//! feed, a lost outbound message found by the changes query, cursors that resume, and a `607`
//! that pauses Marketo until its reset without using a retry.

use campaign_sync::quota::next_marketo_reset;
use campaign_sync::store::cursors::{MARKETO_ACTIVITIES, SALESFORCE_CHANGES};
use campaign_sync::store::now_millis;

use crate::world::{Options, PROGRAM, USER, World};

/// The first pass on a fresh database starts the Salesforce feed at the next whole second
/// (nothing from before the first start is a change to sync); waits until that second began.
async fn start_salesforce_feed(world: &World) {
    assert_eq!(world.app.worker.read_salesforce_changes().await.unwrap(), 0);
    let start = world
        .app
        .store
        .time_cursor(SALESFORCE_CHANGES)
        .await
        .unwrap()
        .expect("the feed's start");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while now_millis() < start {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock never reached {start}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_lost_webhook_is_synced_by_the_activity_feed() {
    // Marketo never calls the service: every webhook is lost.
    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    let worker = &world.app.worker;
    assert_eq!(worker.read_marketo_activities().await.unwrap(), 0);
    let start = world.app.store.cursor(MARKETO_ACTIVITIES).await.unwrap();
    assert!(start.is_some(), "a fresh database starts the feed now");
    let (lead, sf_lead) = world.person("ada@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(world.sf_member_status(&sf_lead), None, "no webhook came");

    assert_eq!(worker.read_marketo_activities().await.unwrap(), 1);
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    let moved = world.app.store.cursor(MARKETO_ACTIVITIES).await.unwrap();
    assert_ne!(moved, start, "the cursor moved past the activity");
    assert_eq!(
        worker.read_marketo_activities().await.unwrap(),
        0,
        "read once"
    );
    let calls = world
        .mk
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/rest/v1/activities"))
        .count();
    assert_eq!(calls, 4, "one token, then one page per pass");
}

#[tokio::test]
async fn the_feed_folds_changes_their_webhook_or_our_own_write_already_synced() {
    let world = World::new().await;
    let worker = &world.app.worker;
    assert_eq!(worker.read_marketo_activities().await.unwrap(), 0);
    // The feed starts at the next whole second; changes before it are not its to read.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (lead, sf_lead) = world.person("fold@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered"),
        "the webhook synced it"
    );
    // And a Salesforce change the service wrote into the program: another activity, our own.
    let (other, other_sf) = world.person("echo@example.com");
    world.sf_adds(&other_sf, Some("Invited"));
    world.settle().await;
    assert_eq!(world.mk_status(other).as_deref(), Some("Invited"));
    let reads = world.mk.requests().len();
    assert_eq!(
        worker.read_marketo_activities().await.unwrap(),
        0,
        "both activities are already in the mirror: no signal, no re-read"
    );
    let report = worker.run_pending().await.unwrap();
    assert_eq!(report.claimed, 0);
    let feed_only = world.mk.requests()[reads..]
        .iter()
        .all(|r| r.path.starts_with("/rest/v1/activities"));
    assert!(feed_only, "the pass read the feed and nothing else");
}

#[tokio::test]
async fn a_lost_outbound_message_is_synced_by_the_changes_query() {
    let world = World::new().await;
    // Outbound messages go nowhere: Salesforce keeps retrying, the service never hears.
    world.sf.set_outbound_endpoint("http://127.0.0.1:9/lost");
    let before = now_millis();
    let worker = &world.app.worker;
    start_salesforce_feed(&world).await;
    let (lead, sf_lead) = world.person("grace@example.com");
    world.sf_adds(&sf_lead, Some("Invited"));
    assert_eq!(worker.read_salesforce_changes().await.unwrap(), 1);
    worker.run_pending().await.unwrap();
    assert_eq!(world.mk_status(lead).as_deref(), Some("Invited"));
    let cursor = world
        .app
        .store
        .time_cursor(SALESFORCE_CHANGES)
        .await
        .unwrap()
        .expect("a stored cursor");
    assert!(cursor >= before, "the cursor moved to the newest stamp");
    // The next pass sees the same member again at most (stamps are read to the second); the
    // dedup key absorbs it and nothing is written.
    worker.read_salesforce_changes().await.unwrap();
    let report = worker.run_pending().await.unwrap();
    assert_eq!(report.dead, 0);
    assert_eq!(world.writes().1, 1, "one status sync in Marketo, no more");
}

#[tokio::test]
async fn a_daily_quota_error_pauses_marketo_until_the_reset_without_using_retries() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("linus@example.com");
    // The instance's daily quota runs out with the next call (the control endpoint's fault).
    world
        .mk_fault(serde_json::json!({ "error_code": "607", "calls": 1 }))
        .await;
    world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;
    let worker = &world.app.worker;
    let now = now_millis();
    let pause = worker.quota().marketo.paused(now).expect("Marketo paused");
    assert_eq!(
        pause.until_ms,
        next_marketo_reset(now),
        "until 12:00 AM CST"
    );
    assert!(pause.reason.contains("607"), "{}", pause.reason);
    assert_eq!(world.mk_status(lead), None);
    let (state, attempts, error) = world.app.store.signal_state(1).await.unwrap().unwrap();
    assert_eq!(
        (state.as_str(), attempts),
        ("pending", 0),
        "postponed, not retried: {error:?}"
    );
    assert!(world.app.store.dead(0, 10).await.unwrap().is_empty());
    let ready: serde_json::Value = world.app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["paused"][0]["system"], "marketo", "{ready}");
    assert_eq!(ready["paused"][0]["until_ms"], pause.until_ms);

    // While paused nothing is due and nothing is sent.
    let sent = world.mk.requests().len();
    assert_eq!(worker.run_pending().await.unwrap().claimed, 0);
    let refused = worker
        .marketo()
        .members(PROGRAM, &[lead])
        .await
        .unwrap_err();
    assert!(refused.paused_until().is_some(), "{refused:?}");
    assert_eq!(
        world.mk.requests().len(),
        sent,
        "a paused side sends nothing"
    );

    // The reset: the postponed change is due again and goes through.
    worker.quota().marketo.end_pause(now_millis());
    worker.catch_up_after_pauses().await;
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Invited"));
    assert!(world.app.store.dead(0, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn live_changes_flow_while_a_reconciliation_runs() {
    // Every Marketo call takes half a second, so a reconciliation (program, channel, a list
    // per status) runs for seconds.
    let world = World::with(Options {
        webhooks: false,
        mk: campaign_sync::sim::marketo::MarketoSimConfig {
            latency: std::time::Duration::from_millis(500),
            deliver_webhooks_in_background: false,
            ..Default::default()
        },
        ..Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("barbara@example.com");
    let member = world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Invited"));

    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(world.app.worker.clone().run(shutdown.clone()));
    let store = &world.app.store;
    let job = store
        .queue_job("reconcile", &serde_json::json!({}), now_millis())
        .await
        .unwrap();
    let state = async || store.job(job).await.unwrap().unwrap().state;
    let started = std::time::Instant::now();
    while state().await != "running" {
        assert!(
            started.elapsed().as_secs() < 30,
            "the reconciliation never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    world.sf.update_member(USER, &member, "Registered").unwrap();
    let changed = std::time::Instant::now();
    while world.mk_status(lead).as_deref() != Some("Registered") {
        assert!(
            changed.elapsed().as_secs() < 15,
            "the live change never reached Marketo"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        state().await,
        "running",
        "the live change landed while the reconciliation was still listing"
    );
    shutdown.cancel();
    running.await.unwrap();
}

#[tokio::test]
async fn an_idle_settings_pass_costs_one_marketo_browse_and_two_salesforce_queries() {
    let world = World::new().await;
    let worker = &world.app.worker;
    worker.sync_settings().await.unwrap();
    worker.check_statuses().await;
    let (mk_before, sf_before) = (
        worker.marketo().calls_made(),
        worker.salesforce().calls_made(),
    );
    worker.sync_settings().await.unwrap();
    worker.check_statuses().await;
    let mk_paths: Vec<String> = world
        .mk
        .requests()
        .iter()
        .rev()
        .take((worker.marketo().calls_made() - mk_before) as usize)
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(mk_paths, ["/rest/asset/v1/programs.json"]);
    assert_eq!(worker.salesforce().calls_made() - sf_before, 2);
}

#[tokio::test]
async fn changes_made_during_an_outage_are_synced_by_one_pass_of_each_feed() {
    // Webhooks lost and outbound messages undeliverable; no reconciliation runs.
    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    world.sf.set_outbound_endpoint("http://127.0.0.1:9/down");
    let worker = &world.app.worker;
    worker.read_marketo_activities().await.unwrap();
    start_salesforce_feed(&world).await;
    let mut in_marketo = Vec::new();
    let mut in_salesforce = Vec::new();
    for i in 0..5 {
        let (lead, sf_lead) = world.person(&format!("mk{i}@example.com"));
        world.mk_sets(lead, "Registered");
        in_marketo.push(sf_lead);
        let (lead, sf_lead) = world.person(&format!("sf{i}@example.com"));
        world.sf_adds(&sf_lead, Some("Invited"));
        in_salesforce.push(lead);
    }
    // The service is back: one pass of each feed, then the worker.
    assert_eq!(worker.read_marketo_activities().await.unwrap(), 5);
    assert_eq!(worker.read_salesforce_changes().await.unwrap(), 5);
    let report = worker.run_pending().await.unwrap();
    assert_eq!(report.dead, 0);
    for sf_lead in &in_marketo {
        assert_eq!(
            world.sf_member_status(sf_lead).as_deref(),
            Some("Registered")
        );
    }
    for lead in &in_salesforce {
        assert_eq!(world.mk_status(*lead).as_deref(), Some("Invited"));
    }
}
