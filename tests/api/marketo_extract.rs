//! The Marketo client's bulk program member extract against the simulator: records arrive 300
//! at a time from a streamed CSV, a transfer that breaks off resumes with `Range`, a failed job
//! is an error, a full queue (10 jobs of other integrations) is waited out, and an abandoned
//! extract cancels its job.

use std::time::Duration;

use campaign_sync::config::{MarketoConfig, Secret};
use campaign_sync::connectors::marketo::MarketoClient;
use campaign_sync::sim::marketo::{NewLead, SimClient};
use serde_json::{Value, json};

use crate::sim_marketo::{CLIENT_ID, CLIENT_SECRET, PROGRAM, Sim, fetch_token_as, result_of};

fn client(sim: &Sim, poll_secs: u64) -> MarketoClient {
    MarketoClient::new(&MarketoConfig {
        base_url: sim.sim.base_url(),
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        extract_poll_secs: poll_secs,
        ..MarketoConfig::default()
    })
    .expect("client")
}

async fn sim_with(members: usize, other_client: bool) -> (Sim, Vec<i64>) {
    let sim = Sim::start_with(|c| {
        c.export_status_interval = Duration::ZERO;
        if other_client {
            c.clients.push(SimClient {
                client_id: "other".into(),
                client_secret: "other-secret".into(),
            });
        }
    })
    .await;
    let leads: Vec<i64> = (0..members)
        .map(|i| {
            sim.sim
                .add_lead(NewLead::email(&format!("e{i}@example.com")))
        })
        .collect();
    for (i, lead) in leads.iter().enumerate() {
        let status = if i % 3 == 0 { "Registered" } else { "Invited" };
        sim.sim.set_status_as_user(PROGRAM, *lead, status).unwrap();
    }
    (sim, leads)
}

fn file_calls(sim: &Sim) -> usize {
    let log = sim.sim.requests();
    log.iter()
        .filter(|c| c.path.ends_with("/file.json"))
        .count()
}

#[tokio::test]
async fn members_arrive_a_page_at_a_time_and_a_broken_transfer_resumes() {
    let (sim, leads) = sim_with(700, false).await;
    sim.sim.cut_next_export_file(5_000);
    let marketo = client(&sim, 0);
    let mut pages = Vec::new();
    let mut seen = Vec::new();
    let count = marketo
        .extract_members(PROGRAM, |page| {
            pages.push(page.len());
            seen.extend(page);
        })
        .await
        .expect("extract");
    assert_eq!((count, pages), (700, vec![300, 300, 100]));
    assert_eq!(
        file_calls(&sim),
        2,
        "the rest asked for with Range after the break"
    );
    for (i, (member, lead)) in seen.iter().zip(&leads).enumerate() {
        assert_eq!(member.lead_id, *lead);
        let status = if i % 3 == 0 { "Registered" } else { "Invited" };
        assert_eq!(member.status_name.as_deref(), Some(status));
        assert!(member.updated_at.is_some());
    }
    let calls: Vec<String> = sim
        .sim
        .requests()
        .iter()
        .filter(|c| c.kind == "rest")
        .map(|c| {
            format!(
                "{} {}",
                c.method,
                c.path.rsplit('/').next().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            "POST create.json",
            "POST enqueue.json",
            "GET status.json",
            "GET status.json",
            "GET file.json",
            "GET file.json"
        ],
        "the job waited for, then its file"
    );
}

#[tokio::test]
async fn a_failed_job_is_an_error_naming_marketos_reason() {
    let (sim, _) = sim_with(3, false).await;
    sim.sim.fail_exports(Some("Export timed out"));
    let error = client(&sim, 0)
        .extract_members(PROGRAM, |_| {})
        .await
        .expect_err("a failed job");
    assert!(error.is_retryable(), "{error}");
    assert!(error.to_string().contains("Export timed out"), "{error}");
}

#[tokio::test]
async fn a_full_queue_is_waited_out() {
    let (sim, _) = sim_with(5, true).await;
    let http = reqwest::Client::new();
    let other = fetch_token_as(&http, &sim.url(""), "other", "other-secret").await;
    let mut theirs = Vec::new();
    for _ in 0..10 {
        let body = json!({ "fields": ["leadId"], "filter": { "programId": PROGRAM } });
        let created: Value = http
            .post(sim.url("/bulk/v1/program/members/export/create.json"))
            .bearer_auth(&other)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = result_of(&created)[0]["exportId"]
            .as_str()
            .unwrap()
            .to_string();
        http.post(sim.url(&format!(
            "/bulk/v1/program/members/export/{id}/enqueue.json"
        )))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
        theirs.push(id);
    }
    let marketo = client(&sim, 1);
    let extract = tokio::spawn(async move { marketo.extract_members(PROGRAM, |_| {}).await });
    // Wait for the refusal, then let the other integration's jobs end (cancelled here; in
    // Marketo they finish on their own).
    for _ in 0..500 {
        let refused = sim
            .sim
            .requests()
            .iter()
            .any(|c| c.error_code.as_deref() == Some("1029"));
        if refused {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for id in &theirs {
        http.post(sim.url(&format!("/bulk/v1/program/members/export/{id}/cancel.json")))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(extract.await.unwrap().expect("extract"), 5);
}

#[tokio::test]
async fn an_abandoned_extract_cancels_its_job() {
    // Marketo moves the job on once an hour here: it stays queued while the client waits.
    let sim = Sim::start_with(|c| c.export_status_interval = Duration::from_secs(3600)).await;
    let marketo = client(&sim, 1);
    let extract = tokio::spawn(async move { marketo.extract_members(PROGRAM, |_| {}).await });
    assert_eq!(
        job_status_soon(&sim, "Queued").await.as_deref(),
        Some("Queued")
    );
    // A shutdown or an ended reconciliation drops the extract mid-wait.
    extract.abort();
    assert!(extract.await.unwrap_err().is_cancelled());
    assert_eq!(
        job_status_soon(&sim, "Cancelled").await.as_deref(),
        Some("Cancelled"),
        "{:?}",
        sim.sim.export_jobs()
    );
}

/// The first export job's status once it is `wanted`, or what it is after about five seconds.
async fn job_status_soon(sim: &Sim, wanted: &str) -> Option<String> {
    let status = || {
        sim.sim
            .export_jobs()
            .first()
            .map(|job| job["status"].as_str().unwrap_or_default().to_string())
    };
    for _ in 0..500 {
        if status().as_deref() == Some(wanted) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    status()
}
