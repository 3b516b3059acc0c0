//! What each command does, for `main` to call: serve, sandbox, simulators, migrate, online
//! checks, reconcile.

use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::Config;
use crate::connectors::marketo::MarketoClient;
use crate::connectors::salesforce::SalesforceClient;
use crate::store::Store;

pub use crate::cutover::ReconcileOptions;
use crate::worker::{Mappings, compat};

pub async fn serve(config: Config) -> anyhow::Result<()> {
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    if !config.unset.is_empty() {
        let worker = if config.apis_configured() {
            "the worker runs"
        } else {
            "no worker runs, so nothing is synced"
        };
        tracing::error!(
            "configuration incomplete: the service answers health checks, but senders whose \
             token is missing are refused and {worker}, until these are set (check-config \
             names them too):\n  - {}",
            config.unset.join("\n  - ")
        );
    }
    let shutdown = CancellationToken::new();
    // Listening for the signal before the build: a container's first process ignores SIGTERM
    // it has no handler for, so a stop while migrations or the store are slow would otherwise
    // wait for SIGKILL.
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let app = tokio::select! {
        built = App::build(config, shutdown.clone()) => built?,
        () = shutdown.cancelled() => {
            tracing::info!("stopped while starting");
            return Ok(());
        }
    };
    match app.admin_addr() {
        Some(admin) => tracing::info!(
            address = %app.local_addr(),
            admin_address = %admin,
            serves = "/metrics, /admin and /console on admin_address only",
            "listening"
        ),
        None => tracing::info!(address = %app.local_addr(), "listening"),
    }
    app.run().await
}

pub async fn sandbox(options: crate::sandbox::SandboxOptions) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    crate::sandbox::run(options, shutdown).await
}

pub async fn simulators(options: crate::sandbox::SimulatorsOptions) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    crate::sandbox::run_simulators(options, shutdown).await
}

pub async fn migrate(config: Config) -> anyhow::Result<()> {
    let store = Store::open(config.database_url.expose()).await?;
    store.migrate().await?;
    println!("migrations applied");
    Ok(())
}

/// Reads both status sets of every mapping and the campaign Type picklist, and fails with the
/// list of untranslatable statuses and refused Types.
pub async fn check_online(config: &Config) -> anyhow::Result<()> {
    let salesforce = SalesforceClient::new(&config.salesforce)?;
    let marketo = MarketoClient::new(&config.marketo)?;
    let mut failures = Vec::new();
    let mut unchecked = 0;
    // The org the credentials log in to must be one the receiver accepts messages from.
    if let Ok(Some(org)) = salesforce.organization_id().await
        && !config.salesforce.organization_ids.is_empty()
        && !crate::http::inbound::salesforce::organization_allowed(
            &config.salesforce.organization_ids,
            &org,
        )
    {
        failures.push(format!(
            "salesforce.organization_ids: the credentials log in to org {org}, which is not \
             listed, so its outbound messages would be refused (401); add it"
        ));
    }
    // The campaign Type picklist, read once the first mapping could be checked; the campaigns'
    // Types, read once the first Type would be refused.
    let mut types = None;
    let mut held_types = None;
    for mapping in Mappings::new(&config.mappings).all() {
        let (program, problems) = match compat::checked(&salesforce, &marketo, mapping).await {
            Ok(checked) => checked,
            Err(error) => {
                unchecked += 1;
                failures.push(format!(
                    "mapping {:?}: could not check: {}",
                    mapping.name(),
                    why(error)
                ));
                continue;
            }
        };
        if problems.is_empty() {
            println!("mapping {:?}: statuses compatible", mapping.name());
        }
        failures.extend(problems);
        let types = match &types {
            Some(types) => types,
            None => types.insert(salesforce.campaign_type_picklist().await.map_err(why)),
        };
        match types {
            Ok(types) if compat::type_problem(mapping, &program, types, None).is_some() => {
                let held = match &held_types {
                    Some(held) => held,
                    None => held_types.insert(campaign_types(&salesforce, &config.mappings).await),
                };
                let held = held.get(&mapping.config.campaign_id).map(String::as_str);
                failures.extend(compat::type_problem(mapping, &program, types, held));
            }
            Ok(_) => {}
            Err(why) => {
                unchecked += 1;
                failures.push(format!(
                    "mapping {:?}: could not check its campaign Type: {why}",
                    mapping.name()
                ));
            }
        }
    }
    let (campaigns, unread) = requested_campaigns(&marketo, config).await;
    if failures.is_empty() && campaigns.is_empty() && unread.is_empty() {
        return Ok(());
    }
    for failure in failures.iter().chain(&campaigns).chain(&unread) {
        println!("{failure}");
    }
    // Besides the statuses, the organization check may have found a problem.
    let problems = failures.len() - unchecked + campaigns.len();
    let mut said = Vec::new();
    if problems > 0 || (unchecked == 0 && unread.is_empty()) {
        said.push(format!("{problems} problem(s) found"));
    }
    if unchecked > 0 {
        said.push(format!("{unchecked} mapping(s) could not be checked"));
    }
    if !unread.is_empty() {
        said.push(format!(
            "{} smart campaign(s) could not be read",
            unread.len()
        ));
    }
    anyhow::bail!("{}", said.join("; "))
}

/// The smart campaigns `[triggers.mappings.NAME] request_campaigns` name that Marketo does not
/// have or would not let be requested (each read once), and those that could not be read.
async fn requested_campaigns(
    marketo: &MarketoClient,
    config: &Config,
) -> (Vec<String>, Vec<String>) {
    let mut named: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    for (mapping, triggers) in &config.triggers.mappings {
        let ids = triggers.request_campaigns;
        for (change, id) in [
            ("added", ids.added),
            ("removed", ids.removed),
            ("status_changed", ids.status_changed),
        ] {
            if let Some(id) = id.filter(|id| *id > 0) {
                let key = format!("triggers.mappings.{mapping}.request_campaigns.{change}");
                named.entry(id).or_default().push(key);
            }
        }
    }
    let (mut problems, mut unread) = (Vec::new(), Vec::new());
    for (id, keys) in named {
        let keys = keys.join(", ");
        match marketo.smart_campaign(id).await {
            Ok(Some(campaign)) if campaign.is_requestable => {}
            Ok(Some(campaign)) => problems.push(format!(
                "{keys}: smart campaign {id} {:?} cannot be requested: it must be active, with \
                 the trigger Campaign is Requested (source Web Service API)",
                campaign.name
            )),
            Ok(None) => problems.push(format!("{keys}: Marketo has no smart campaign {id}")),
            Err(error) => unread.push(format!(
                "{keys}: could not read smart campaign {id}: {}",
                why(error)
            )),
        }
    }
    (problems, unread)
}

/// The `Type` each mapped campaign holds (one query per 200 campaigns); empty when they could
/// not be read, so every Type the picklist refuses is named.
async fn campaign_types(
    salesforce: &SalesforceClient,
    mappings: &[crate::config::MappingConfig],
) -> std::collections::HashMap<String, String> {
    let ids: Vec<String> = mappings.iter().map(|m| m.campaign_id.clone()).collect();
    let campaigns = salesforce.campaigns(&ids).await.unwrap_or_default();
    campaigns
        .iter()
        .filter_map(|c| {
            Some((
                c["Id"].as_str()?.to_string(),
                c["Type"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// Why a check could not run. A pause is what the service would do next; a check only says why.
fn why(error: crate::connectors::CallError) -> String {
    match error {
        crate::connectors::CallError::Paused { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// Creates and approves the custom activity types, printing what was done and what existed.
pub async fn provision_marketo(config: Config) -> anyhow::Result<()> {
    let marketo = MarketoClient::new(&config.marketo)?;
    let report = crate::outbox::provision::provision(&marketo)
        .await
        .map_err(|e| anyhow::anyhow!("provisioning Marketo custom activity types: {}", e.once()))?;
    for line in report {
        println!("{line}");
    }
    Ok(())
}

/// Reconciles every enabled mapping once (see `cutover`): links, lists, repairs, verifies.
pub async fn reconcile(
    config: Config,
    options: crate::cutover::ReconcileOptions,
) -> anyhow::Result<()> {
    crate::cutover::reconcile(config, options).await
}

/// The signal that asked the process to stop, once one did: the last log line names it.
static STOPPED_BY: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// The signal that asked the process to stop, if one did.
pub fn stopped_by() -> Option<&'static str> {
    STOPPED_BY.get().copied()
}

/// SIGTERM (the orchestrator) or SIGINT (a terminal) starts a graceful shutdown; a second one
/// during it ends the process at once (Ctrl-C twice), with 128 + the signal's number as a
/// shell gives a process a signal ended. SIGHUP, which asks many daemons to reload, is told and
/// ignored: the configuration is read at start only, and its default action would end the
/// process at once, without a drain.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let mut stops = StopSignals::listen();
    #[cfg(unix)]
    tokio::spawn(ignore_hangups());
    let first = stops.next().await;
    let _ = STOPPED_BY.set(first.name);
    tracing::info!(
        signal = first.name,
        "shutdown requested; a second SIGINT or SIGTERM stops at once"
    );
    shutdown.cancel();
    let second = stops.next().await;
    tracing::error!(
        signal = second.name,
        "{} during the shutdown: stopping at once, without finishing the drain (requests in \
         flight are cut off; the worker's leases expire after worker.lease_secs)",
        second.name
    );
    std::process::exit(second.exit_code);
}

/// A signal that asks for a stop, by name and with the exit code a second one ends with.
#[derive(Clone, Copy)]
struct StopSignal {
    name: &'static str,
    exit_code: i32,
}

const SIGINT: StopSignal = StopSignal {
    name: "SIGINT",
    exit_code: 130,
};
#[cfg(unix)]
const SIGTERM: StopSignal = StopSignal {
    name: "SIGTERM",
    exit_code: 143,
};

/// SIGINT and SIGTERM, listened for once for the whole process so none sent between two waits
/// is missed.
struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// The next stop signal; never, when none could be listened for.
    async fn next(&mut self) -> StopSignal {
        #[cfg(unix)]
        {
            async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
                let received = match signal {
                    Some(signal) => signal.recv().await.is_some(),
                    None => false,
                };
                if !received {
                    std::future::pending::<()>().await;
                }
            }
            tokio::select! {
                () = recv(&mut self.interrupt) => SIGINT,
                () = recv(&mut self.terminate) => SIGTERM,
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            SIGINT
        }
    }
}

#[cfg(unix)]
async fn ignore_hangups() {
    use tokio::signal::unix::{SignalKind, signal};
    if let Ok(mut hangup) = signal(SignalKind::hangup()) {
        while hangup.recv().await.is_some() {
            tracing::warn!(
                "SIGHUP ignored: the configuration is read at start only; restart the service \
                 (SIGTERM, then start it) to apply a change"
            );
        }
    }
}
