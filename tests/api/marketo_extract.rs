//! The Marketo client's bulk program member extract against the simulator: records arrive 300
//! at a time from a streamed CSV, a transfer that breaks off resumes with `Range`, a failed job
//! is an error, a full queue (10 jobs of other integrations) is waited out, an abandoned
//! extract cancels its job, and the ledger of open jobs hears of each one, so a job left by a
//! stopped process is cancelled by the next extract.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use campaign_sync::config::{MarketoConfig, Secret};
use campaign_sync::connectors::marketo::{ExtractLedger, MarketoClient, NoLedger};
use campaign_sync::sim::marketo::{NewLead, SimClient};

use crate::sim_marketo::{
    CLIENT_ID, CLIENT_SECRET, PROGRAM, Sim, create_export_job, export_job_action, fetch_token_as,
};

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
        .extract_members(PROGRAM, &NoLedger, |page| {
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
    let ledger = Ledger::default();
    let error = client(&sim, 0)
        .extract_members(PROGRAM, &ledger, |_| {})
        .await
        .expect_err("a failed job");
    assert!(error.is_retryable(), "{error}");
    assert!(error.to_string().contains("Export timed out"), "{error}");
    let id = first_job_id(&sim);
    assert_eq!(
        ledger.events(),
        [format!("opened {id} {PROGRAM}"), format!("closed {id}")],
        "Marketo refuses to cancel an ended job: the record is closed all the same"
    );
}

#[tokio::test]
async fn an_extract_keeps_its_job_open_in_the_ledger_while_it_waits() {
    let (sim, _) = sim_with(4, false).await;
    let ledger = Ledger::default();
    let read = client(&sim, 1)
        .extract_members(PROGRAM, &ledger, |_| {})
        .await
        .expect("extract");
    assert_eq!(read, 4);
    let id = first_job_id(&sim);
    let events = ledger.events();
    let (first, rest) = events.split_first().expect("events");
    let (last, waits) = rest.split_last().expect("more events");
    assert_eq!(first, &format!("opened {id} {PROGRAM}"), "{events:?}");
    assert_eq!(last, &format!("closed {id}"), "{events:?}");
    assert!(
        !waits.is_empty() && waits.iter().all(|e| *e == format!("alive {id}")),
        "alive after each wait of the job: {events:?}"
    );
}

#[tokio::test]
async fn a_job_left_by_a_stopped_process_is_cancelled_by_the_next_extract() {
    // Jobs stay where they are: the left job queued, the new one waiting.
    let sim = Sim::start_with(|c| c.export_status_interval = Duration::from_secs(3600)).await;
    let http = reqwest::Client::new();
    let token = fetch_token_as(&http, &sim.url(""), CLIENT_ID, CLIENT_SECRET).await;
    let base = sim.url("");
    let left = create_export_job(&http, &base, &token, PROGRAM).await;
    export_job_action(&http, &base, &token, &left, "enqueue").await;
    // One the ledger names though it has ended already: Marketo refuses to cancel it.
    let ended = create_export_job(&http, &base, &token, PROGRAM).await;
    export_job_action(&http, &base, &token, &ended, "cancel").await;
    let ledger = Ledger::default();
    ledger
        .left
        .lock()
        .unwrap()
        .extend([left.clone(), ended.clone()]);

    let marketo = client(&sim, 1);
    let waiting = ledger.clone();
    let extract =
        tokio::spawn(async move { marketo.extract_members(PROGRAM, &waiting, |_| {}).await });
    let mut ours = None;
    for _ in 0..500 {
        ours = sim
            .sim
            .export_jobs()
            .get(2)
            .map(|job| job["exportId"].clone());
        if ours.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ours = ours.expect("a new job");
    assert_eq!(status_of(&sim, &left), "Cancelled");
    assert_eq!(status_of(&sim, &ended), "Cancelled");
    extract.abort();
    let _ = extract.await;
    let ours = ours.as_str().unwrap();
    for _ in 0..500 {
        if ledger.events().len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        ledger.events(),
        [
            format!("closed {left}"),
            format!("closed {ended}"),
            format!("opened {ours} {PROGRAM}"),
            format!("closed {ours}"),
        ],
        "both left jobs closed, then the new one opened and, abandoned, cancelled and closed"
    );
    assert_eq!(status_of(&sim, ours), "Cancelled");
}

#[tokio::test]
async fn a_job_left_while_an_extract_waits_is_cancelled_at_its_next_heartbeat() {
    let sim = Sim::start_with(|c| c.export_status_interval = Duration::from_secs(3600)).await;
    let ledger = Ledger::default();
    let marketo = client(&sim, 1);
    let waiting = ledger.clone();
    let extract =
        tokio::spawn(async move { marketo.extract_members(PROGRAM, &waiting, |_| {}).await });
    // Another process's job, whose process is killed while this extract waits.
    let http = reqwest::Client::new();
    let base = sim.url("");
    let token = fetch_token_as(&http, &base, CLIENT_ID, CLIENT_SECRET).await;
    let left = create_export_job(&http, &base, &token, PROGRAM).await;
    export_job_action(&http, &base, &token, &left, "enqueue").await;
    ledger.left.lock().unwrap().push(left.clone());
    // The job is cancelled in Marketo first, then closed in the ledger: wait for both.
    let closed = format!("closed {left}");
    for _ in 0..500 {
        if status_of(&sim, &left) == "Cancelled" && ledger.events().contains(&closed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(status_of(&sim, &left), "Cancelled");
    assert!(ledger.events().contains(&closed), "{:?}", ledger.events());
    assert!(
        !extract.is_finished(),
        "the extract still waits for its own job"
    );
    extract.abort();
}

#[tokio::test]
async fn a_left_job_marketo_cannot_be_asked_about_stays_open() {
    let ledger = Ledger::default();
    ledger.left.lock().unwrap().push("left-job".into());
    // Nothing answers at this address: neither the cancel nor the new job gets through.
    let unreachable = MarketoClient::new(&MarketoConfig {
        base_url: "http://127.0.0.1:9".into(),
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        ..MarketoConfig::default()
    })
    .unwrap();
    let error = unreachable
        .extract_members(PROGRAM, &ledger, |_| {})
        .await
        .expect_err("unreachable");
    assert!(error.is_retryable(), "{error}");
    assert!(
        ledger.events().is_empty(),
        "the left job stays open for a later extract: {:?}",
        ledger.events()
    );
}

#[tokio::test]
async fn a_full_queue_is_waited_out() {
    let (sim, _) = sim_with(5, true).await;
    let http = reqwest::Client::new();
    let other = fetch_token_as(&http, &sim.url(""), "other", "other-secret").await;
    let mut theirs = Vec::new();
    let base = sim.url("");
    for _ in 0..10 {
        let id = create_export_job(&http, &base, &other, PROGRAM).await;
        export_job_action(&http, &base, &other, &id, "enqueue").await;
        theirs.push(id);
    }
    let marketo = client(&sim, 1);
    let extract =
        tokio::spawn(async move { marketo.extract_members(PROGRAM, &NoLedger, |_| {}).await });
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
        export_job_action(&http, &base, &other, id, "cancel").await;
    }
    assert_eq!(extract.await.unwrap().expect("extract"), 5);
}

#[tokio::test]
async fn an_abandoned_extract_cancels_its_job() {
    // Marketo moves the job on once an hour here: it stays queued while the client waits.
    let sim = Sim::start_with(|c| c.export_status_interval = Duration::from_secs(3600)).await;
    let marketo = client(&sim, 1);
    let extract =
        tokio::spawn(async move { marketo.extract_members(PROGRAM, &NoLedger, |_| {}).await });
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

/// A ledger that records what it hears and names `left` as left behind, once.
#[derive(Clone, Default)]
struct Ledger {
    left: Arc<Mutex<Vec<String>>>,
    events: Arc<Mutex<Vec<String>>>,
}

impl Ledger {
    fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    fn hear(&self, event: String) {
        self.events.lock().unwrap().push(event);
    }
}

impl ExtractLedger for Ledger {
    async fn opened(&self, export_id: &str, program_id: i64) {
        self.hear(format!("opened {export_id} {program_id}"));
    }
    async fn alive(&self, export_id: &str) {
        self.hear(format!("alive {export_id}"));
    }
    async fn closed(&self, export_id: &str) {
        self.hear(format!("closed {export_id}"));
    }
    async fn left_behind(&self) -> Vec<String> {
        std::mem::take(&mut *self.left.lock().unwrap())
    }
}

fn first_job_id(sim: &Sim) -> String {
    sim.sim.export_jobs()[0]["exportId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn status_of(sim: &Sim, id: &str) -> String {
    sim.sim
        .export_jobs()
        .iter()
        .find(|job| job["exportId"] == id)
        .map(|job| job["status"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}
