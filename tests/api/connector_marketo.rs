//! The Marketo connector against the Marketo simulator: token handling, batching, per-lead
//! results, and the classifier on Marketo's HTTP-200 failures.

use campaign_sync::config::{MarketoConfig, Secret};
use campaign_sync::connectors::CallError;
use campaign_sync::connectors::marketo::MarketoClient;
use campaign_sync::sim::marketo::NewLead;

use crate::sim_marketo::{CLIENT_ID, CLIENT_SECRET, PROGRAM, Sim};

fn client(sim: &Sim) -> MarketoClient {
    client_with(sim, |_| {})
}

fn client_with(sim: &Sim, adjust: impl FnOnce(&mut MarketoConfig)) -> MarketoClient {
    let mut config = MarketoConfig {
        base_url: sim.sim.base_url(),
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        ..MarketoConfig::default()
    };
    adjust(&mut config);
    MarketoClient::new(&config).expect("client")
}

#[tokio::test]
async fn status_sync_batches_reads_and_reports_each_lead() {
    let sim = Sim::start().await;
    let leads: Vec<i64> = (0..650)
        .map(|i| {
            sim.sim
                .add_lead(NewLead::email(&format!("p{i}@example.com")))
        })
        .collect();
    let marketo = client(&sim);
    let results = marketo
        .sync_status(PROGRAM, "Registered", &leads)
        .await
        .unwrap();
    assert_eq!(results.len(), 650);
    assert!(results.iter().all(|r| r.status == "created"));
    assert_eq!(marketo.calls_made(), 3, "≤300 leads per call");
    // Moving back is skipped with 1037, per lead, in input order.
    let back = marketo
        .sync_status(PROGRAM, "Invited", &leads[..2])
        .await
        .unwrap();
    assert_eq!(back[0].status, "skipped");
    assert_eq!(back[0].reasons[0].code, "1037");
    let members = marketo.members(PROGRAM, &leads).await.unwrap();
    assert_eq!(members.len(), 650);
    assert!(
        members
            .iter()
            .all(|m| m.status_name.as_deref() == Some("Registered"))
    );
    let gone = marketo.delete_members(PROGRAM, &leads[..1]).await.unwrap();
    assert_eq!(gone[0].status, "deleted");
}

#[tokio::test]
async fn an_expired_or_revoked_token_is_replaced_once() {
    let sim = Sim::start().await;
    let marketo = client(&sim);
    marketo.program(PROGRAM).await.unwrap();
    sim.sim.expire_tokens();
    assert_eq!(
        marketo.program(PROGRAM).await.unwrap().channel,
        "Online Advertising"
    );
    sim.sim.revoke_tokens();
    assert_eq!(marketo.program(PROGRAM).await.unwrap().id, PROGRAM);
}

#[tokio::test]
async fn http_200_failures_are_classified() {
    let sim = Sim::start_with(|c| c.rate_limit_calls = 2).await;
    let marketo = client(&sim);
    sim.sim.inject_faults(&["713"]).unwrap();
    let transient = marketo.program(PROGRAM).await.unwrap_err();
    assert!(
        matches!(transient, CallError::Retry { after: None, .. }),
        "{transient:?}"
    );
    let bad_credentials = MarketoClient::new(&MarketoConfig {
        base_url: sim.sim.base_url(),
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new("wrong"),
        ..MarketoConfig::default()
    })
    .expect("client");
    // Refused credentials need a person: the side pauses instead of failing each change.
    assert!(matches!(
        bad_credentials.program(PROGRAM).await,
        Err(CallError::Paused { reason, .. }) if reason.contains("credentials refused")
    ));
}

#[tokio::test]
async fn leads_are_found_by_email_and_created_when_missing() {
    let sim = Sim::start().await;
    let known = sim.sim.add_lead(NewLead::email("known@example.com"));
    let marketo = client(&sim);
    let found = marketo
        .leads_by("email", &["known@example.com".into()])
        .await
        .unwrap();
    assert_eq!(found[0].id, known);
    let created = marketo
        .create_leads(vec![serde_json::json!({ "email": "new@example.com" })])
        .await
        .unwrap();
    assert_eq!(created[0].status, "created");
    assert!(created[0].id.is_some());
    let statuses = marketo
        .channel_statuses("Online Advertising")
        .await
        .unwrap();
    assert_eq!(
        statuses.first().map(|s| s.name.as_str()),
        Some("Not in Program")
    );
}

#[tokio::test]
async fn an_unknown_program_is_a_permanent_error() {
    let sim = Sim::start().await;
    let missing = client(&sim).program(999_999).await.unwrap_err();
    assert!(!missing.is_retryable(), "{missing:?}");
}

#[tokio::test]
async fn a_rate_refusal_is_waited_out_within_the_call() {
    // Another integration shares the instance: Marketo allows 2 calls per second here.
    let sim = Sim::start_with(|c| {
        c.rate_limit_calls = 2;
        c.rate_limit_window = std::time::Duration::from_secs(1);
    })
    .await;
    let marketo = client(&sim);
    let started = std::time::Instant::now();
    for _ in 0..4 {
        marketo
            .program(PROGRAM)
            .await
            .expect("waited out, not failed");
    }
    // Four calls at two per second: the refused ones were retried after Marketo's window.
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    // The refusal waited out is what an operator sees while the change waits.
    let seen = campaign_sync::upstream::health("marketo", &sim.sim.base_url());
    assert_eq!(seen.up, Some(true));
    assert!(
        seen.last_refusal
            .as_deref()
            .is_some_and(|r| r.contains("606")),
        "{seen:?}"
    );
}

#[tokio::test]
async fn clones_share_one_rate_window_and_one_call_count() {
    let sim = Sim::start().await;
    // Two calls per 20 s for the whole process, however many parts of it call.
    let worker = client_with(&sim, |c| c.rate_limit_calls = 2);
    let outbox = worker.clone();
    worker.program(PROGRAM).await.unwrap();
    outbox.program(PROGRAM).await.unwrap();
    assert_eq!(worker.calls_made(), 2);
    assert_eq!(outbox.calls_made(), 2, "one count for both");
    // The window is full for both: a third call from either waits for it to pass.
    for client in [&worker, &outbox] {
        let third = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            client.program(PROGRAM),
        )
        .await;
        assert!(third.is_err(), "a third call inside the window must wait");
    }
}

/// The calls Marketo documents as slow (Add Custom Activities up to 90 s, Get Paging Token up
/// to 300 s) are waited for past `request_timeout_secs`, which still bounds the others.
#[tokio::test]
async fn calls_marketo_documents_as_slow_outwait_the_request_timeout() {
    let sim = Sim::start().await;
    let marketo = client_with(&sim, |c| c.request_timeout_secs = 1);
    let slow = || async {
        let added = reqwest::Client::new()
            .post(sim.url("/__sim/faults"))
            .json(&serde_json::json!({ "latency_ms": 1500, "calls": 1 }))
            .send()
            .await
            .unwrap();
        assert!(added.status().is_success());
    };
    // The token is taken first, so each fault delays the call under test.
    marketo
        .activity_paging_token("2026-01-01T00:00:00Z")
        .await
        .unwrap();
    slow().await;
    let ordinary = marketo.members(PROGRAM, &[1]).await;
    assert!(
        matches!(&ordinary, Err(e) if e.is_retryable() && e.to_string().contains("timed out")),
        "{ordinary:?}"
    );
    slow().await;
    marketo
        .activity_paging_token("2026-01-01T00:00:00Z")
        .await
        .expect("the paging token is waited for");
    slow().await;
    let activity = serde_json::json!({ "leadId": 1, "activityDate": "2026-01-01T00:00:00Z", "activityTypeId": 100001, "primaryAttributeValue": "x", "attributes": [] });
    let posted = marketo
        .post_custom_activities(&[activity])
        .await
        .expect("posting activities is waited for");
    assert_eq!(posted.len(), 1);
}
