//! Durably accepted Marketo webhooks per second at 64 concurrent connections against the real
//! binary (`campaign-sync serve` as a child process, SQLite with `synchronous=FULL`), beside the
//! `GET /healthz` rate of the same process in alternating rounds: the no-work ceiling of this
//! machine under the same load. Prints both, their ratio, where a commit's time goes (from the
//! service's `/metrics`), the CPU each side used and the service's peak resident memory; then
//! the same on PostgreSQL when `CAMPAIGN_SYNC_TEST_POSTGRES_URL` is set. The last line is
//! `durable webhook ingest ratio: 0.NN` (SQLite).
//!
//! `cargo bench --bench marketo_webhooks` (about a minute). `BENCH_SECS` changes each phase's
//! length.

#[path = "../tests/api/service_process.rs"]
#[expect(dead_code, reason = "the kill-during-burst test uses the rest")]
mod service_process;
#[path = "webhook_load/mod.rs"]
mod webhook_load;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use service_process::ServiceProcess;
use webhook_load::{Clients, Figures, Load, TOKEN, drive, measure};

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
    let lead_ids = Arc::new(AtomicI64::new(1));
    let dir = tempfile::tempdir()?;
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let service = ServiceProcess::spawn(&config(&sqlite_url));
    let clients = Clients::new(&service)?;
    let sqlite = measure("SQLite", &service, &clients, phase, &lead_ids).await?;
    let rejected = drive(&service, &clients, Load::Rejected, phase, &lead_ids).await?;
    println!(
        "POST /v1/marketo/webhooks refused with 400 (parsed, not stored): {:>7.0} req/s   ratio {:.2}   \
         CPU µs per request (service + load): {:.1} + {:.1}",
        rejected.rate,
        rejected.rate / sqlite.health,
        1e6 * rejected.service_cores / rejected.rate,
        1e6 * rejected.load_cores / rejected.rate,
    );
    drop(service);
    webhook_load::check_all_stored(&sqlite_url, sqlite.accepted).await?;

    let postgres = match postgres_url().await? {
        Some(url) => {
            let service = ServiceProcess::spawn(&config(&url));
            let clients = Clients::new(&service)?;
            let figures = measure("PostgreSQL", &service, &clients, phase, &lead_ids).await?;
            drop(service);
            webhook_load::check_all_stored(&url, figures.accepted).await?;
            Some(figures)
        }
        None => {
            println!("PostgreSQL: skipped (CAMPAIGN_SYNC_TEST_POSTGRES_URL is not set)");
            None
        }
    };
    summary("SQLite", &sqlite);
    if let Some(postgres) = &postgres {
        summary("PostgreSQL", postgres);
    }
    println!("durable webhook ingest ratio: {:.2}", sqlite.ratio());
    Ok(())
}

fn summary(label: &str, figures: &Figures) {
    println!(
        "{label}: {:.0} durable webhooks/s vs {:.0} GET /healthz/s (ratio {:.2}); peak resident \
         memory of the service {:.1} MiB",
        figures.webhooks,
        figures.health,
        figures.ratio(),
        figures.peak_kib as f64 / 1024.0
    );
}

/// The service alone: no worker (which would drain these unmapped signals and compete for
/// SQLite's single writer), info-level logs as shipped.
fn config(database_url: &str) -> String {
    format!(
        "database_url = {database_url:?}\n\
         [http]\ndrain_delay_secs = 0\n\
         [worker]\nenabled = false\n\
         [marketo]\nwebhook_token = {TOKEN:?}\n\
         base_url = \"http://127.0.0.1:9\"\nclient_id = \"unused\"\nclient_secret = \"unused\"\n\
         [salesforce]\ninbound_token = \"unused\"\norganization_ids = [\"00D000000000001\"]\n\
         login_url = \"http://127.0.0.1:9\"\nclient_id = \"unused\"\nclient_secret = \"unused\"\n"
    )
}

/// A fresh schema in the test PostgreSQL server, so runs never see each other's rows.
async fn postgres_url() -> anyhow::Result<Option<String>> {
    let Ok(base) = std::env::var("CAMPAIGN_SYNC_TEST_POSTGRES_URL") else {
        return Ok(None);
    };
    let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let admin = campaign_sync::store::Store::open(&base).await?;
    admin
        .execute_raw(&format!("CREATE SCHEMA {schema}"))
        .await?;
    admin.close().await;
    let separator = if base.contains('?') { '&' } else { '?' };
    Ok(Some(format!(
        "{base}{separator}options=-c%20search_path%3D{schema}"
    )))
}
