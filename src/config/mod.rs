//! Typed configuration: serde defaults → TOML file → `CAMPAIGN_SYNC_*` environment → CLI flags,
//! validated once at start. Secrets are wrapped in [`Secret`] so no `Debug` or log prints them.

mod complete;
mod env;
mod error;
mod every;
mod intervals;
mod load;
mod mapping;
mod secret;
mod secret_files;
mod store_url;
mod triggers;
mod validate;

#[cfg(test)]
mod example_tests;

use std::net::SocketAddr;

use ipnet::IpNet;
use serde::Deserialize;

pub use error::ConfigError;
pub use load::{Needs, Overrides};
pub use mapping::{BackwardPolicy, ConflictPolicy, MappingConfig};
pub use secret::Secret;
pub use secret_files::read_one as read_secret_file;
pub use triggers::{
    ActivityChoice, ActivityOverrides, Change, MappingTriggers, RequestCampaigns, TriggersConfig,
};

/// Environment variables with our prefix that are not configuration keys.
const NON_CONFIG_ENV: &[&str] = &["LOG_FORMAT", "TEST_POSTGRES_URL"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// When set, `/metrics` and `/admin/...` are served only on this second address, so they
    /// can stay off the public load balancer; unset, everything is served on `listen`.
    pub admin_listen: Option<SocketAddr>,
    /// `sqlite://path` (embedded default) or `postgres://…`.
    pub database_url: Secret,
    /// Campaign sync as a whole. False keeps every mapping from writing (signals are still
    /// received and wait), whatever the run-time switch (`/admin/sync/enable`) says.
    pub sync_enabled: bool,
    pub http: HttpConfig,
    pub admin: AdminConfig,
    pub salesforce: SalesforceConfig,
    pub marketo: MarketoConfig,
    pub worker: WorkerConfig,
    pub schedules: SchedulesConfig,
    pub mappings: Vec<MappingConfig>,
    pub triggers: TriggersConfig,
    /// What `serve` found left empty (credentials, tokens), each named with where to set it. Not
    /// a key: [`Config::load_serving`] fills it, and the service then runs without syncing.
    #[serde(skip)]
    pub unset: Vec<String>,
    /// The keys a command-line flag gave (`listen`, `database_url`), so a problem with one
    /// names the flag rather than a variable or file it overrode. Not a key.
    #[serde(skip)]
    pub given_by_flag: Vec<&'static str>,
    /// The configuration file read, so a problem with a value it set names it. Not a key.
    #[serde(skip)]
    pub read_from: Option<std::path::PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            admin_listen: None,
            database_url: Secret::new("sqlite://campaign-sync.db"),
            sync_enabled: true,
            http: HttpConfig::default(),
            admin: AdminConfig::default(),
            salesforce: SalesforceConfig::default(),
            marketo: MarketoConfig::default(),
            worker: WorkerConfig::default(),
            schedules: SchedulesConfig::default(),
            mappings: Vec::new(),
            triggers: TriggersConfig::default(),
            unset: Vec::new(),
            given_by_flag: Vec::new(),
            read_from: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest accepted request body; bigger ones get 413.
    pub body_limit_bytes: usize,
    /// Whole-request timeout for every route.
    pub request_timeout_secs: u64,
    /// After SIGTERM, `/readyz` answers 503 this long before the server stops accepting.
    pub drain_delay_secs: u64,
    /// Upper bound on shutdown after the drain delay; in-flight work past it is abandoned.
    pub shutdown_timeout_secs: u64,
    /// A request's head must be complete this long after the connection opened or the previous
    /// response was sent, else the connection is closed (silent, trickling and idle keep-alive
    /// connections alike).
    pub header_read_timeout_secs: u64,
    /// A connection on which no byte moved either way for this long is closed.
    pub idle_timeout_secs: u64,
    /// Connections served at once; at the cap, new ones wait in the listen backlog. 0: derived
    /// from the open-file limit (see `http::server::connection_cap`).
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            drain_delay_secs: 5,
            shutdown_timeout_secs: 30,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_connections: 0,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Bearer token for `/admin/...`; admin routes answer 401 to everyone while it is empty.
    pub token: Secret,
    /// A second bearer token that reads the `/v1/...` feeds only (trigger events, member-of),
    /// for the tools that consume them; it opens nothing under `/admin/`. Empty: only `token`
    /// reads them.
    pub read_token: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SalesforceConfig {
    /// Where the OAuth token is requested: the org's My Domain. No default, as the generic
    /// login hosts refuse the client-credentials flow (checked in `validate`).
    pub login_url: String,
    /// REST host; normally taken from the token response's `instance_url`.
    pub instance_url: String,
    /// REST API version, e.g. `v62.0`.
    pub api_version: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Organization ids whose outbound messages are accepted (15 or 18 characters).
    pub organization_ids: Vec<String>,
    /// Shared token expected as `?token=` on the outbound-message endpoint URL.
    pub inbound_token: Secret,
    /// Optional client networks allowed to post outbound messages; empty allows all.
    pub allowed_networks: Vec<IpNet>,
    pub request_timeout_secs: u64,
    pub max_concurrency: usize,
    /// Writes pause when daily API usage is within this percentage of the limit.
    pub daily_limit_margin_percent: u8,
    /// Calls this service makes per UTC day at most (0: no budget of its own); scheduled work
    /// yields at 80% of it. The org's allocation is shared with every other integration.
    pub daily_call_budget: u64,
}

impl Default for SalesforceConfig {
    fn default() -> Self {
        Self {
            login_url: String::new(),
            instance_url: String::new(),
            api_version: "v62.0".into(),
            client_id: String::new(),
            client_secret: Secret::default(),
            organization_ids: Vec::new(),
            inbound_token: Secret::default(),
            allowed_networks: Vec::new(),
            request_timeout_secs: 30,
            max_concurrency: 4,
            daily_limit_margin_percent: 10,
            daily_call_budget: 15_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketoConfig {
    /// `https://<munchkin>.mktorest.com` (REST and identity share this host).
    pub base_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Static secret Marketo sends in `webhook_header`.
    pub webhook_token: Secret,
    /// Header carrying the webhook token; `Authorization` expects `Bearer <token>`.
    pub webhook_header: String,
    /// Standard Webhooks signing secrets (`whsec_…` base64), for senders that can sign.
    pub webhook_signing_secrets: Vec<Secret>,
    /// Optional client networks allowed to call the webhook; empty allows all.
    pub allowed_networks: Vec<IpNet>,
    /// Unsigned webhooks with an identical body inside this window are stored once.
    pub dedup_window_secs: u64,
    /// Calls allowed per `rate_limit_window_secs` (Marketo's instance limit is 100 / 20 s).
    pub rate_limit_calls: u32,
    pub rate_limit_window_secs: u64,
    /// Concurrent calls (Marketo's instance limit is 10).
    pub max_concurrency: usize,
    pub request_timeout_secs: u64,
    /// Calls this service makes per Marketo quota day (from 12:00 AM CST) at most (0: no
    /// budget of its own); scheduled work yields at 80% of it. The instance's 50,000 are shared.
    pub daily_call_budget: u64,
    /// Wait before the first status call of a bulk extract job (reconciling a program over
    /// Marketo's 100,000-member query cap); Marketo updates a job's status once a minute.
    pub extract_poll_secs: u64,
    /// The wait doubles after each status call up to this.
    pub extract_poll_max_secs: u64,
    /// A job not completed by then is cancelled and the program's reconciliation fails.
    pub extract_timeout_secs: u64,
}

impl Default for MarketoConfig {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            client_id: String::new(),
            client_secret: Secret::default(),
            webhook_token: Secret::default(),
            webhook_header: "Authorization".into(),
            webhook_signing_secrets: Vec::new(),
            allowed_networks: Vec::new(),
            dedup_window_secs: 60,
            // Half the instance's 100 calls / 20 s and 10 concurrent: other integrations
            // (CRM sync, webinar and e-mail tools) share them (README "Marketo").
            rate_limit_calls: 50,
            rate_limit_window_secs: 20,
            max_concurrency: 5,
            // Marketo ends a call it cannot finish in 30 s itself (604, retried); waiting longer
            // hears that answer rather than giving up on a call that may have been applied (a
            // custom activity posted twice fires marketers' smart campaigns twice). The calls
            // Marketo documents as slower (custom activities, paging token) wait longer
            // (`connectors::marketo::SLOW_CALLS`).
            request_timeout_secs: 40,
            daily_call_budget: 20_000,
            extract_poll_secs: 60,
            extract_poll_max_secs: 300,
            extract_timeout_secs: 3 * 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// Set false to run a receive-only replica.
    pub enabled: bool,
    /// Delay before each retry, in seconds; an item fails for good after the last one.
    pub retry_schedule_secs: Vec<u64>,
    /// Each retry delay is spread by up to this percentage either way.
    pub retry_jitter_percent: u8,
    /// How long a claimed item stays leased; must outlast the longest request timeout.
    pub lease_secs: u64,
    /// How long the worker waits to fill a batch once the first item arrives.
    pub batch_linger_ms: u64,
    /// Processed signals and ended outbox deliveries are deleted after this many days (0 keeps
    /// them forever); outcomes and trigger events stay.
    pub retain_done_days: u64,
    /// Signals claimed per round; a multiple of 600 fills Marketo (300) and Salesforce (200)
    /// batches exactly.
    pub claim_batch: u32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            retry_schedule_secs: vec![1, 5, 30, 120, 600, 1800, 3600],
            retry_jitter_percent: 20,
            lease_secs: 120,
            batch_linger_ms: 50,
            claim_batch: 1200,
            retain_done_days: 7,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulesConfig {
    /// Poll of Salesforce's deleted CampaignMembers.
    pub deleted_poll_secs: u64,
    /// Full two-sided reconciliation of every enabled mapping.
    pub reconcile_secs: u64,
    /// Program channel/cost → campaign Type/ActualCost pass.
    pub program_settings_secs: u64,
    /// Every mapped program is read by id this often (for its costs), besides when the browse
    /// of changed programs lists it: Marketo does not document that a cost edit moves a
    /// program's `updatedAt`.
    pub program_costs_full_secs: u64,
    /// Marketo activity feed (program status and membership activities).
    pub marketo_activity_secs: u64,
    /// Query of mapped campaigns' members changed since the stored `SystemModstamp` cursor.
    pub salesforce_changes_secs: u64,
}

impl Default for SchedulesConfig {
    fn default() -> Self {
        Self {
            deleted_poll_secs: 60,
            reconcile_secs: 86_400,
            program_settings_secs: 300,
            program_costs_full_secs: 86_400,
            marketo_activity_secs: 60,
            salesforce_changes_secs: 60,
        }
    }
}
