//! Durability under a crash: the real binary receives a burst of Marketo webhooks and Salesforce
//! outbound messages from many concurrent clients, is killed with SIGKILL mid-burst, and every
//! signal it acknowledged must be in the database afterwards (SQLite with `synchronous=FULL`;
//! PostgreSQL when `CAMPAIGN_SYNC_TEST_POSTGRES_URL` is set).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use campaign_sync::http::inbound::marketo::render_program_member;
use sqlx::Row;
use sqlx::any::AnyPoolOptions;
use tokio::sync::Mutex;

use crate::service_process::ServiceProcess;
use crate::test_app::TestDb;

const WEBHOOK_TOKEN: &str = "kill-burst-webhook-token";
const INBOUND_TOKEN: &str = "kill-burst-inbound-token";
const ORG: &str = "00D000000000001";
const WEBHOOK_CLIENTS: usize = 32;
const MESSAGE_CLIENTS: usize = 8;
const PER_MESSAGE: u64 = 10;
/// Acknowledgements to collect before the kill: enough that the kill lands mid-burst with
/// many commits behind it, few enough for a debug build on a busy machine.
const WEBHOOKS_BEFORE_KILL: u64 = 1500;
const MESSAGES_BEFORE_KILL: u64 = 40;

#[tokio::test]
async fn kill_during_burst_keeps_every_acknowledged_signal_sqlite() {
    burst_then_kill(TestDb::sqlite()).await;
}

#[tokio::test]
async fn kill_during_burst_keeps_every_acknowledged_signal_postgres() {
    match TestDb::postgres().await {
        Some(db) => burst_then_kill(db).await,
        None => eprintln!(
            "SKIPPED kill_during_burst on PostgreSQL: CAMPAIGN_SYNC_TEST_POSTGRES_URL is not set"
        ),
    }
}

/// What the clients were told was stored: signal id → lead id for webhooks, notification ids
/// for outbound messages.
#[derive(Default)]
struct Acknowledged {
    webhooks: HashMap<i64, i64>,
    notifications: Vec<String>,
}

struct Burst {
    acknowledged: Mutex<Acknowledged>,
    webhooks: AtomicU64,
    messages: AtomicU64,
    next_id: AtomicU64,
    killed: AtomicBool,
    /// Requests that got no acknowledgement after the kill: proof it landed mid-burst.
    cut_off: AtomicU64,
}

async fn burst_then_kill(db: TestDb) {
    let mut service = ServiceProcess::spawn(&config(&db.url));
    let burst = Arc::new(Burst {
        acknowledged: Mutex::default(),
        webhooks: AtomicU64::new(0),
        messages: AtomicU64::new(0),
        next_id: AtomicU64::new(1),
        killed: AtomicBool::new(false),
        cut_off: AtomicU64::new(0),
    });
    let mut clients = Vec::new();
    for _ in 0..WEBHOOK_CLIENTS {
        let url = service.url("/v1/marketo/webhooks");
        clients.push(tokio::spawn(send_webhooks(url, Arc::clone(&burst))));
    }
    for _ in 0..MESSAGE_CLIENTS {
        let url = service.url(&format!(
            "/v1/salesforce/outbound-messages?token={INBOUND_TOKEN}"
        ));
        clients.push(tokio::spawn(send_messages(url, Arc::clone(&burst))));
    }
    let started = Instant::now();
    while burst.webhooks.load(Ordering::Relaxed) < WEBHOOKS_BEFORE_KILL
        || burst.messages.load(Ordering::Relaxed) < MESSAGES_BEFORE_KILL
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}: only {} webhooks and {} messages acknowledged in 60 s; service log:\n{}",
            db.label,
            burst.webhooks.load(Ordering::Relaxed),
            burst.messages.load(Ordering::Relaxed),
            service.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let memory = service.memory().expect("read the service's memory");
    burst.killed.store(true, Ordering::SeqCst);
    service.kill();
    eprintln!(
        "{}: service pid {} killed mid-burst at {:.1} MiB resident (peak {:.1} MiB)",
        db.label,
        service.pid(),
        memory.now_kib as f64 / 1024.0,
        memory.peak_kib as f64 / 1024.0
    );
    for client in clients {
        client.await.expect("client task");
    }
    let acknowledged = std::mem::take(&mut *burst.acknowledged.lock().await);
    assert!(
        burst.cut_off.load(Ordering::Relaxed) > 0,
        "no request was in flight at the kill"
    );
    check_stored(&db, &acknowledged).await;
}

fn config(database_url: &str) -> String {
    format!(
        "database_url = {database_url:?}\n\
         [http]\ndrain_delay_secs = 0\n\
         [worker]\nenabled = false\n\
         [marketo]\nwebhook_token = {WEBHOOK_TOKEN:?}\n\
         base_url = \"http://127.0.0.1:9\"\nclient_id = \"unused\"\nclient_secret = \"unused\"\n\
         [salesforce]\ninbound_token = {INBOUND_TOKEN:?}\norganization_ids = [{ORG:?}]\n\
         login_url = \"http://127.0.0.1:9\"\nclient_id = \"unused\"\nclient_secret = \"unused\"\n"
    )
}

async fn send_webhooks(url: String, burst: Arc<Burst>) {
    let client = reqwest::Client::new();
    loop {
        let lead = burst.next_id.fetch_add(1, Ordering::Relaxed) as i64;
        let body = render_program_member(lead, 1001, Some("burst@example.com"), None);
        let sent = client
            .post(&url)
            .header("authorization", format!("Bearer {WEBHOOK_TOKEN}"))
            .body(body)
            .send()
            .await;
        let answer = match sent {
            Ok(response) if response.status() == 202 => response.json::<serde_json::Value>().await,
            Ok(response) => {
                assert!(
                    burst.killed.load(Ordering::SeqCst),
                    "webhook answered {} before the kill",
                    response.status()
                );
                break;
            }
            Err(error) => Err(error),
        };
        match answer {
            Ok(body) => {
                let id = body["id"].as_i64().expect("202 body has an id");
                burst.acknowledged.lock().await.webhooks.insert(id, lead);
                burst.webhooks.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                assert!(
                    burst.killed.load(Ordering::SeqCst),
                    "webhook failed before the kill: {error}"
                );
                burst.cut_off.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

async fn send_messages(url: String, burst: Arc<Burst>) {
    let client = reqwest::Client::new();
    loop {
        let first = burst.next_id.fetch_add(PER_MESSAGE, Ordering::Relaxed);
        let ids: Vec<String> = (first..first + PER_MESSAGE)
            .map(|n| format!("04l{n:012}AAA"))
            .collect();
        let sent = client
            .post(&url)
            .header("content-type", "text/xml; charset=UTF-8")
            .body(outbound_message(&ids))
            .send()
            .await;
        let answer = match sent {
            Ok(response) => {
                let status = response.status();
                response.text().await.map(|text| (status, text))
            }
            Err(error) => Err(error),
        };
        match answer {
            Ok((status, text)) if status == 200 && text.contains("<Ack>true</Ack>") => {
                burst.acknowledged.lock().await.notifications.extend(ids);
                burst.messages.fetch_add(1, Ordering::Relaxed);
            }
            other => {
                assert!(
                    burst.killed.load(Ordering::SeqCst),
                    "outbound message not acknowledged before the kill: {other:?}"
                );
                burst.cut_off.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

/// An outbound message of one CampaignMember notification per id, written out by hand so the
/// test sends exactly what Salesforce does.
fn outbound_message(notification_ids: &[String]) -> String {
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>\
         <notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\">\
         <OrganizationId>{ORG}</OrganizationId><ActionId>04k000000000001AAA</ActionId>"
    );
    for id in notification_ids {
        let n = &id[3..15];
        // A real id: the case-safe suffix follows from the first 15 characters.
        let lead = campaign_sync::ids::SalesforceId::parse(&format!("00Q{n}"))
            .expect("a 15-character id")
            .long();
        body.push_str(&format!(
            "<Notification><Id>{id}</Id>\
             <sObject xsi:type=\"sf:CampaignMember\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">\
             <sf:Id>00v{n}AAA</sf:Id><sf:CampaignId>701000000000001AAA</sf:CampaignId>\
             <sf:LeadId>{lead}</sf:LeadId><sf:Status>Sent</sf:Status>\
             <sf:SystemModstamp>2026-11-02T09:15:01.000Z</sf:SystemModstamp>\
             </sObject></Notification>"
        ));
    }
    body.push_str("</notifications></soapenv:Body></soapenv:Envelope>");
    body
}

/// Opens the database the killed service wrote and finds every acknowledged signal in it.
async fn check_stored(db: &TestDb, acknowledged: &Acknowledged) {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&db.url)
        .await
        .expect("open the killed service's database");
    let rows = sqlx::query("SELECT id, dedup_key, payload FROM signals")
        .fetch_all(&pool)
        .await
        .expect("read signals");
    let mut leads_by_id = HashMap::new();
    let mut keys = HashSet::new();
    for row in &rows {
        let id: i64 = row.get(0);
        let key: String = row.get(1);
        let payload: String = row.get(2);
        if key.starts_with("mkto:") {
            let payload: serde_json::Value = serde_json::from_str(&payload).expect("payload");
            leads_by_id.insert(id, payload["lead_id"].as_i64().expect("lead_id"));
        }
        keys.insert(key);
    }
    pool.close().await;
    let lost_webhooks: Vec<_> = acknowledged
        .webhooks
        .iter()
        .filter(|(id, lead)| leads_by_id.get(id) != Some(lead))
        .collect();
    let lost_notifications: Vec<_> = acknowledged
        .notifications
        .iter()
        .filter(|id| !keys.contains(&format!("sf:notification:{id}")))
        .collect();
    assert!(
        lost_webhooks.is_empty() && lost_notifications.is_empty(),
        "{}: {} of {} acknowledged webhooks and {} of {} acknowledged notifications are missing \
         after SIGKILL (first: {:?} {:?})",
        db.label,
        lost_webhooks.len(),
        acknowledged.webhooks.len(),
        lost_notifications.len(),
        acknowledged.notifications.len(),
        lost_webhooks.first(),
        lost_notifications.first(),
    );
    eprintln!(
        "{}: all {} acknowledged webhooks and {} acknowledged notifications survived SIGKILL \
         ({} signals stored)",
        db.label,
        acknowledged.webhooks.len(),
        acknowledged.notifications.len(),
        rows.len()
    );
}
