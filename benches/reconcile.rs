//! Issue 8's benchmark: reconciliation of one mapping with 50,000 members, consistent on both
//! sides and in the mirror. Prints the API calls (Marketo, Salesforce) and wall time of
//! `worker.reconcile()` with nothing to repair, then after 1% drift (250 members changed in
//! Salesforce by the integration client, so no outbound message, and 250 changed in Marketo with
//! no webhook configured) the calls and time of `reconcile()` and of the `run_pending()` repair,
//! and checks that both sides and the mirror agree afterwards. The simulators answer at once
//! (latency 0); Marketo's rate limit (100 calls per 20 s) applies on both sides of the wire.
//!
//! Run: `cargo bench --bench reconcile`

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use campaign_sync::app::App;
use campaign_sync::config::{Config, MappingConfig, Secret};
use campaign_sync::sim::marketo::{
    MarketoSim, MarketoSimConfig, NewLead, NewProgram, ProgressionStatus,
};
use campaign_sync::sim::salesforce::{
    MemberStatus, OutboundConfig, SalesforceSim, SalesforceSimConfig, SimClient,
};
use campaign_sync::store::{Store, now_millis};
use campaign_sync::worker::Worker;
use serde_json::json;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use tokio_util::sync::CancellationToken;

const INBOUND_TOKEN: &str = "sf-inbound-token";
const WEBHOOK_TOKEN: &str = "mkto-webhook-token";
const PROGRAM: i64 = 1001;
const MAPPING: &str = "webinar";
const USER: &str = "sim-user";
const INTEGRATION: &str = "campaign-sync";
const STATUSES: [&str; 4] = ["Invited", "Registered", "No Show", "Attended"];
const MEMBERS: usize = 50_000;
const DRIFT_EACH_SIDE: usize = 250;

/// Both simulators and the service, wired like `tests/api/world.rs`, with one mapping.
struct Rig {
    sf: SalesforceSim,
    mk: MarketoSim,
    campaign: String,
    store: Store,
    worker: Worker,
    /// A separate read connection on the service's SQLite file, for `received_at`.
    db: SqlitePool,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

/// One person synced at "Invited" on both sides.
struct Person {
    identity: i64,
    mkto_lead: i64,
    sf_member: String,
}

async fn rig(latency: Duration, worker_enabled: bool, mk_background: bool) -> Rig {
    let mut outbound = OutboundConfig::to("http://127.0.0.1:9/not-yet");
    outbound.retry_initial = Duration::from_millis(10);
    let sf = SalesforceSim::spawn(SalesforceSimConfig {
        clients: vec![
            SimClient::new(INTEGRATION, "campaign-sync-secret", false),
            SimClient::new(USER, "sim-user-secret", true),
        ],
        outbound: Some(outbound),
        latency,
        ..SalesforceSimConfig::default()
    })
    .await
    .expect("Salesforce simulator");
    let mk = MarketoSim::spawn(MarketoSimConfig {
        latency,
        deliver_webhooks_in_background: mk_background,
        ..MarketoSimConfig::default()
    })
    .await
    .expect("Marketo simulator");
    let statuses = STATUSES
        .iter()
        .enumerate()
        .map(|(i, name)| ProgressionStatus::new(name, 10 * (i as i32 + 1), *name == "Attended"))
        .collect();
    mk.add_channel("Webinar", statuses).unwrap();
    mk.add_program(NewProgram {
        id: PROGRAM,
        name: "Webinar Q4".into(),
        channel: "Webinar".into(),
        ..NewProgram::default()
    })
    .unwrap();
    let member_statuses: Vec<MemberStatus> = STATUSES
        .iter()
        .enumerate()
        .map(|(i, s)| MemberStatus::new(s, i == 0, *s == "Attended"))
        .collect();
    let campaign = sf
        .create_campaign(
            json!({ "Name": "Webinar Q4", "IsActive": true, "Type": "Webinar" }),
            &member_statuses,
        )
        .unwrap();

    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = format!("sqlite://{}", dir.path().join("campaign-sync.db").display());
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: Secret::new(&db_url),
        ..Config::default()
    };
    config.http.drain_delay_secs = 0;
    config.http.shutdown_timeout_secs = 5;
    config.worker.enabled = worker_enabled;
    config.worker.retry_schedule_secs = vec![0, 0, 0];
    config.worker.retry_jitter_percent = 0;
    sf.configure_service(&mut config.salesforce, INTEGRATION)
        .unwrap();
    config.salesforce.inbound_token = Secret::new(INBOUND_TOKEN);
    let mk_client = mk.config().clients[0].clone();
    config.marketo.base_url = mk.base_url();
    config.marketo.client_id = mk_client.client_id;
    config.marketo.client_secret = Secret::new(mk_client.client_secret);
    config.marketo.webhook_token = Secret::new(WEBHOOK_TOKEN);
    config.mappings.push(MappingConfig {
        name: MAPPING.into(),
        program_id: PROGRAM,
        campaign_id: campaign.clone(),
        enabled: true,
        status_map: Default::default(),
        channel_type_map: Default::default(),
        conflict_policy: Default::default(),
        backward_policy: Default::default(),
    });
    let shutdown = CancellationToken::new();
    let app = App::build(config, shutdown.clone())
        .await
        .expect("build app");
    let base = format!("http://{}", app.local_addr());
    let store = app.state().store().clone();
    let worker = app.worker().clone();
    let server = tokio::spawn(app.run());
    sf.set_outbound_endpoint(&format!(
        "{base}/v1/salesforce/outbound-messages?token={INBOUND_TOKEN}"
    ));
    let db = SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&db_url)
        .await
        .expect("read connection");
    Rig {
        sf,
        mk,
        campaign,
        store,
        worker,
        db,
        shutdown,
        server,
        _dir: dir,
    }
}

impl Rig {
    /// `n` people synced at "Invited": Marketo members joined while no webhook is configured,
    /// Salesforce members added by the integration client (no outbound messages), and the
    /// service's identities and mirror filled with one multi-row INSERT each.
    async fn seed(&self, n: usize) -> Vec<Person> {
        let mut people = Vec::with_capacity(n);
        let mut identities = String::from(
            "INSERT INTO identities (id, email, sf_lead_id, sf_contact_id, mkto_lead_id, updated_at) VALUES ",
        );
        let mut mirror = String::from(
            "INSERT INTO mirror (mapping, person, sf_member_id, sf_person_id, sf_status, sf_modstamp, \
             mkto_lead_id, mkto_status, mkto_updated_at, synced_at) VALUES ",
        );
        let now = now_millis();
        for i in 0..n {
            let identity = i as i64 + 1;
            let email = format!("person{identity}@example.com");
            let mkto_lead = self.mk.add_lead(NewLead::email(&email));
            self.mk
                .set_status_as_user(PROGRAM, mkto_lead, "Invited")
                .expect("join the program");
            let sf_lead = self
                .sf
                .create_lead(json!({ "LastName": format!("Person {identity}"), "Company": "Bench", "Email": email }))
                .expect("Salesforce lead");
            let sf_member = self
                .sf
                .add_member(INTEGRATION, &self.campaign, &sf_lead, Some("Invited"))
                .expect("campaign member");
            let sep = if i == 0 { "" } else { "," };
            write!(
                identities,
                "{sep}({identity}, '{email}', '{sf_lead}', NULL, {mkto_lead}, {now})"
            )
            .unwrap();
            write!(
                mirror,
                "{sep}('{MAPPING}', '{identity}', '{sf_member}', '{sf_lead}', 'Invited', NULL, \
                 {mkto_lead}, 'Invited', NULL, {now})"
            )
            .unwrap();
            people.push(Person {
                identity,
                mkto_lead,
                sf_member,
            });
        }
        self.store
            .execute_raw(&identities)
            .await
            .expect("seed identities");
        self.store.execute_raw(&mirror).await.expect("seed mirror");
        people
    }

    /// Marketo REST POSTs (writes) and Salesforce non-GET data calls by the integration client.
    fn writes(&self) -> (usize, usize) {
        let mk = self
            .mk
            .requests()
            .iter()
            .filter(|r| r.kind == "rest" && r.method == "POST")
            .count();
        let sf = self
            .sf
            .requests()
            .iter()
            .filter(|r| {
                r.client_id.as_deref() == Some(INTEGRATION)
                    && r.method != "GET"
                    && r.path.starts_with("/services/data/")
            })
            .count();
        (mk, sf)
    }

    fn calls(&self) -> (u64, u64) {
        (
            self.worker.marketo().calls_made(),
            self.worker.salesforce().calls_made(),
        )
    }

    async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.server.await;
        self.db.close().await;
    }
}

fn print_pass(label: &str, calls: (u64, u64), elapsed: f64) {
    println!(
        "{label}: Marketo calls {}, Salesforce calls {}, wall time {elapsed:.2} s",
        calls.0, calls.1
    );
}

/// Runs one reconciliation and prints it; true when every mapping reconciled.
async fn reconcile(rig: &Rig, label: &str) -> bool {
    let before = rig.calls();
    let started = Instant::now();
    let reports = rig.worker.reconcile().await;
    let elapsed = started.elapsed().as_secs_f64();
    let after = rig.calls();
    let calls = (after.0 - before.0, after.1 - before.1);
    print_pass(label, calls, elapsed);
    let windows = calls.0.saturating_sub(1) / u64::from(rig.mk.config().rate_limit_calls);
    println!(
        "   (Marketo's rate limit alone makes {} calls take at least {} s)",
        calls.0,
        windows * rig.mk.config().rate_limit_window.as_secs()
    );
    let ok = reports.iter().all(Result::is_ok);
    for report in reports {
        match report {
            Ok(r) => println!(
                "   members: Salesforce {}, Marketo {}; changed in Salesforce {}, in Marketo {}; removed from Salesforce {}, from Marketo {}; signals_queued {}",
                r.salesforce_members,
                r.marketo_members,
                r.salesforce_changed,
                r.marketo_changed,
                r.salesforce_removed,
                r.marketo_removed,
                r.signals_queued
            ),
            Err((mapping, error)) => {
                println!("   mapping {mapping}: reconciliation FAILED: {error}")
            }
        }
    }
    ok
}

/// Reconciles; after a failure waits for Marketo's rate window to empty and tries again, up to
/// three attempts in all.
async fn reconcile_retrying(rig: &Rig, label: &str) {
    for attempt in 1..=3 {
        let label = if attempt == 1 {
            label.to_string()
        } else {
            format!("{label} (attempt {attempt})")
        };
        if reconcile(rig, &label).await {
            return;
        }
        let wait = rig.mk.config().rate_limit_window + Duration::from_secs(1);
        println!(
            "   waiting {} s for the rate window to empty",
            wait.as_secs()
        );
        tokio::time::sleep(wait).await;
    }
}

#[tokio::main]
async fn main() {
    let total = Instant::now();
    let rig = rig(Duration::ZERO, false, false).await;
    let seeding = Instant::now();
    let people = rig.seed(MEMBERS).await;
    println!(
        "== reconcile: {MEMBERS} members consistent on both sides and in the mirror (seeded in {:.1} s); simulator latency 0, Marketo rate limit {} calls / {} s ==",
        seeding.elapsed().as_secs_f64(),
        rig.mk.config().rate_limit_calls,
        rig.mk.config().rate_limit_window.as_secs()
    );
    // Tokens and the statuses check are the worker's start-up, not part of what is timed.
    rig.worker.check_statuses().await;

    reconcile_retrying(&rig, "reconcile(), nothing to repair").await;
    // Reconciliation runs hourly; let the rate window the first pass filled empty again, as it
    // would between two scheduled passes.
    let pause = rig.mk.config().rate_limit_window + Duration::from_secs(1);
    println!(
        "(pausing {} s so Marketo's rate window is empty again)",
        pause.as_secs()
    );
    tokio::time::sleep(pause).await;

    for person in &people[..DRIFT_EACH_SIDE] {
        rig.sf
            .update_member(INTEGRATION, &person.sf_member, "Registered")
            .expect("Salesforce change without outbound message");
    }
    for person in &people[DRIFT_EACH_SIDE..2 * DRIFT_EACH_SIDE] {
        rig.mk
            .set_status_as_user(PROGRAM, person.mkto_lead, "Registered")
            .expect("Marketo change without webhook");
    }
    println!(
        "-- 1% drift: {DRIFT_EACH_SIDE} changed in Salesforce (integration client, no outbound message), {DRIFT_EACH_SIDE} in Marketo (no webhook) --"
    );
    reconcile_retrying(&rig, "reconcile(), 1% drift").await;

    let before = rig.calls();
    let writes_before = rig.writes();
    let started = Instant::now();
    let report = rig.worker.run_pending().await.expect("run_pending");
    let elapsed = started.elapsed().as_secs_f64();
    let after = rig.calls();
    let writes_after = rig.writes();
    print_pass(
        "run_pending() repair",
        (after.0 - before.0, after.1 - before.1),
        elapsed,
    );
    println!(
        "   {report:?}; writes: Marketo {}, Salesforce {}",
        writes_after.0 - writes_before.0,
        writes_after.1 - writes_before.1
    );

    // Both sides, and the mirror, agree for every person.
    let sf: HashMap<String, String> = rig
        .sf
        .members_of(&rig.campaign)
        .into_iter()
        .filter_map(|m| {
            Some((
                m.get("Id")?.as_str()?.to_string(),
                m.get("Status")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let mk: HashMap<i64, String> = rig
        .mk
        .members(PROGRAM)
        .into_iter()
        .map(|m| (m.lead_id, m.status_name))
        .collect();
    let mirror: HashMap<String, (Option<String>, Option<String>)> = rig
        .store
        .mirror_rows(MAPPING)
        .await
        .expect("mirror rows")
        .into_iter()
        .map(|r| (r.person, (r.sf_status, r.mkto_status)))
        .collect();
    let mut disagree = 0;
    let mut mirror_off = 0;
    for person in &people {
        let s = sf.get(&person.sf_member);
        let m = mk.get(&person.mkto_lead);
        if s.is_none() || s != m {
            disagree += 1;
        }
        let row = mirror.get(&person.identity.to_string());
        if row.is_none_or(|(rs, rm)| rs.as_ref() != s || rm.as_ref() != m) {
            mirror_off += 1;
        }
    }
    let registered = people[..2 * DRIFT_EACH_SIDE]
        .iter()
        .filter(|p| mk.get(&p.mkto_lead).map(String::as_str) == Some("Registered"))
        .count();
    println!(
        "after repair: {disagree} of {MEMBERS} people differ between Salesforce and Marketo, {mirror_off} differ from the mirror; {registered} of {} drifted people at \"Registered\" on both sides",
        2 * DRIFT_EACH_SIDE
    );
    rig.stop().await;
    println!("total bench time {:.0} s", total.elapsed().as_secs_f64());
}
