//! Two replicas on one PostgreSQL database answer the same: a switch flipped through one holds
//! for the worker of the other, across a stop of the first; a reconcile queued through one is
//! run by the leader and reported by both.

use campaign_sync::signal::{MarketoMember, NewSignal, Signal};
use campaign_sync::store::now_millis;

use crate::test_app::TestDb;
use crate::world::{Options, PROGRAM, World};

async fn post(app: &crate::test_app::TestApp, path: &str) -> serde_json::Value {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth("admin")
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn get(app: &crate::test_app::TestApp, path: &str) -> serde_json::Value {
    let request = app.client.get(app.url(path)).bearer_auth("admin");
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn switches_and_jobs_hold_across_replicas_and_a_stopped_leader() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let world = World::with(Options {
        db: Some(db),
        admin_token: Some("admin".into()),
        ..Options::default()
    })
    .await;
    let other = world.replica().await;
    let (lead, sf_lead) = world.person("replica@example.com");

    // Disabled through the other replica: the leader's next round postpones the change.
    post(&other, "/admin/mappings/webinar/disable").await;
    let listed = get(&world.app, "/admin/mappings").await;
    assert_eq!(listed["items"][0]["enabled"], false, "{listed}");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead),
        None,
        "held while disabled"
    );

    // Enabled through the other replica: the held change catches up on the leader.
    post(&other, "/admin/mappings/webinar/enable").await;
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );

    // A reconcile queued through the other replica runs on the leader; both report it.
    let queued = post(&other, "/admin/reconcile").await;
    let href = queued["href"].as_str().unwrap().to_string();
    assert_eq!(world.app.worker.run_jobs().await.unwrap(), 1);
    assert_eq!(get(&other, &href).await["state"], "done");
    assert_eq!(get(&world.app, &href).await["state"], "done");

    // Sync disabled through the leader, which then stops: the survivor's worker keeps it off.
    post(&world.app, "/admin/sync/disable").await;
    let World {
        app,
        mk,
        sf,
        campaign,
        ..
    } = world;
    app.stop().await.unwrap();
    mk.set_status_as_user(PROGRAM, lead, "Attended").unwrap();
    // The webhook Marketo would send to the survivor instead.
    let signal = NewSignal::new(
        "replica-webhook",
        Signal::MarketoMember(MarketoMember {
            lead_id: lead,
            program_id: PROGRAM,
            email: None,
            status: None,
            trigger: None,
        }),
    );
    let id = other
        .store
        .record(vec![signal], now_millis())
        .await
        .unwrap()[0]
        .id;
    assert_eq!(get(&other, "/admin/mappings").await["syncEnabled"], false);
    other.worker.run_pending().await.unwrap();
    let status = |sf: &campaign_sync::sim::salesforce::SalesforceSim| {
        sf.members_of(&campaign)
            .into_iter()
            .find(|m| m.get("LeadId").and_then(|v| v.as_str()) == Some(sf_lead.as_str()))
            .and_then(|m| m.get("Status").and_then(|v| v.as_str()).map(str::to_string))
    };
    assert_eq!(
        status(&sf).as_deref(),
        Some("Registered"),
        "the survivor kept sync off"
    );
    let (state, _, error) = other.store.signal_state(id).await.unwrap().unwrap();
    assert_eq!(state, "pending");
    let error = error.unwrap_or_default();
    assert!(
        error.starts_with("postponed") && error.contains("campaign sync is switched off"),
        "says which switch holds it: {error}"
    );
    post(&other, "/admin/sync/enable").await;
    other.worker.run_pending().await.unwrap();
    assert_eq!(
        status(&sf).as_deref(),
        Some("Attended"),
        "caught up on the survivor"
    );
    other.stop().await.unwrap();
}

/// Every replica's overview says who runs the worker across the deployment, not only whether
/// the answering one does; and says so when nobody does.
#[tokio::test]
async fn every_replica_says_who_runs_the_worker() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let world = World::with(Options {
        db: Some(db),
        admin_token: Some("admin".into()),
        ..Options::default()
    })
    .await;
    let other = world.replica().await;
    let worker = |overview: serde_json::Value| overview["worker"].clone();
    let before = worker(get(&other, "/admin/status").await);
    assert!(before["leaderReplica"].is_null(), "{before}");
    assert!(
        before["replica"]
            .as_str()
            .is_some_and(|r| r.ends_with(&format!(" pid {}", std::process::id()))),
        "{before}"
    );
    let lock = world
        .app
        .store
        .try_lead("worker")
        .await
        .unwrap()
        .expect("the lock is free");
    for app in [&world.app, &other] {
        let seen = worker(get(app, "/admin/status").await);
        assert_eq!(
            seen["leaderReplica"].as_str(),
            Some(campaign_sync::store::holder_name("worker").as_str()),
            "{seen}"
        );
    }
    drop(lock);
}
