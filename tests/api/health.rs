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
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/nope").await.status(), 404);
}

#[tokio::test]
async fn oversized_bodies_are_rejected_with_413() {
    let app = TestApp::spawn_with(TestDb::sqlite(), |c| c.http.body_limit_bytes = 1024).await;
    let response = app
        .client
        .post(app.url("/v1/marketo/webhooks"))
        .body(vec![b'x'; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
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
