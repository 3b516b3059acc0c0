//! Webhooks: a "Program Status is Changed" campaign calls the configured URL with the rendered
//! template and headers on every status change, API writes included; failures are not retried.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use campaign_sync::sim::marketo::{NewLead, TokenEncoding, WebhookConfig};
use serde_json::{Value, json};

use super::{PROGRAM, Sim};

pub(super) type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A receiver answering `status` after `delay`, recording what it got.
pub(super) async fn receiver(status: StatusCode, delay: Duration) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                move |State(seen): State<Seen>, headers: HeaderMap, body: Bytes| async move {
                    seen.lock()
                        .expect("lock")
                        .push((headers, String::from_utf8_lossy(&body).into_owned()));
                    tokio::time::sleep(delay).await;
                    (status, "{}")
                },
            ),
        )
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn status_changes_fire_the_rendered_template_with_headers() {
    let sim = Sim::start().await;
    let (url, seen) = receiver(StatusCode::OK, Duration::ZERO).await;
    sim.sim.add_webhook(WebhookConfig::documented(
        Some(PROGRAM),
        &url,
        "hook-secret",
    ));
    let lead = sim.sim.add_lead(NewLead::email("ann@x.com"));

    sim.sim
        .set_status_as_user(PROGRAM, lead, "Invited")
        .expect("user change");
    let body = json!({ "statusName": "Registered", "input": [{ "leadId": lead }] });
    sim.post(
        &format!("/rest/v1/programs/{PROGRAM}/members/status.json"),
        &body,
    )
    .await;
    let skipped = sim
        .post(
            &format!("/rest/v1/programs/{PROGRAM}/members/status.json"),
            &body,
        )
        .await;
    assert_eq!(skipped["result"][0]["status"], "skipped");
    assert_eq!(
        sim.sim.pending_webhooks(),
        2,
        "a skipped lead changes nothing"
    );

    let calls = sim.sim.deliver_webhooks_now().await;
    assert_eq!(calls.len(), 2);
    assert!(
        calls
            .iter()
            .all(|c| c.status == Some(200) && c.error.is_none())
    );
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2);
    let (headers, payload) = &seen[1];
    assert_eq!(headers["authorization"], "Bearer hook-secret");
    let payload: Value = serde_json::from_str(payload).expect("JSON payload");
    assert_eq!(
        payload,
        json!({ "leadId": lead.to_string(), "programId": PROGRAM.to_string(), "email": "ann@x.com", "trigger": "Program Status is Changed" })
    );
    assert!(
        sim.sim
            .requests()
            .iter()
            .any(|r| r.kind == "webhook" && r.status == Some(200))
    );
}

#[tokio::test]
async fn campaigns_listen_to_their_program_and_render_literal_text() {
    let sim = Sim::start().await;
    let (url, seen) = receiver(StatusCode::OK, Duration::ZERO).await;
    sim.sim.add_webhook(WebhookConfig {
        program_id: Some(9),
        ..WebhookConfig::documented(None, &url, "other")
    });
    sim.sim.add_webhook(WebhookConfig {
        program_id: None,
        url: format!("{url}?program={{{{program.id}}}}"),
        template: "lead={{lead.Id}};name={{program.Name}};status=Registered".to_string(),
        headers: vec![(
            "X-Trigger".to_string(),
            "{{trigger.Trigger Name}}".to_string(),
        )],
        token_encoding: TokenEncoding::None,
    });
    let lead = sim.sim.add_lead(NewLead::email("bo@x.com"));
    sim.sim
        .set_status_as_user(PROGRAM, lead, "Registered")
        .expect("change");
    let calls = sim.sim.deliver_webhooks_now().await;
    assert_eq!(calls.len(), 1, "only the campaign for every program fires");
    assert_eq!(calls[0].url, format!("{url}?program={PROGRAM}"));
    let logged = sim.sim.requests();
    let logged = logged.iter().find(|r| r.kind == "webhook").expect("logged");
    let path = reqwest::Url::parse(&url).expect("a URL").path().to_string();
    assert_eq!(
        (logged.path.as_str(), logged.query.as_deref()),
        (path.as_str(), Some(format!("program={PROGRAM}").as_str()))
    );
    let (headers, body) = &seen.lock().expect("lock")[0];
    assert_eq!(
        body,
        &format!("lead={lead};name=Spring Webinar;status=Registered")
    );
    assert_eq!(headers["x-trigger"], "Program Status is Changed");
}

#[tokio::test]
async fn failed_calls_are_logged_and_never_retried() {
    let sim = Sim::start_with(|c| c.webhook_timeout = Duration::from_millis(300)).await;
    let (failing, failing_seen) = receiver(StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO).await;
    let (slow, slow_seen) = receiver(StatusCode::OK, Duration::from_secs(3)).await;
    sim.sim
        .add_webhook(WebhookConfig::documented(None, &failing, "t"));
    sim.sim
        .add_webhook(WebhookConfig::documented(None, &slow, "t"));
    let lead = sim.sim.add_lead(NewLead::email("cy@x.com"));
    sim.sim
        .set_status_as_user(PROGRAM, lead, "Invited")
        .expect("change");

    let calls = sim.sim.deliver_webhooks_now().await;
    assert_eq!(calls[0].status, Some(500));
    assert_eq!(calls[1].status, None);
    assert!(
        calls[1]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("timeout")),
        "{calls:?}"
    );
    assert!(
        sim.sim.deliver_webhooks_now().await.is_empty(),
        "nothing is queued again"
    );
    assert_eq!(failing_seen.lock().expect("lock").len(), 1);
    assert_eq!(slow_seen.lock().expect("lock").len(), 1);
    let logged: Vec<_> = sim
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.kind == "webhook")
        .collect();
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0].status, Some(500));
    assert!(
        logged.iter().all(|r| r.path.starts_with('/')),
        "a path, as for every entry: {logged:?}"
    );
    assert!(logged[1].error.is_some());
}

#[tokio::test]
async fn a_user_moves_forward_only_and_not_in_program_removes() {
    let sim = Sim::start().await;
    let (hook, seen) = receiver(StatusCode::OK, Duration::ZERO).await;
    sim.sim
        .add_webhook(WebhookConfig::documented(Some(PROGRAM), &hook, "t"));
    let lead = sim.sim.add_lead(NewLead::email("di@x.com"));
    let url = sim.url(&format!("/__sim/programs/{PROGRAM}/members/status"));
    let change = |status: &str| {
        sim.client
            .post(&url)
            .json(&json!({ "leadId": lead, "status": status }))
            .send()
    };
    let created = change("Registered").await.expect("POST");
    assert_eq!(created.status(), 200);
    assert_eq!(
        created.json::<Value>().await.expect("JSON")["result"],
        "created"
    );
    assert_eq!(
        change("Invited").await.expect("POST").status(),
        409,
        "no moving backwards"
    );
    assert_eq!(
        sim.sim.member(PROGRAM, lead).expect("member").status_name,
        "Registered"
    );
    let delivered: Value = sim
        .client
        .post(sim.url("/__sim/webhooks/deliver"))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        delivered.as_array().map(Vec::len),
        Some(1),
        "the user's change fired: {delivered}"
    );
    assert_eq!(delivered[0]["status"], 200);
    assert_eq!(seen.lock().expect("lock").len(), 1);
    let removed = change("Not in Program").await.expect("POST");
    assert_eq!(
        removed.json::<Value>().await.expect("JSON")["result"],
        "removed"
    );
    assert!(sim.sim.member(PROGRAM, lead).is_none());
    let state: Value = sim
        .client
        .get(sim.url("/__sim/state"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(state["members"], json!([]));
    assert_eq!(state["programs"][0]["id"], PROGRAM);
}

#[tokio::test]
async fn the_background_deliverer_sends_without_being_asked() {
    let sim = Sim::start_with(|c| c.deliver_webhooks_in_background = true).await;
    let (url, seen) = receiver(StatusCode::OK, Duration::ZERO).await;
    sim.sim
        .add_webhook(WebhookConfig::documented(Some(PROGRAM), &url, "t"));
    let lead = sim.sim.add_lead(NewLead::email("ed@x.com"));
    sim.sim
        .set_status_as_user(PROGRAM, lead, "Invited")
        .expect("change");
    // Waits for the deliverer, up to 10 s on a loaded machine.
    for _ in 0..200 {
        if !sim.sim.webhook_calls().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen.lock().expect("lock").len(), 1);
}
