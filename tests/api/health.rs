//! Liveness, readiness, metrics and the answers every route shares (404, 413).

use crate::test_app::{TestApp, TestDb};

#[tokio::test]
async fn healthz_and_readyz_answer_200_while_serving() {
    let app = TestApp::spawn().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn readyz_turns_503_during_the_drain_and_the_server_still_answers() {
    let app = TestApp::spawn_with(TestDb::sqlite(), |c| c.http.drain_delay_secs = 2).await;
    app.shutdown.cancel();
    tokio::task::yield_now().await;
    // The drain keeps the listener open, so the load balancer sees the 503.
    let mut saw_draining = false;
    for _ in 0..50 {
        let ready = app.get("/readyz").await;
        if ready.status() == 503 {
            let body: serde_json::Value = ready.json().await.unwrap();
            assert_eq!(body["status"], "draining");
            saw_draining = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        saw_draining,
        "/readyz never answered 503 after shutdown began"
    );
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn readyz_is_503_when_the_store_is_gone() {
    let app = TestApp::spawn().await;
    app.store.close().await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert!(body["reason"].as_str().unwrap().starts_with("store:"));
}

/// A database that stops answering (here a table locked by another session) does not stall
/// the scrape or the overview: `/metrics` answers with the last counts within seconds, and
/// `/admin/status` says 503 instead of waiting on each query.
#[tokio::test]
async fn metrics_and_status_answer_quickly_while_the_database_does_not() {
    use sqlx::Connection;
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.url.clone();
    let app = TestApp::spawn_with(db, |c| {
        c.admin.token = campaign_sync::config::Secret::new("admin");
    })
    .await;
    let mut locker = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE signals IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status(), 200);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let started = std::time::Instant::now();
    let (status, body) = app
        .admin(reqwest::Method::GET, "/admin/status", "admin")
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut locker)
        .await
        .unwrap();
    let (status, _) = app
        .admin(reqwest::Method::GET, "/admin/status", "admin")
        .await;
    assert_eq!(status, 200, "answers again once the database does");
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_routes_and_inbox_depth() {
    let app = TestApp::spawn().await;
    app.get("/healthz").await;
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text().await.unwrap();
    assert!(text.contains("http_requests_total{"), "{text}");
    assert!(text.contains("route=\"/healthz\""), "{text}");
    assert!(text.contains("inbox_signals{state=\"pending\"}"), "{text}");
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    // Every family says what it counts (a test's own families aside).
    for family in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let name = family.split(' ').next().unwrap_or_default();
        if !name.starts_with("telemetry_test") {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}: {text}");
        }
    }
}

/// Counters an alert may watch are there from the start (a unique mapping name, since one
/// recorder serves the whole test process).
#[tokio::test]
async fn alerting_counters_are_shown_before_they_first_count() {
    let app = TestApp::spawn_with(TestDb::sqlite(), |c| {
        c.mappings.push(campaign_sync::config::MappingConfig::new(
            "zero-series",
            4242,
            "701000000000042AAA",
        ));
    })
    .await;
    let text = app.get("/metrics").await.text().await.unwrap();
    for series in [
        "salesforce_deletions_out_of_reach_total ",
        "salesforce_deletions_ignored_total ",
        "outbound_notifications_without_data_total ",
        "salesforce_future_stamps_total ",
        "reconcile_differences_total{mapping=\"zero-series\",kind=\"salesforce_changed\"} 0",
        "reconcile_repairs_total{mapping=\"zero-series\",result=\"dead\"} 0",
    ] {
        assert!(text.contains(series), "{series} in {text}");
    }
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/nope").await.status(), 404);
}

#[tokio::test]
async fn oversized_bodies_are_rejected_with_413() {
    let app = TestApp::spawn_with(TestDb::sqlite(), |c| {
        c.http.body_limit_bytes = 1024;
        c.marketo.webhook_token = campaign_sync::config::Secret::new("hook");
        c.admin.token = campaign_sync::config::Secret::new("admin");
    })
    .await;
    let send = |path: &str, token: &str| {
        app.client
            .post(app.url(path))
            .bearer_auth(token)
            .body(vec![b'x'; 4096])
            .send()
    };
    assert_eq!(
        send("/v1/marketo/webhooks", "hook").await.unwrap().status(),
        413
    );
    assert_eq!(
        send("/admin/reconcile", "admin").await.unwrap().status(),
        413
    );
    // A receiver asks who is calling first: a stranger is refused as one, whatever it sends.
    assert_eq!(
        send("/v1/marketo/webhooks", "wrong")
            .await
            .unwrap()
            .status(),
        401
    );
    // Sent in chunks, with no length announced: refused once it passes the limit.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.address).await.unwrap();
    let mut request = "POST /v1/marketo/webhooks HTTP/1.1\r\nHost: test\r\n\
        Authorization: Bearer hook\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_string();
    for _ in 0..8 {
        request.push_str(&format!("200\r\n{}\r\n", "x".repeat(512)));
    }
    request.push_str("0\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut status = vec![0u8; 12];
    stream.read_exact(&mut status).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&status), "HTTP/1.1 413");
}

/// A fresh process shows the series an alert waits on at 0 before anything happened, so a rule
/// such as `increase(worker_restarts_total[1h]) > 0` has something to read. A child process:
/// the tests in this one share a recorder.
#[test]
fn a_fresh_process_shows_the_restart_and_pause_series_at_zero() {
    use crate::binary::{RUNNABLE_ENV, Served, free_address, request};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let listen = free_address();
    let mut served = Served::example(&listen, &url, RUNNABLE_ENV);
    served.wait_healthy(&listen);
    let admin = [("Authorization", "Bearer admin-token")];
    let (status, metrics) = request(&listen, "GET", "/metrics", &admin, "").expect("an answer");
    assert_eq!(status, 200);
    for series in [
        "worker_restarts_total 0",
        "upstream_paused_until_seconds{system=\"marketo\"} 0",
        "upstream_paused_until_seconds{system=\"salesforce\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == series), "{series}: {metrics}");
    }
}

/// A process started while the day's budget is spent shows the pause in `/metrics` at once, as
/// the admin status does (the shared count is read once the recorder is in place), and 0 once
/// the pause is lifted.
#[test]
fn a_pause_from_before_a_restart_shows_in_metrics_at_once() {
    use crate::binary::{RUNNABLE_ENV, Served, free_address, request};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let until = campaign_sync::store::now_millis() + 3_600_000;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = campaign_sync::store::Store::connect(&url).await.unwrap();
        let day = campaign_sync::quota::next_marketo_reset(campaign_sync::store::now_millis());
        store
            .share_quota_day(
                "marketo",
                &campaign_sync::store::QuotaDay {
                    day_ends_ms: day,
                    used: 40,
                    paused_until_ms: until,
                    // Marketo's own quota (a pause for a budget the restarted process does
                    // not share would not be taken on).
                    reason: Some("Marketo 607: Daily quota reached".into()),
                    paused_at_ms: campaign_sync::store::now_millis(),
                    lifted_at_ms: 0,
                },
            )
            .await
            .unwrap();
        store.close().await;
    });
    let listen = free_address();
    let mut served = Served::example(&listen, &url, RUNNABLE_ENV);
    served.wait_healthy(&listen);
    let admin = [("Authorization", "Bearer admin-token")];
    let (_, metrics) = request(&listen, "GET", "/metrics", &admin, "").expect("an answer");
    let series = format!(
        "upstream_paused_until_seconds{{system=\"marketo\"}} {}",
        until as f64 / 1000.0
    );
    assert!(metrics.lines().any(|l| l == series), "{series}: {metrics}");
    // Lifted on a replica that runs no worker: its series reads 0 again, not the lift's time.
    let (status, _) = request(
        &listen,
        "POST",
        "/admin/upstreams/marketo/resume",
        &admin,
        "",
    )
    .expect("an answer");
    assert_eq!(status, 200);
    let (_, metrics) = request(&listen, "GET", "/metrics", &admin, "").expect("an answer");
    let zero = "upstream_paused_until_seconds{system=\"marketo\"} 0";
    assert!(metrics.lines().any(|l| l == zero), "{zero}: {metrics}");
}

/// A service started without a side's credentials says so: on `/readyz` (still 200), and in the
/// overview, where that side reads `unconfigured` instead of `unknown`.
#[tokio::test]
async fn a_service_started_without_credentials_names_what_it_lacks() {
    let app = TestApp::spawn_with(TestDb::sqlite(), |config| {
        config.admin.token = campaign_sync::config::Secret::new("admin");
        config.unset = vec![
            "marketo.client_id: missing (set it in the file or as CAMPAIGN_SYNC_MARKETO__CLIENT_ID)"
                .into(),
        ];
    })
    .await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(
        ready["unconfigured"][0]
            .as_str()
            .map(|s| s.starts_with("marketo.client_id: ")),
        Some(true),
        "{ready}"
    );
    let (status, overview) = app
        .admin(reqwest::Method::GET, "/admin/status", "admin")
        .await;
    assert_eq!(status, 200);
    assert_eq!(overview["upstreams"]["marketo"]["state"], "unconfigured");
    assert_eq!(overview["upstreams"]["salesforce"]["state"], "unknown");
    assert_eq!(overview["unconfigured"], ready["unconfigured"]);
    // On SQLite no other process could run a reconciliation: refused, nothing queued.
    let (status, refused) = app
        .admin(reqwest::Method::POST, "/admin/reconcile", "admin")
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no worker can run")),
        "{refused}"
    );
    let (status, _) = app
        .admin(reqwest::Method::GET, "/admin/jobs/1", "admin")
        .await;
    assert_eq!(status, 404, "no job was queued");
    // The series a dashboard reads is there though no worker runs (its value is process-wide
    // in this test binary, where other tests' workers lead).
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("\nworker_leader "), "{metrics}");
    assert!(
        metrics.contains("\nworker_last_round_timestamp_seconds "),
        "{metrics}"
    );
}

/// With 80% of the day's budget spent, the scheduled passes wait while live changes go on: the
/// overview says so, and why, for the side (it is no pause).
#[tokio::test]
async fn the_overview_says_when_scheduled_passes_wait_for_the_budget() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let now = campaign_sync::store::now_millis();
    store
        .share_quota_day(
            "marketo",
            &campaign_sync::store::QuotaDay {
                day_ends_ms: campaign_sync::quota::next_marketo_reset(now),
                used: 9,
                paused_until_ms: 0,
                reason: None,
                paused_at_ms: 0,
                lifted_at_ms: 0,
            },
        )
        .await
        .unwrap();
    store.close().await;
    let app = TestApp::spawn_with(db, |config| {
        config.admin.token = campaign_sync::config::Secret::new("admin");
        config.marketo.daily_call_budget = 10;
    })
    .await;
    let (status, overview) = app
        .admin(reqwest::Method::GET, "/admin/status", "admin")
        .await;
    assert_eq!(status, 200);
    let marketo = &overview["upstreams"]["marketo"];
    assert_eq!(marketo["pausedUntil"], serde_json::Value::Null, "{marketo}");
    let held = marketo["scheduledHeld"].as_str().unwrap_or_default();
    assert!(
        held.starts_with("9 of daily_call_budget 10 used today"),
        "{marketo}"
    );
    assert_eq!(
        overview["upstreams"]["salesforce"]["scheduledHeld"],
        serde_json::Value::Null
    );
}
