//! Whether any replica runs the worker, as `/admin/reconcile` tells it: a job queued while none
//! does (PostgreSQL: no replica holds the worker lock; SQLite: this service's worker is off) is
//! accepted with a warning that it waits. The
//! lock is one per database, so this test makes a database of its own (other tests' workers
//! hold the lock of the shared one).

use campaign_sync::config::Secret;
use campaign_sync::store::Store;

use crate::test_app::{TestApp, TestDb};

/// A fresh database beside the one `CAMPAIGN_SYNC_TEST_POSTGRES_URL` names, and its URL.
async fn own_database(base: &str) -> (String, String) {
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
    app.stop().await.unwrap();
    let admin = Store::open(&base).await.unwrap();
    admin
        .execute_raw(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
    admin.close().await;
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
