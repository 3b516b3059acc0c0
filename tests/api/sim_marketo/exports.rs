//! Bulk Program Member Extract: a job's states (Created → Queued → Processing → Completed, one
//! per status interval), its file (CSV, `null` for empty, quoted, `Range`), its filters and
//! options, and the documented limits: 10 queued, 2 processing, `1029`, the daily allowance,
//! `1035` for `updatedAt`, and jobs visible only to the user that created them.

use std::time::Duration;

use campaign_sync::sim::marketo::{NewLead, SimClient};
use serde_json::{Value, json};

use super::{PROGRAM, Sim, error_of, fetch_token_as, result_of};

const EXPORTS: &str = "/bulk/v1/program/members/export";

/// `n` members of the program at "Invited", the first two moved on to "Registered".
fn members(sim: &Sim, n: usize) -> Vec<i64> {
    let ids: Vec<i64> = (0..n)
        .map(|i| {
            let mut lead = NewLead::email(&format!("x{i}@example.com"));
            lead.first_name = (i != 1).then(|| format!("First, \"{i}\""));
            sim.sim.add_lead(lead)
        })
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let status = if i < 2 { "Registered" } else { "Invited" };
        sim.sim
            .set_status_as_user(PROGRAM, *id, status)
            .expect("join");
    }
    ids
}

async fn create(sim: &Sim, body: Value) -> Value {
    sim.post(&format!("{EXPORTS}/create.json"), &body).await
}

async fn job(sim: &Sim, id: &str, action: &str) -> Value {
    let path = format!("{EXPORTS}/{id}/{action}.json");
    if action == "status" {
        sim.get(&path).await
    } else {
        sim.post(&path, &json!({})).await
    }
}

fn one(body: &Value) -> Value {
    let result = result_of(body);
    assert_eq!(result.len(), 1, "{body}");
    result[0].clone()
}

fn program_job() -> Value {
    json!({ "fields": ["leadId", "statusName", "firstName", "updatedAt"], "filter": { "programId": PROGRAM } })
}

async fn file(sim: &Sim, id: &str, range: Option<&str>) -> (u16, String) {
    let mut request = sim
        .client
        .get(sim.url(&format!("{EXPORTS}/{id}/file.json")))
        .bearer_auth(&sim.token);
    if let Some(range) = range {
        request = request.header("Range", range);
    }
    let response = request.send().await.expect("file");
    let status = response.status().as_u16();
    (status, response.text().await.expect("text"))
}

#[tokio::test]
async fn a_job_moves_one_state_per_look_and_its_file_is_the_membership_as_csv() {
    let sim = Sim::start_with(|c| c.export_status_interval = Duration::ZERO).await;
    let ids = members(&sim, 3);
    let created = one(&create(&sim, program_job()).await);
    assert_eq!(
        (created["status"].as_str(), created["format"].as_str()),
        (Some("Created"), Some("CSV"))
    );
    let id = created["exportId"].as_str().unwrap().to_string();
    let (status, text) = file(&sim, &id, None).await;
    assert_eq!(status, 404, "no file before Completed: {text}");
    assert_eq!(
        one(&job(&sim, &id, "status").await)["status"],
        "Created",
        "not enqueued yet"
    );
    assert_eq!(one(&job(&sim, &id, "enqueue").await)["status"], "Queued");
    assert_eq!(one(&job(&sim, &id, "status").await)["status"], "Processing");
    // Changes after processing began are not in the file.
    sim.sim
        .set_status_as_user(PROGRAM, ids[2], "Attended")
        .unwrap();
    let done = one(&job(&sim, &id, "status").await);
    assert_eq!(done["status"], "Completed", "{done}");
    assert_eq!(done["numberOfRecords"], 3);
    let (status, text) = file(&sim, &id, None).await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "leadId,statusName,firstName,updatedAt");
    assert!(
        lines[1].starts_with(&format!("{},Registered,\"First, \"\"0\"\"\",20", ids[0])),
        "{text}"
    );
    assert!(
        lines[2].starts_with(&format!("{},Registered,null,", ids[1])),
        "{text}"
    );
    assert!(
        lines[3].starts_with(&format!("{},Invited,", ids[2])),
        "the snapshot: {text}"
    );
    assert_eq!(done["fileSize"], text.len());
    let checksum = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&text))
    );
    assert_eq!(done["fileChecksum"], checksum.as_str());
    let (status, tail) = file(&sim, &id, Some("bytes=10-")).await;
    assert_eq!((status, tail.as_str()), (206, &text[10..]));
    let (status, _) = file(&sim, &id, Some(&format!("bytes={}-", text.len()))).await;
    assert_eq!(status, 416);
    assert_eq!(
        error_of(&job(&sim, &id, "enqueue").await).0,
        "1029",
        "already queued"
    );
    assert_eq!(
        error_of(&job(&sim, &id, "cancel").await).0,
        "1003",
        "a finished job"
    );
}

#[tokio::test]
async fn filters_options_and_refusals() {
    let sim = Sim::start_with(|c| c.export_status_interval = Duration::ZERO).await;
    let ids = members(&sim, 3);
    let body = json!({
        "format": "TSV",
        "fields": ["leadId", "statusName"],
        "columnHeaderNames": { "leadId": "Lead Id" },
        "filter": { "programIds": [PROGRAM], "statusNames": ["Registered"] },
    });
    let id = one(&create(&sim, body).await)["exportId"]
        .as_str()
        .unwrap()
        .to_string();
    job(&sim, &id, "enqueue").await;
    job(&sim, &id, "status").await;
    assert_eq!(one(&job(&sim, &id, "status").await)["numberOfRecords"], 2);
    let (_, text) = file(&sim, &id, None).await;
    let expected = format!(
        "programId\tLead Id\tstatusName\n{PROGRAM}\t{}\tRegistered\n{PROGRAM}\t{}\tRegistered\n",
        ids[0], ids[1]
    );
    assert_eq!(text, expected);
    let refusals = [
        (json!({ "filter": { "programId": PROGRAM } }), "701"),
        (json!({ "fields": ["leadId"] }), "701"),
        (
            json!({ "fields": ["colour"], "filter": { "programId": PROGRAM } }),
            "1003",
        ),
        (json!({ "fields": ["leadId"], "filter": {} }), "1003"),
        (
            json!({ "fields": ["leadId"], "filter": { "programId": PROGRAM, "programIds": [PROGRAM] } }),
            "1003",
        ),
        (
            json!({ "fields": ["leadId"], "filter": { "programIds": (1..=11).collect::<Vec<i64>>() } }),
            "1003",
        ),
        (
            json!({ "fields": ["leadId"], "filter": { "programId": 77 } }),
            "1013",
        ),
        (
            json!({ "fields": ["leadId"], "filter": { "programId": PROGRAM, "statusNames": ["Won"] } }),
            "1003",
        ),
        (
            json!({ "fields": ["leadId"], "filter": { "programId": PROGRAM, "updatedAt": { "startAt": "2026-01-01T00:00:00Z", "endAt": "2026-01-02T00:00:00Z" } } }),
            "1035",
        ),
        (
            json!({ "fields": ["leadId"], "format": "XLS", "filter": { "programId": PROGRAM } }),
            "1003",
        ),
    ];
    for (body, code) in refusals {
        assert_eq!(
            error_of(&create(&sim, body.clone()).await).0,
            code,
            "{body}"
        );
    }
}

#[tokio::test]
async fn ten_jobs_queue_two_process_and_a_status_waits_for_the_interval() {
    let sim = Sim::start().await; // Marketo's interval: a status moves once a minute
    members(&sim, 1);
    let mut ids = Vec::new();
    for _ in 0..11 {
        let created = one(&create(&sim, program_job()).await);
        ids.push(created["exportId"].as_str().unwrap().to_string());
    }
    for id in &ids[..10] {
        assert_eq!(one(&job(&sim, id, "enqueue").await)["status"], "Queued");
    }
    let (code, message) = error_of(&job(&sim, &ids[10], "enqueue").await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("1029", "Too many jobs in queue")
    );
    assert_eq!(
        one(&job(&sim, &ids[0], "status").await)["status"],
        "Queued",
        "a minute has not passed"
    );
    assert_eq!(
        one(&job(&sim, &ids[0], "cancel").await)["status"],
        "Cancelled"
    );
    assert_eq!(
        one(&job(&sim, &ids[10], "enqueue").await)["status"],
        "Queued",
        "a place came free"
    );

    let sim = Sim::start_with(|c| c.export_status_interval = Duration::ZERO).await;
    members(&sim, 1);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = one(&create(&sim, program_job()).await)["exportId"]
            .as_str()
            .unwrap()
            .to_string();
        job(&sim, &id, "enqueue").await;
        ids.push(id);
    }
    job(&sim, &ids[0], "status").await;
    let states: Vec<Value> = sim
        .sim
        .export_jobs()
        .iter()
        .map(|j| j["status"].clone())
        .collect();
    assert_eq!(
        states,
        ["Processing", "Processing", "Queued"],
        "two run at once"
    );
}

#[tokio::test]
async fn the_daily_allowance_failures_and_other_users_jobs() {
    let sim = Sim::start_with(|c| {
        c.export_status_interval = Duration::ZERO;
        c.export_daily_bytes = 10;
        c.clients.push(SimClient {
            client_id: "other".into(),
            client_secret: "other-secret".into(),
        });
    })
    .await;
    members(&sim, 2);
    let id = one(&create(&sim, program_job()).await)["exportId"]
        .as_str()
        .unwrap()
        .to_string();
    let other = fetch_token_as(&sim.client, &sim.url(""), "other", "other-secret").await;
    let theirs: Value = sim
        .client
        .get(sim.url(&format!("{EXPORTS}/{id}/status.json")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_of(&theirs).0, "1013", "only its creator sees a job");
    for action in ["enqueue", "status", "status"] {
        job(&sim, &id, action).await;
    }
    assert!(sim.sim.export_jobs()[0]["fileSize"].as_u64().unwrap() > 10);
    let (code, message) = error_of(&create(&sim, program_job()).await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("1029", "Export daily quota exceeded")
    );

    let sim = Sim::start_with(|c| c.export_status_interval = Duration::ZERO).await;
    sim.sim.fail_exports(Some("Internal error"));
    let id = one(&create(&sim, program_job()).await)["exportId"]
        .as_str()
        .unwrap()
        .to_string();
    for action in ["enqueue", "status"] {
        job(&sim, &id, action).await;
    }
    let failed = one(&job(&sim, &id, "status").await);
    assert_eq!(
        (failed["status"].as_str(), failed["errorMsg"].as_str()),
        (Some("Failed"), Some("Internal error"))
    );
    assert_eq!(file(&sim, &id, None).await.0, 404);
}
