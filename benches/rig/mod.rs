//! The rig the sync benchmarks share: the Salesforce and Marketo simulators and the service,
//! wired like `tests/api/world.rs`, with one mapping, fast seeding of synced people, and a
//! service that can be stopped and started again on the same address while the simulators run.
#![expect(
    dead_code,
    reason = "each benchmark includes this module and uses a different part of it"
)]

use std::fmt::Write as _;
use std::time::Duration;

mod calls;
mod feeds;

use campaign_sync::app::App;
use campaign_sync::config::{Config, MappingConfig, Secret};
use campaign_sync::sim::marketo::{
    MarketoSim, MarketoSimConfig, NewLead, NewProgram, ProgressionStatus, WebhookConfig,
};
use campaign_sync::sim::salesforce::{
    MemberStatus, OutboundConfig, SalesforceSim, SalesforceSimConfig, SimClient,
};
use campaign_sync::store::{Store, now_millis};
use campaign_sync::worker::Worker;
use serde_json::json;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use tokio_util::sync::CancellationToken;

pub const INBOUND_TOKEN: &str = "sf-inbound-token";
pub const WEBHOOK_TOKEN: &str = "mkto-webhook-token";
pub const PROGRAM: i64 = 1001;
pub const MAPPING: &str = "webinar";
pub const USER: &str = "sim-user";
pub const INTEGRATION: &str = "campaign-sync";
pub const STATUSES: [&str; 4] = ["Invited", "Registered", "No Show", "Attended"];

/// Both simulators and the service, wired like `tests/api/world.rs`, with one mapping.
pub struct Rig {
    pub sf: SalesforceSim,
    pub mk: MarketoSim,
    pub campaign: String,
    pub base: String,
    pub store: Store,
    pub worker: Worker,
    /// A separate read connection on the service's SQLite file, for `received_at`.
    pub db: SqlitePool,
    pub shutdown: CancellationToken,
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// The service's configuration, to start it again after `stop_service`.
    pub config: Config,
    pub _dir: tempfile::TempDir,
}

/// How a rig differs from the plainest one.
pub struct Options {
    /// Added to every API call by both simulators.
    pub latency: Duration,
    pub worker_enabled: bool,
    /// Marketo calls its webhooks as changes happen (otherwise `deliver_webhooks_now`).
    pub mk_background: bool,
    /// Salesforce's first outbound retry; the delay doubles per failure up to two hours. The
    /// documented schedule starts after a few seconds; 10 ms lets a bench drain a queue fast.
    pub outbound_retry_initial: Duration,
}

/// One person synced at "Invited" on both sides.
pub struct Person {
    pub identity: i64,
    pub mkto_lead: i64,
    pub sf_member: String,
}

pub async fn rig(latency: Duration, worker_enabled: bool, mk_background: bool) -> Rig {
    let options = Options {
        latency,
        worker_enabled,
        mk_background,
        outbound_retry_initial: Duration::from_millis(10),
    };
    rig_with(options, |_| {}).await
}

/// A rig whose service configuration `configure` may change before the service starts.
pub async fn rig_with(options: Options, configure: impl FnOnce(&mut Config)) -> Rig {
    let Options {
        latency,
        worker_enabled,
        mk_background,
        outbound_retry_initial,
    } = options;
    let mut outbound = OutboundConfig::to("http://127.0.0.1:9/not-yet");
    outbound.retry_initial = outbound_retry_initial;
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
        // Extract jobs move on at every look (only the reconcile bench's extract run has any).
        export_status_interval: Duration::ZERO,
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
    config
        .mappings
        .push(MappingConfig::new(MAPPING, PROGRAM, &campaign));
    configure(&mut config);
    let service = start(&config).await;
    let base = format!("http://{}", service.address);
    config.listen = service.address;
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
        base,
        store: service.store,
        worker: service.worker,
        db,
        shutdown: service.shutdown,
        server: service.server,
        config,
        _dir: dir,
    }
}

/// One running service.
struct Service {
    address: std::net::SocketAddr,
    store: Store,
    worker: Worker,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(config: &Config) -> Service {
    let shutdown = CancellationToken::new();
    let app = App::build(config.clone(), shutdown.clone())
        .await
        .expect("build app");
    Service {
        address: app.local_addr(),
        store: app.state().store().clone(),
        worker: app.worker().clone(),
        shutdown,
        server: tokio::spawn(app.run()),
    }
}

impl Rig {
    /// Marketo's "Program Status is Changed" campaign starts calling the service.
    pub fn add_webhook(&self) {
        let url = format!("{}/v1/marketo/webhooks", self.base);
        self.mk
            .add_webhook(WebhookConfig::documented(None, &url, WEBHOOK_TOKEN));
    }

    /// `n` people synced at "Invited": Marketo members joined while no webhook is configured,
    /// Salesforce members added by the integration client (no outbound messages), and the
    /// service's identities and mirror filled with one multi-row INSERT each.
    pub async fn seed(&self, n: usize) -> Vec<Person> {
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

    /// A user moves `person` to `status` in the mapped program (`in_marketo`) or campaign.
    pub fn user_sets_status(&self, person: &Person, in_marketo: bool, status: &str) {
        if in_marketo {
            self.mk
                .set_status_as_user(PROGRAM, person.mkto_lead, status)
                .expect("Marketo user change");
        } else {
            self.sf
                .update_member(USER, &person.sf_member, status)
                .expect("Salesforce user change");
        }
    }

    /// Marketo REST POSTs (writes) and Salesforce non-GET data calls by the integration client.
    pub fn writes(&self) -> (usize, usize) {
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
                r.client.as_deref() == Some(INTEGRATION)
                    && r.method != "GET"
                    && r.path.starts_with("/services/data/")
            })
            .count();
        (mk, sf)
    }

    pub fn calls(&self) -> (u64, u64) {
        (
            self.worker.marketo().calls_made(),
            self.worker.salesforce().calls_made(),
        )
    }

    /// Stops the service as a deploy or a crash would, and waits until it no longer listens;
    /// the simulators keep running, and what they send meanwhile finds nobody.
    pub async fn stop_service(&mut self) {
        self.shutdown.cancel();
        let server = std::mem::replace(&mut self.server, tokio::spawn(async { Ok(()) }));
        if let Err(error) = server.await.expect("the service task") {
            panic!("the service stopped with an error: {error:#}");
        }
    }

    /// Starts the service again on the same database and address (so the simulators' delivery
    /// targets need no change), with `configure` applied to its configuration first.
    pub async fn start_service(&mut self, configure: impl FnOnce(&mut Config)) {
        configure(&mut self.config);
        let service = start(&self.config).await;
        self.store = service.store;
        self.worker = service.worker;
        self.shutdown = service.shutdown;
        self.server = service.server;
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.server.await;
        self.db.close().await;
    }
}
