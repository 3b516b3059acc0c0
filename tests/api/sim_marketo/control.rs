//! The control endpoints over HTTP: faults posted to `/__sim/faults` (error codes in Marketo's
//! envelope, bare HTTP statuses, latency), `DELETE` clearing them, the webhook target with its
//! headers, bad bodies refused with a JSON error, and the call log's entry shape.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use campaign_sync::sim::marketo::NewLead;
use reqwest::Method;
use serde_json::{Value, json};

use super::webhooks::receiver;
use super::{PROGRAM, Sim, error_of, result_of};

const LEADS: &str = "/rest/v1/leads.json?filterType=email&filterValues=a@x.com";

impl Sim {
    async fn control(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("control call");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn error_code_faults_answer_in_the_envelope_for_the_next_calls() {
    let sim = Sim::start().await;
    let fault = json!({"error_code": "606", "calls": 2});
    let (status, listed) = sim
        .control(Method::POST, "/__sim/faults", Some(fault))
        .await;
    assert_eq!(status, 200, "{listed}");
    for _ in 0..2 {
        let (code, message) = error_of(&sim.get(LEADS).await);
        assert_eq!(code, "606");
        assert!(message.contains("rate limit"), "{message}");
    }
    result_of(&sim.get(LEADS).await);
}

#[tokio::test]
async fn http_status_and_latency_faults_until_cleared() {
    let sim = Sim::start().await;
    let fault = json!({"http_status": 503, "seconds": 30});
    assert_eq!(
        sim.control(Method::POST, "/__sim/faults", Some(fault))
            .await
            .0,
        200
    );
    let slow = json!({"latency_ms": 250, "seconds": 30});
    assert_eq!(
        sim.control(Method::POST, "/__sim/faults", Some(slow))
            .await
            .0,
        200
    );
    let started = Instant::now();
    let refused = sim
        .client
        .get(sim.url(LEADS))
        .bearer_auth(&sim.token)
        .send()
        .await
        .expect("GET");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() >= Duration::from_millis(250));
    let (status, cleared) = sim.control(Method::DELETE, "/__sim/faults", None).await;
    assert_eq!((status, cleared["cleared"].as_u64()), (200, Some(2)));
    result_of(&sim.get(LEADS).await);
    let logged = sim.sim.requests();
    let first = logged.iter().find(|r| r.kind == "rest").expect("logged");
    assert_eq!(first.status, Some(503));
}

#[tokio::test]
async fn bad_control_bodies_get_400_with_a_json_error() {
    let sim = Sim::start().await;
    let set_status = format!("/__sim/programs/{PROGRAM}/members/status");
    for (path, body) in [
        ("/__sim/faults", json!({"error_code": "1037"})),
        ("/__sim/faults", json!({"http_status": 99})),
        ("/__sim/faults", json!({"latency_ms": 10, "calls": 0})),
        ("/__sim/faults", json!("606")),
        ("/__sim/webhook-target", json!({"url": "ftp://x/"})),
        (
            "/__sim/webhook-target",
            json!({"url": "http://x/", "headers": [["bad header", "v"]]}),
        ),
        (
            "/__sim/webhook-target",
            json!({"url": "http://x/", "headers": {"a": "b"}}),
        ),
        (
            set_status.as_str(),
            json!({"leadId": "one", "status": "Invited"}),
        ),
        (set_status.as_str(), json!({"leadId": 1})),
        (
            "/__sim/programs/webinar/members/status",
            json!({"leadId": 1, "status": "Invited"}),
        ),
    ] {
        let (status, answer) = sim.control(Method::POST, path, Some(body.clone())).await;
        assert_eq!(status, 400, "{path} {body}");
        assert!(answer["error"].is_string(), "{path} {body}: {answer}");
    }
}

#[tokio::test]
async fn the_webhook_target_gets_status_changes_with_its_headers() {
    let sim = Sim::start().await;
    let (url, seen) = receiver(StatusCode::OK, Duration::ZERO).await;
    let target =
        json!({"url": url, "headers": [["Authorization", "Bearer t0ken"], ["X-Env", "ci"]]});
    let (status, answer) = sim
        .control(Method::POST, "/__sim/webhook-target", Some(target))
        .await;
    assert_eq!(status, 200, "{answer}");
    let lead = sim.sim.add_lead(NewLead::email("ann@x.com"));
    let change = json!({"leadId": lead, "status": "Invited"});
    let path = format!("/__sim/programs/{PROGRAM}/members/status");
    assert_eq!(sim.control(Method::POST, &path, Some(change)).await.0, 200);
    sim.control(Method::POST, "/__sim/webhooks/deliver", None)
        .await;
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    let (headers, body) = &seen[0];
    assert_eq!(headers["authorization"], "Bearer t0ken");
    assert_eq!(headers["x-env"], "ci");
    let body: Value = serde_json::from_str(body).expect("JSON body");
    // JSON token encoding renders every token as a string.
    assert_eq!(body["leadId"], lead.to_string());
    assert_eq!(body["programId"], PROGRAM.to_string());
}

#[tokio::test]
async fn the_log_tells_writes_from_reads_sent_as_post() {
    let sim = Sim::start().await;
    let lead = sim.sim.add_lead(NewLead::email("a@x.com"));
    sim.get(LEADS).await;
    let read = sim
        .client
        .post(sim.url("/rest/v1/leads.json?_method=GET"))
        .form(&[("filterType", "email"), ("filterValues", "a@x.com")])
        .bearer_auth(&sim.token)
        .send()
        .await
        .expect("POST");
    assert_eq!(read.status(), 200);
    let body = json!({"statusName": "Invited", "input": [{"leadId": lead}]});
    sim.post(
        &format!("/rest/v1/programs/{PROGRAM}/members/status.json"),
        &body,
    )
    .await;
    let log: Vec<Value> = sim
        .control(Method::GET, "/__sim/requests", None)
        .await
        .1
        .as_array()
        .cloned()
        .expect("log");
    for entry in &log {
        for key in [
            "method",
            "path",
            "query",
            "client",
            "status",
            "error_code",
            "write",
        ] {
            assert!(entry.get(key).is_some(), "{key} missing in {entry}");
        }
    }
    let writes: Vec<(&str, bool)> = log
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or(""),
                e["write"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    assert_eq!(
        writes,
        [
            ("identity", false),
            ("rest", false),
            ("rest", false),
            ("rest", true)
        ]
    );
    assert_eq!(log[2]["query"], "_method=GET");
    assert_eq!(log[2]["body"], "filterType=email&filterValues=a%40x.com");
    assert_eq!(log[1]["query"], "filterType=email&filterValues=a@x.com");
    assert_eq!(
        log[0]["query"], "grant_type=client_credentials&client_id=sim-client&client_secret=***",
        "identity calls keep no secret"
    );
}

/// An injected 602 (or 601) ends the token the call presented: calling again with it is
/// refused after the fault is used up, and a new token works.
#[tokio::test]
async fn token_faults_end_the_presented_token() {
    for (code, then) in [("602", "602"), ("601", "601")] {
        let mut sim = Sim::start().await;
        let fault = json!({"error_code": code, "calls": 1});
        assert_eq!(
            sim.control(Method::POST, "/__sim/faults", Some(fault))
                .await
                .0,
            200
        );
        assert_eq!(error_of(&sim.get(LEADS).await).0, code);
        assert_eq!(
            error_of(&sim.get(LEADS).await).0,
            then,
            "the same token stays refused"
        );
        sim.token = super::fetch_token(&sim.client, &sim.sim.base_url()).await;
        result_of(&sim.get(LEADS).await);
    }
}

/// A control the simulator does not have (one of Salesforce's) is 404 naming this simulator,
/// not a REST call refused for its token.
#[tokio::test]
async fn a_control_it_does_not_have_is_404_naming_the_simulator() {
    let sim = Sim::start().await;
    let body = Some(json!({"url": "http://127.0.0.1:9/hook"}));
    let (status, error) = sim
        .control(Method::POST, "/__sim/outbound-endpoint", body)
        .await;
    assert_eq!(status, 404, "{error}");
    let message = error["error"].as_str().unwrap_or_default();
    assert!(
        message.contains("Marketo simulator") && message.contains("/__sim/outbound-endpoint"),
        "{error}"
    );
    let log = sim.control(Method::GET, "/__sim/requests", None).await.1;
    let logged = log.to_string();
    assert!(
        !logged.contains("outbound-endpoint"),
        "not a REST call: {log}"
    );
}
