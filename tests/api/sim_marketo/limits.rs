//! Limits: calls per window (606), calls in flight (615), the daily quota (607); identity calls
//! are not counted; injected transient faults (604/608/611/713) come back as HTTP 200 failures.

use std::time::Duration;

use super::{Sim, error_of, fetch_token, result_of};

const LEADS: &str = "/rest/v1/leads.json?filterType=id&filterValues=1";

#[tokio::test]
async fn rate_limit_answers_606_and_identity_is_not_counted() {
    let sim = Sim::start_with(|c| {
        c.rate_limit_calls = 3;
        c.rate_limit_window = Duration::from_secs(60);
    })
    .await;
    for _ in 0..5 {
        fetch_token(&sim.client, &sim.sim.base_url()).await;
    }
    for _ in 0..3 {
        result_of(&sim.get(LEADS).await);
    }
    let refused = sim.get(LEADS).await;
    assert_eq!(
        error_of(&refused),
        (
            "606".into(),
            "Max rate limit '3' exceeded with in '60' secs".into()
        )
    );
}

#[tokio::test]
async fn concurrency_limit_answers_615() {
    let sim = Sim::start_with(|c| {
        c.max_concurrency = 2;
        c.latency = Duration::from_secs(1);
    })
    .await;
    let calls = (0..3).map(|_| sim.get(LEADS));
    let bodies = futures::future::join_all(calls).await;
    let refused: Vec<_> = bodies.iter().filter(|b| b["success"] == false).collect();
    assert_eq!(refused.len(), 1, "{bodies:?}");
    assert_eq!(
        error_of(refused[0]),
        ("615".into(), "Concurrent access limit reached".into())
    );
    result_of(&sim.get(LEADS).await);
}

#[tokio::test]
async fn daily_quota_answers_607() {
    let sim = Sim::start_with(|c| c.daily_quota = 2).await;
    result_of(&sim.get(LEADS).await);
    result_of(&sim.get(LEADS).await);
    assert_eq!(error_of(&sim.get(LEADS).await).0, "607");
}

#[tokio::test]
async fn injected_transient_faults_fail_calls_in_order() {
    let sim = Sim::start().await;
    sim.sim
        .inject_faults(&["604", "608", "611", "713"])
        .expect("transient codes");
    let codes = [
        ("604", "Request time-out"),
        ("608", "API Temporarily Unavailable"),
        ("611", "System error"),
        ("713", "Transient Error"),
    ];
    for (code, message) in codes {
        assert_eq!(
            error_of(&sim.get(LEADS).await),
            (code.into(), message.into())
        );
    }
    result_of(&sim.get(LEADS).await);
    assert!(sim.sim.inject_faults(&["606"]).is_err());
}

#[tokio::test]
async fn random_faults_follow_the_seed() {
    let run = |seed| async move {
        let sim = Sim::start_with(|c| {
            c.transient_failure_rate = 0.5;
            c.seed = seed;
        })
        .await;
        let mut codes = Vec::new();
        for _ in 0..12 {
            let body = sim.get(LEADS).await;
            codes.push(body["errors"][0]["code"].as_str().map(str::to_string));
        }
        codes
    };
    let first = run(11).await;
    assert_eq!(first, run(11).await);
    assert!(first.iter().any(Option::is_some) && first.iter().any(Option::is_none));
}

#[tokio::test]
async fn the_call_log_names_client_status_code_and_records() {
    let sim = Sim::start().await;
    sim.sim.inject_faults(&["713"]).expect("713");
    sim.get(LEADS).await;
    let log: Vec<serde_json::Value> = sim
        .client
        .get(sim.url("/__sim/requests"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    let rest: Vec<_> = log.iter().filter(|e| e["kind"] == "rest").collect();
    assert_eq!(rest.len(), 1, "{log:?}");
    assert_eq!(rest[0]["client"], "sim-client");
    assert_eq!(rest[0]["method"], "GET");
    assert_eq!(rest[0]["path"], "/rest/v1/leads.json");
    assert_eq!(rest[0]["status"], 200);
    assert_eq!(rest[0]["error_code"], "713");
    assert_eq!(rest[0]["write"], false);
    assert!(log.iter().any(|e| e["kind"] == "identity"));
}
