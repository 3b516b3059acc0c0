//! Issue 16's first benchmark: API calls a day per side with nothing changing, at 1, 10, 100
//! and 500 mappings, with the default schedules. Each scheduled pass runs once in its steady
//! state against the simulators (after a first pass that fills caches and cursors); its calls
//! are multiplied by how often it runs a day. The daily full reconciliation is printed apart:
//! it lists every member, so its cost follows the members, not the schedule.
//!
//! Run: `cargo bench --bench idle_calls` (a few seconds).

use campaign_sync::app::App;
use campaign_sync::config::{Config, MappingConfig, SchedulesConfig, Secret};
use campaign_sync::sim::marketo::{MarketoSim, MarketoSimConfig, NewProgram, ProgressionStatus};
use campaign_sync::sim::salesforce::{MemberStatus, SalesforceSim, SalesforceSimConfig, SimClient};
use campaign_sync::worker::Worker;
use serde_json::json;
use tokio_util::sync::CancellationToken;

const STATUSES: [&str; 3] = ["Invited", "Registered", "Attended"];

fn main() -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    println!("idle API calls per day, default schedules (measured per pass, scaled)");
    println!(
        "mappings | Marketo/day | Salesforce/day | + daily reconciliation (Marketo, Salesforce)"
    );
    let mut first = None;
    for n in [1usize, 10, 100, 500] {
        let (mk, sf, reconcile) = measure(n).await?;
        first.get_or_insert(mk);
        println!(
            "{n:>8} | {mk:>11} | {sf:>14} | ({}, {})",
            reconcile.0, reconcile.1
        );
    }
    Ok(())
}

/// Calls made by `pass`, as (Marketo, Salesforce).
async fn calls_of<F: std::future::Future>(worker: &Worker, pass: F) -> (u64, u64) {
    let before = (
        worker.marketo().calls_made(),
        worker.salesforce().calls_made(),
    );
    pass.await;
    (
        worker.marketo().calls_made() - before.0,
        worker.salesforce().calls_made() - before.1,
    )
}

async fn measure(n: usize) -> anyhow::Result<(u64, u64, (u64, u64))> {
    let sf = SalesforceSim::spawn(SalesforceSimConfig {
        clients: vec![SimClient::new("campaign-sync", "secret", false)],
        ..SalesforceSimConfig::default()
    })
    .await?;
    let mk = MarketoSim::spawn(MarketoSimConfig {
        rate_limit_calls: 1_000_000,
        daily_quota: u64::MAX,
        ..MarketoSimConfig::default()
    })
    .await?;
    let statuses = STATUSES
        .iter()
        .enumerate()
        .map(|(i, s)| ProgressionStatus::new(s, 10 * (i as i32 + 1), i == 2))
        .collect();
    mk.add_channel("Webinar", statuses)?;
    let member_statuses: Vec<MemberStatus> = STATUSES
        .iter()
        .enumerate()
        .map(|(i, s)| MemberStatus::new(s, i == 0, i == 2))
        .collect();
    let dir = tempfile::tempdir()?;
    let mut config = Config {
        listen: "127.0.0.1:0".parse()?,
        database_url: Secret::new(format!("sqlite://{}", dir.path().join("b.db").display())),
        ..Config::default()
    };
    config.worker.enabled = false;
    config.marketo.rate_limit_calls = 1_000_000;
    config.marketo.daily_call_budget = 0;
    config.salesforce.daily_call_budget = 0;
    sf.configure_service(&mut config.salesforce, "campaign-sync")?;
    let client = mk.config().clients[0].clone();
    config.marketo.base_url = mk.base_url();
    config.marketo.client_id = client.client_id;
    config.marketo.client_secret = Secret::new(client.client_secret);
    for i in 0..n {
        let program_id = 2000 + i as i64;
        mk.add_program(NewProgram {
            id: program_id,
            name: format!("Program {i}"),
            channel: "Webinar".into(),
            ..NewProgram::default()
        })?;
        let campaign =
            sf.create_campaign(json!({ "Name": format!("Campaign {i}") }), &member_statuses)?;
        config
            .mappings
            .push(MappingConfig::new(&format!("m{i}"), program_id, &campaign));
    }
    let shutdown = CancellationToken::new();
    let app = App::build(config, shutdown.clone()).await?;
    let worker = app.worker().clone();
    let server = tokio::spawn(app.run());
    // First passes fill the caches and cursors (and write the campaigns' settings once).
    worker.sync_settings().await?;
    worker.check_statuses().await;
    worker.read_marketo_activities().await?;
    worker.read_salesforce_changes().await?;
    worker.poll_deleted().await?;

    let day = 86_400u64;
    let s = SchedulesConfig::default();
    let settings = calls_of(&worker, async {
        worker.sync_settings().await.expect("settings");
        worker.check_statuses().await;
    })
    .await;
    let activities = calls_of(&worker, async {
        worker.read_marketo_activities().await.expect("activities");
    })
    .await;
    let changes = calls_of(&worker, async {
        worker.read_salesforce_changes().await.expect("changes");
    })
    .await;
    let deleted = calls_of(&worker, async {
        worker.poll_deleted().await.expect("deleted");
    })
    .await;
    // Daily: the full cost pass reads every program by id, and the channel list is renewed.
    let full_costs = (n as u64 + 1, 0);
    let reconcile = calls_of(&worker, async {
        worker.reconcile().await;
    })
    .await;
    let per_day =
        |calls: (u64, u64), every: u64| (calls.0 * (day / every), calls.1 * (day / every));
    let parts = [
        per_day(settings, s.program_settings_secs),
        per_day(activities, s.marketo_activity_secs),
        per_day(changes, s.salesforce_changes_secs),
        per_day(deleted, s.deleted_poll_secs),
        full_costs,
    ];
    let mk_day = parts.iter().map(|p| p.0).sum();
    let sf_day = parts.iter().map(|p| p.1).sum();
    println!(
        "   per pass: settings+check {settings:?}, activity feed {activities:?}, changes query {changes:?}, deleted poll {deleted:?}"
    );
    shutdown.cancel();
    let _ = server.await;
    Ok((mk_day, sf_day, reconcile))
}
