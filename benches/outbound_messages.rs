//! Acknowledged outbound messages per second: the real app on SQLite in a temp dir, 64
//! concurrent connections posting messages of 1 and of 100 CampaignMember notifications, each
//! notification new (so every one is a stored signal). Run with
//! `cargo bench --bench outbound_messages`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use campaign_sync::app::App;
use campaign_sync::config::{Config, Secret};
use campaign_sync::http::inbound::salesforce::{
    ACK_ENVELOPE, CampaignMemberFields, Notification, NotifiedObject, OutboundMessage,
    render_outbound_message,
};
use tokio_util::sync::CancellationToken;

const CONNECTIONS: usize = 64;
const WARM_UP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(10);
const TOKEN: &str = "bench-token";
const ORG: &str = "00D5g00000LmNoPEAV";

fn message(first_id: u64, notifications: u64) -> OutboundMessage {
    OutboundMessage {
        organization_id: ORG.into(),
        action_id: "04k5g0000004CmAAAU".into(),
        session_id: None,
        enterprise_url: Some(
            "https://acme.my.salesforce.com/services/Soap/c/62.0/00D5g00000LmNoP".into(),
        ),
        partner_url: Some(
            "https://acme.my.salesforce.com/services/Soap/u/62.0/00D5g00000LmNoP".into(),
        ),
        notifications: (first_id..first_id + notifications)
            .map(|n| Notification {
                id: format!("04l{n:012}"),
                object: NotifiedObject::CampaignMember(CampaignMemberFields {
                    id: format!("00v{n:012}"),
                    campaign_id: Some("7015g000000Zx9kAAC".into()),
                    lead_id: Some(format!("00Q{n:012}")),
                    contact_id: None,
                    email: Some(format!("person{n}@example.com")),
                    status: Some("Sent".into()),
                    has_responded: Some(false),
                    created_date: Some("2026-11-02T09:15:00.000Z".into()),
                    last_modified_date: Some("2026-11-02T09:15:00.000Z".into()),
                    system_modstamp: Some("2026-11-02T09:15:01.000Z".into()),
                }),
                raw: None,
            })
            .collect(),
        rejected: Vec::new(),
        repeats: 0,
    }
}

/// Posts messages from every connection until `until`; returns how many were acknowledged.
async fn load(url: Arc<String>, per_message: u64, ids: Arc<AtomicU64>, until: Instant) -> u64 {
    let client = reqwest::Client::new();
    let mut acknowledged = 0;
    while Instant::now() < until {
        let first = ids.fetch_add(per_message, Ordering::Relaxed);
        let body = render_outbound_message(&message(first, per_message));
        let response = client
            .post(url.as_str())
            .header("content-type", "text/xml; charset=UTF-8")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(
            status == 200 && text == ACK_ENVELOPE,
            "not acknowledged: {status} {text}"
        );
        acknowledged += 1;
    }
    acknowledged
}

async fn run(url: &Arc<String>, per_message: u64, ids: &Arc<AtomicU64>, length: Duration) -> f64 {
    let started = Instant::now();
    let until = started + length;
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(load(url.clone(), per_message, ids.clone(), until)))
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("load task");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = Config {
        listen: "127.0.0.1:0".parse()?,
        database_url: Secret::new(format!(
            "sqlite://{}",
            dir.path().join("bench.db").display()
        )),
        ..Config::default()
    };
    // The receiver alone: the worker (which would drain these unmapped signals and compete for
    // SQLite's single writer) runs elsewhere or later.
    config.worker.enabled = false;
    config.salesforce.organization_ids = vec![ORG.into()];
    config.salesforce.inbound_token = Secret::new(TOKEN);
    config.http.drain_delay_secs = 0;
    let shutdown = CancellationToken::new();
    let app = App::build(config, shutdown.clone()).await?;
    let url = Arc::new(format!(
        "http://{}/v1/salesforce/outbound-messages?token={TOKEN}",
        app.local_addr()
    ));
    let server = tokio::spawn(app.run());
    let ids = Arc::new(AtomicU64::new(1));
    println!("outbound messages, {CONNECTIONS} concurrent connections, SQLite (synchronous=FULL)");
    for per_message in [1, 100] {
        run(&url, per_message, &ids, WARM_UP).await;
        let rate = run(&url, per_message, &ids, MEASURE).await;
        println!(
            "{per_message:>3} notification(s)/message: {rate:>8.0} acknowledged messages/s ({:.0} notifications/s)",
            rate * per_message as f64
        );
    }
    shutdown.cancel();
    server.await??;
    Ok(())
}
