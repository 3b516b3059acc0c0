//! Whether any replica runs the worker, as `/admin/reconcile` tells it: a job queued while none
//! does (PostgreSQL: no replica holds the worker lock; SQLite: this service's worker is off) is
//! accepted with a warning that it waits. The
//! lock is one per database, so this test makes a database of its own (other tests' workers
//! hold the lock of the shared one).

use campaign_sync::config::Secret;
use campaign_sync::store::Store;

use crate::test_app::{TestApp, TestDb};

/// A fresh database beside the one `CAMPAIGN_SYNC_TEST_POSTGRES_URL` names, and its URL.
pub(crate) async fn own_database(base: &str) -> (String, String) {
    let name = format!("cs_lock_{}", uuid::Uuid::new_v4().simple());
    let admin = Store::open(base).await.expect("connect to test PostgreSQL");
    admin
        .execute_raw(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    admin.close().await;
    let (without_query, query) = match base.split_once('?') {
        Some((url, query)) => (url, format!("?{query}")),
        None => (base, String::new()),
    };
    let server = without_query
        .rsplit_once('/')
        .map_or(without_query, |(server, _)| server);
    (name.clone(), format!("{server}/{name}{query}"))
}

/// Drops a database [`own_database`] made.
pub(crate) async fn drop_database(base: &str, name: &str) {
    let admin = Store::open(base).await.unwrap();
    admin
        .execute_raw(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
    admin.close().await;
}

#[tokio::test]
async fn a_job_queued_while_no_replica_runs_the_worker_says_it_waits() {
    let Some(_) = TestDb::postgres().await else {
        return;
    };
    let base = std::env::var("CAMPAIGN_SYNC_TEST_POSTGRES_URL").unwrap();
    let (name, url) = own_database(&base).await;
    let app = TestApp::spawn_with(TestDb::shared(&url), |c| {
        c.admin.token = Secret::new("admin");
        c.worker.enabled = false;
    })
    .await;
    assert!(!app.store.worker_lock_held().await.unwrap());
    let (status, queued) = app
        .admin(reqwest::Method::POST, "/admin/reconcile", "admin")
        .await;
    assert_eq!(status, 202, "{queued}");
    let warning = queued["warning"].as_str().unwrap_or_default();
    assert!(warning.contains("no replica runs the worker"), "{queued}");
    // Following the job says it still waits, and why.
    let (status, job) = app
        .admin(
            reqwest::Method::GET,
            &format!("/admin/jobs/{}", queued["id"]),
            "admin",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(job["warning"], queued["warning"], "{job}");

    // A replica that leads: the next job is queued without a word.
    let lock = app
        .store
        .try_lead("test")
        .await
        .unwrap()
        .expect("the lock is free");
    assert!(app.store.worker_lock_held().await.unwrap());
    let (status, queued) = app
        .admin(reqwest::Method::POST, "/admin/reconcile", "admin")
        .await;
    assert_eq!(status, 202, "{queued}");
    assert!(queued.get("warning").is_none(), "{queued}");
    drop(lock);
    // The `reconcile` command holding the lock runs no queued job: the answer says so. The lock's
    // connection closes with the guard; PostgreSQL frees the lock once it sees that.
    let mut taken = None;
    for _ in 0..250 {
        taken = app.store.try_lead("reconcile command").await.unwrap();
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let lock = taken.expect("the lock is freed once its connection closed");
    let (status, queued) = app
        .admin(reqwest::Method::POST, "/admin/reconcile", "admin")
        .await;
    assert!(status == 202 || status == 200, "{queued}");
    let warning = queued["warning"].as_str().unwrap_or_default();
    assert!(
        warning.contains("held by the `campaign-sync reconcile` command"),
        "{queued}"
    );
    drop(lock);
    app.stop().await.unwrap();
    drop_database(&base, &name).await;
}

/// On SQLite only this process could run a job: with its worker off, the job is queued for
/// when it runs with one, and the answer says so.
#[tokio::test]
async fn a_sqlite_service_without_its_worker_says_the_job_waits() {
    let app = TestApp::spawn_with(TestDb::sqlite(), |c| {
        c.admin.token = Secret::new("admin");
        c.worker.enabled = false;
    })
    .await;
    let (status, queued) = app
        .admin(reqwest::Method::POST, "/admin/reconcile", "admin")
        .await;
    assert_eq!(status, 202, "{queued}");
    let warning = queued["warning"].as_str().unwrap_or_default();
    assert!(warning.contains("worker.enabled = false"), "{queued}");
    // The console, following the job, says it waits and why.
    let client = crate::admin_console::console_client();
    let signed_in = client
        .post(app.url("/console/sign-in"))
        .form(&[("token", "admin")])
        .send()
        .await
        .unwrap();
    let cookie =
        crate::admin_console::cookie_pair(signed_in.headers()["set-cookie"].to_str().unwrap());
    let page = client
        .get(app.url(&format!("/console/mappings?job={}", queued["id"])))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("is queued") && page.contains("Waiting: this service runs with"),
        "{page}"
    );
    app.stop().await.unwrap();
}

/// Two replicas running their worker loops on one PostgreSQL database: one leads; when it stops,
/// the other takes the lock on its own (it tries every second) and syncs what arrives next.
#[tokio::test]
async fn a_follower_takes_the_worker_over_when_the_leader_stops() {
    use std::time::{Duration, Instant};

    let Some(_) = TestDb::postgres().await else {
        return;
    };
    let base = std::env::var("CAMPAIGN_SYNC_TEST_POSTGRES_URL").unwrap();
    let (name, url) = own_database(&base).await;
    let (world, config, first) = leading_replica(&url).await;
    let second = TestApp::spawn_with(TestDb::shared(&url), move |c| *c = config).await;
    assert!(!leads(&second).await, "one leader at a time");
    first.stop().await.unwrap();
    let stopped = Instant::now();
    let deadline = stopped + Duration::from_secs(20);
    while !leads(&second).await {
        assert!(Instant::now() < deadline, "no replica took the worker over");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("took over {:?} after the leader stopped", stopped.elapsed());
    // The survivor syncs a change made after the takeover (the webhook Marketo sends goes to
    // the world's own service, so the signal is recorded as the survivor would receive it).
    let (lead, sf_lead) = world.person("takeover@example.com");
    world.mk_sets(lead, "Registered");
    second
        .store
        .record(
            vec![crate::world::member_signal("takeover-webhook", lead)],
            campaign_sync::store::now_millis(),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while world.sf_member_status(&sf_lead).as_deref() != Some("Registered") {
        assert!(Instant::now() < deadline, "the survivor never synced");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.stop().await.unwrap();
    drop_database(&base, &name).await;
}

/// A leader whose lock's session is ended while a round waits on slow calls stops that round at
/// once, as a stopped replica would, instead of writing on for the round's whole length beside
/// the replica that took the lock (it noticed only between rounds).
#[tokio::test]
async fn a_leader_that_loses_its_lock_mid_round_stops_the_round() {
    use std::time::{Duration, Instant};

    let Some(_) = TestDb::postgres().await else {
        return;
    };
    let base = std::env::var("CAMPAIGN_SYNC_TEST_POSTGRES_URL").unwrap();
    let (name, url) = own_database(&base).await;
    let (world, _, leader) = leading_replica(&url).await;
    // Every call takes 8 s: the round that takes the change is in them for that long.
    let slow = serde_json::json!({"latency_ms": 8000, "seconds": 30});
    world.sf_fault(slow.clone()).await;
    world.mk_fault(slow).await;
    let (lead, _) = world.person("lock.lost@example.com");
    world.mk_sets(lead, "Registered");
    leader
        .store
        .record(
            vec![crate::world::member_signal("lock-lost-webhook", lead)],
            campaign_sync::store::now_millis(),
        )
        .await
        .unwrap();
    // Once the round holds the change, its lock's session is ended (a failover, an admin).
    let deadline = Instant::now() + Duration::from_secs(10);
    while leader
        .store
        .backlog(campaign_sync::store::now_millis())
        .await
        .unwrap()
        .in_progress
        == 0
    {
        assert!(Instant::now() < deadline, "the round never took the change");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let admin = Store::open(&url).await.unwrap();
    admin
        .execute_raw(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name LIKE 'campaign-sync worker%'",
        )
        .await
        .unwrap();
    admin.close().await;
    let ended = Instant::now();
    while leads(&leader).await {
        assert!(
            ended.elapsed() < Duration::from_secs(4),
            "the leader went on with its 8 s round after losing the lock"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    world.sf_faults_cleared().await;
    world.mk_faults_cleared().await;
    // The same replica takes the lock again: the change its stopped round had claimed is made
    // due again, not left until its lease (two minutes) runs out.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = campaign_sync::store::now_millis();
        let backlog = leader.store.backlog(now).await.unwrap();
        if backlog.in_progress == 0 && backlog.due == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stopped round's change waited for its lease: {backlog:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    leader.stop().await.unwrap();
    drop_database(&base, &name).await;
}

/// A wired world, the configuration of a replica of it on the database at `url` with its
/// worker on, and that replica once it leads.
async fn leading_replica(
    url: &str,
) -> (crate::world::World, campaign_sync::config::Config, TestApp) {
    use std::time::{Duration, Instant};

    let world = crate::world::World::new().await;
    let mut config = world.config.clone();
    config.database_url = Secret::new(url);
    config.worker.enabled = true;
    config.admin.token = Secret::new("admin");
    let replica = TestApp::spawn_with(TestDb::shared(url), {
        let config = config.clone();
        move |c| *c = config
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !leads(&replica).await {
        assert!(Instant::now() < deadline, "the replica never led");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (world, config, replica)
}

/// Whether the answering replica itself runs the worker (replicas sharing a process share the
/// holder's name, so `leaderReplica` does not tell them apart).
async fn leads(app: &TestApp) -> bool {
    let (status, overview) = app
        .admin(reqwest::Method::GET, "/admin/status", "admin")
        .await;
    assert_eq!(status, 200, "{overview}");
    overview["worker"]["leader"] == true
}
