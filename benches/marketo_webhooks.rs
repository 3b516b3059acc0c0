//! Accepted Marketo webhooks per second at 64 concurrent connections against the real app on
//! SQLite (durable group commit), beside the `GET /healthz` rate of the same run: the no-work
//! ceiling of this machine. Prints both and their ratio.
//!
//! `cargo bench --bench marketo_webhooks` (about 35 s). `BENCH_SECS` changes each phase's length.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use campaign_sync::app::App;
use campaign_sync::config::{Config, Secret};
use campaign_sync::http::inbound::marketo::render_program_member;
use tokio_util::sync::CancellationToken;

const CONNECTIONS: usize = 64;
const TOKEN: &str = "bench-token";
/// Short alternating rounds, so load from other processes hits both endpoints alike.
const ROUNDS: usize = 6;

#[derive(Clone, Copy)]
enum Load {
    Healthz,
    Webhooks,
    /// Authenticated webhooks refused with 400 after parsing: the HTTP and parsing share.
    Rejected,
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let phase = Duration::from_secs(
        std::env::var("BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2),
    );
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
    config.marketo.webhook_token = Secret::new(TOKEN);
    config.http.drain_delay_secs = 0;
    let shutdown = CancellationToken::new();
    let app = App::build(config, shutdown.clone()).await?;
    let base = format!("http://{}", app.local_addr());
    let store = app.state().store().clone();
    let server = tokio::spawn(app.run());
    let lead_ids = Arc::new(AtomicI64::new(1));

    println!(
        "{CONNECTIONS} connections, {} s per phase, {ROUNDS} rounds",
        phase.as_secs()
    );
    drive(&base, Load::Healthz, Duration::from_secs(1), &lead_ids).await?;
    drive(&base, Load::Webhooks, Duration::from_secs(1), &lead_ids).await?;
    let (mut health_total, mut hook_total) = (0.0, 0.0);
    for round in 1..=ROUNDS {
        let health = drive(&base, Load::Healthz, phase, &lead_ids).await?;
        let hooks = drive(&base, Load::Webhooks, phase, &lead_ids).await?;
        println!(
            "round {round}: GET /healthz {health:>9.0} req/s   POST /v1/marketo/webhooks {hooks:>9.0} accepted/s   ratio {:.2}",
            hooks / health
        );
        health_total += health;
        hook_total += hooks;
    }
    let (health, hooks) = (health_total / ROUNDS as f64, hook_total / ROUNDS as f64);
    println!(
        "mean:    GET /healthz {health:>9.0} req/s   POST /v1/marketo/webhooks {hooks:>9.0} accepted/s   ratio {:.2}",
        hooks / health
    );
    let rejected = drive(&base, Load::Rejected, phase, &lead_ids).await?;
    println!(
        "POST /v1/marketo/webhooks refused with 400 (parsed, not stored): {rejected:>9.0} req/s   ratio {:.2}",
        rejected / health
    );
    let direct = record_directly(&store, phase, &lead_ids).await?;
    println!("store.record alone, {CONNECTIONS} concurrent callers: {direct:>9.0} signals/s");
    let stored: i64 = store.inbox_depth().await?.iter().map(|(_, n)| n).sum();
    let sent = lead_ids.load(Ordering::Relaxed) - 1;
    println!("signals stored: {stored} (accepted webhooks: {sent})");
    anyhow::ensure!(stored == sent, "every accepted webhook must be stored once");
    shutdown.cancel();
    server.await??;
    Ok(())
}

/// Runs `load` on [`CONNECTIONS`] keep-alive connections for `length`; answers per second.
async fn drive(
    base: &str,
    load: Load,
    length: Duration,
    lead_ids: &Arc<AtomicI64>,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        // One client each, so each task keeps exactly one connection.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()?;
        let base = base.to_string();
        let lead_ids = Arc::clone(lead_ids);
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                let response = request(&client, &base, load, &lead_ids).send().await?;
                let status = response.status().as_u16();
                response.bytes().await?;
                anyhow::ensure!(status == load.status(), "unexpected status {status}");
                done += 1;
            }
            anyhow::Ok(done)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// One request of `load`; each accepted webhook names a new lead, so none is a duplicate.
fn request(
    client: &reqwest::Client,
    base: &str,
    load: Load,
    lead_ids: &AtomicI64,
) -> reqwest::RequestBuilder {
    let body = match load {
        Load::Healthz => return client.get(format!("{base}/healthz")),
        Load::Webhooks => {
            let lead = lead_ids.fetch_add(1, Ordering::Relaxed);
            render_program_member(lead, 1001, Some("bench@example.com"), None)
        }
        Load::Rejected => render_program_member(1, 1001, None, None).replace("\"1\"", "\"x\""),
    };
    client
        .post(format!("{base}/v1/marketo/webhooks"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(body)
}

impl Load {
    fn status(self) -> u16 {
        match self {
            Load::Healthz => 200,
            Load::Webhooks => 202,
            Load::Rejected => 400,
        }
    }
}

/// The store's share: `Store::record` from [`CONNECTIONS`] tasks, no HTTP.
async fn record_directly(
    store: &campaign_sync::store::Store,
    length: Duration,
    lead_ids: &Arc<AtomicI64>,
) -> anyhow::Result<f64> {
    use campaign_sync::signal::{MarketoMember, NewSignal, Signal};
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let store = store.clone();
        let lead_ids = Arc::clone(lead_ids);
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                let lead_id = lead_ids.fetch_add(1, Ordering::Relaxed);
                let signal = Signal::MarketoMember(MarketoMember {
                    lead_id,
                    program_id: 1001,
                    email: None,
                    status: None,
                    trigger: None,
                });
                let dedup_key = format!("bench:{lead_id}");
                store
                    .record(
                        vec![NewSignal::new(dedup_key, signal)],
                        campaign_sync::store::now_millis(),
                    )
                    .await?;
                done += 1;
            }
            anyhow::Ok(done)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}
