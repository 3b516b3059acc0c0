//! `campaign-sync sandbox`: the service on SQLite plus both simulators on loopback, wired like
//! the real systems (outbound messages to the service, webhooks to the service) and seeded with a
//! demo, so a newcomer can change a status on one side and watch it appear on the other.

mod describe;
mod seed;
mod simulators;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::{Config, Secret};
use crate::sim::marketo::{MarketoSim, MarketoSimConfig, SimClient as MarketoClientConfig};
use crate::sim::salesforce::{OutboundConfig, SalesforceSim, SalesforceSimConfig, SimClient};

pub use describe::{Description, Simulators};
pub use simulators::{SimulatorsOptions, run_simulators};

/// Credentials the sandbox gives each party; fixed, so the printed guide can be copied.
pub const INTEGRATION_ID: &str = "campaign-sync";
pub const INTEGRATION_SECRET: &str = "campaign-sync-secret";
pub const USER_ID: &str = "sandbox-user";
pub const USER_SECRET: &str = "sandbox-user-secret";
pub const INBOUND_TOKEN: &str = "sandbox-outbound-token";
pub const WEBHOOK_TOKEN: &str = "sandbox-webhook-token";
pub const ADMIN_TOKEN: &str = "sandbox-admin-token";

pub struct SandboxOptions {
    /// Where the SQLite file goes; a temporary directory when `None`.
    pub dir: Option<PathBuf>,
    /// The service's address; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Write the JSON description of the running sandbox here.
    pub describe: Option<PathBuf>,
    /// The simulators' addresses; port 0 picks a free one.
    pub listen_salesforce: SocketAddr,
    pub listen_marketo: SocketAddr,
    /// The Salesforce simulator's generic login host; a free port beside it when `None`.
    pub listen_salesforce_login: Option<SocketAddr>,
}

/// The simulators are seeded anew at every start, so a database an earlier sandbox left in
/// `dir` would remember people and statuses they no longer hold (and take the guide's first
/// change for an echo). It is removed, with a line saying so.
fn fresh_database(dir: &std::path::Path) -> anyhow::Result<()> {
    let db = dir.join("campaign-sync.db");
    if !db.exists() {
        return Ok(());
    }
    // Not while another sandbox or service uses it: that one holds the file's lock.
    let _lock = crate::instance_lock::acquire(&format!("sqlite://{}", db.display()))?;
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        if file.exists() {
            std::fs::remove_file(&file).with_context(|| format!("removing {}", file.display()))?;
        }
    }
    eprintln!(
        "sandbox: removed the database an earlier sandbox left in {} (the simulators start afresh, so the sync state does too)",
        dir.display()
    );
    Ok(())
}

/// Runs until `shutdown` is cancelled.
pub async fn run(options: SandboxOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    // Before seeding anything: a taken port is said at once, with the way out.
    std::net::TcpListener::bind(options.listen).map_err(|e| {
        anyhow::anyhow!(
            "binding {}: {e}; choose another address with --listen (127.0.0.1:0 picks a free port)",
            options.listen
        )
    })?;
    let temp = match &options.dir {
        Some(_) => None,
        None => Some(tempfile::tempdir().context("creating a temporary directory")?),
    };
    let dir = options.dir.clone().unwrap_or_else(|| {
        temp.as_ref()
            .map(|t| t.path().to_path_buf())
            .unwrap_or_default()
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    fresh_database(&dir)?;
    // The endpoint is set once the service has its address.
    let config = SalesforceSimConfig {
        generic_login_address: options.listen_salesforce_login,
        ..salesforce_config("http://127.0.0.1:9/not-yet")
    };
    let salesforce = SalesforceSim::spawn_on(config, options.listen_salesforce)
        .await
        .with_context(|| {
            format!(
                "starting the Salesforce simulator on {} (its generic login host on {}); choose \
                 others with --listen-salesforce and --listen-salesforce-login",
                options.listen_salesforce,
                options
                    .listen_salesforce_login
                    .map_or("a free port".to_string(), |a| a.to_string()),
            )
        })?;
    let marketo = MarketoSim::spawn_on(marketo_config(), options.listen_marketo)
        .await
        .with_context(|| {
            format!(
                "starting the Marketo simulator on {}; choose another with --listen-marketo",
                options.listen_marketo
            )
        })?;
    let mut config = Config {
        listen: options.listen,
        database_url: Secret::new(format!(
            "sqlite://{}",
            dir.join("campaign-sync.db").display()
        )),
        ..Config::default()
    };
    config.admin.token = Secret::new(ADMIN_TOKEN);
    config.http.drain_delay_secs = 0;
    salesforce.configure_service(&mut config.salesforce, INTEGRATION_ID)?;
    config.salesforce.inbound_token = Secret::new(INBOUND_TOKEN);
    config.marketo.base_url = marketo.base_url();
    config.marketo.client_id = INTEGRATION_ID.into();
    config.marketo.client_secret = Secret::new(INTEGRATION_SECRET);
    config.marketo.webhook_token = Secret::new(WEBHOOK_TOKEN);
    config.worker.batch_linger_ms = 20;
    config.schedules.deleted_poll_secs = 5;
    // A lost webhook or outbound message shows up within seconds here, not a minute.
    config.schedules.marketo_activity_secs = 10;
    config.schedules.salesforce_changes_secs = 10;
    config.schedules.program_settings_secs = 10;
    config.schedules.reconcile_secs = 600;
    let amounts = seed::Amounts {
        programs: 2,
        people: 4,
        members_everywhere: false,
    };
    let Some(demo) = seed::seed(&salesforce, &marketo, amounts, &shutdown)? else {
        return Ok(());
    };
    config.mappings = demo.mappings.clone();
    // Marketers' triggers: the custom activity types trigger events are posted as.
    let marketo_client = crate::connectors::marketo::MarketoClient::new(&config.marketo)?;
    let provisioned = crate::outbox::provision::provision(&marketo_client)
        .await
        .map_err(|e| anyhow::anyhow!("provisioning the custom activity types: {e}"))?;
    tracing::info!(types = ?provisioned, "custom activity types provisioned");
    let app = App::build(config, shutdown.clone()).await?;
    let service_url = format!("http://{}", crate::sim::reachable(app.local_addr()));
    salesforce.set_outbound_endpoint(&format!(
        "{service_url}/v1/salesforce/outbound-messages?token={INBOUND_TOKEN}"
    ));
    seed::connect_webhooks(&marketo, &demo, &service_url);
    let description = Description::new(&service_url, &salesforce, &marketo, &demo);
    if let Some(path) = &options.describe {
        std::fs::write(path, serde_json::to_vec_pretty(&description)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let kept = temp.is_none();
    // Stopped while starting (Ctrl-C during the seed or the build): no guide to a sandbox that
    // is about to go.
    if !shutdown.is_cancelled() {
        println!("{}", describe::guide(&description, &dir, kept));
    }
    let result = app.run().await;
    drop((salesforce, marketo, temp));
    result
}

/// The Salesforce org of the sandbox and the simulators, sending outbound messages to
/// `endpoint` (none while it is empty).
fn salesforce_config(endpoint: &str) -> SalesforceSimConfig {
    let mut outbound = OutboundConfig::to(endpoint);
    outbound.retry_initial = Duration::from_secs(1);
    outbound.retry_max = Duration::from_secs(30);
    SalesforceSimConfig {
        clients: vec![
            // Like the recommended integration user: no "Send Outbound Messages".
            SimClient::new(INTEGRATION_ID, INTEGRATION_SECRET, false),
            SimClient::new(USER_ID, USER_SECRET, true),
        ],
        outbound: Some(outbound),
        ..SalesforceSimConfig::default()
    }
}

/// The Marketo instance of the sandbox and the simulators: Marketo's limits, both clients.
fn marketo_config() -> MarketoSimConfig {
    MarketoSimConfig {
        clients: vec![
            MarketoClientConfig {
                client_id: INTEGRATION_ID.into(),
                client_secret: INTEGRATION_SECRET.into(),
            },
            MarketoClientConfig {
                client_id: USER_ID.into(),
                client_secret: USER_SECRET.into(),
            },
        ],
        ..MarketoSimConfig::default()
    }
}

#[cfg(test)]
mod fresh_tests {
    use super::*;

    #[test]
    fn a_database_left_by_an_earlier_sandbox_is_removed_unless_one_still_uses_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("campaign-sync.db");
        let wal = dir.path().join("campaign-sync.db-wal");
        std::fs::write(&db, b"old").unwrap();
        std::fs::write(&wal, b"old").unwrap();
        let url = format!("sqlite://{}", db.display());
        let held = crate::instance_lock::acquire(&url).unwrap();
        let refused = fresh_database(dir.path()).unwrap_err().to_string();
        assert!(
            refused.contains("another campaign-sync process"),
            "{refused}"
        );
        assert!(db.exists() && wal.exists(), "kept while in use");
        drop(held);
        fresh_database(dir.path()).unwrap();
        assert!(!db.exists() && !wal.exists());
        fresh_database(dir.path()).unwrap();
    }
}
