//! The simulator's configuration: the org, its OAuth clients, limits, outbound messaging and
//! injected faults. `Default` gives an org with the service's integration client (which may not
//! send outbound messages, as Salesforce recommends) and a "user" client that may.

use std::time::Duration;

use super::ids::{self, prefix};

#[derive(Debug, Clone)]
pub struct SalesforceSimConfig {
    /// 18-character org id (`00D…`), sent in every outbound message.
    pub organization_id: String,
    /// Version without the `v`, e.g. `62.0`; outbound messages and `EnterpriseUrl` carry it.
    pub api_version: String,
    pub clients: Vec<SimClient>,
    /// A token unused this long is expired (Salesforce's session timeout; default 2 h).
    pub token_idle_timeout: Duration,
    /// REST calls allowed before 403 `REQUEST_LIMIT_EXCEEDED`.
    pub daily_api_limit: u64,
    /// Where and how outbound messages on CampaignMember are sent; `None` sends nothing.
    pub outbound: Option<OutboundConfig>,
    /// Added before every REST call is answered.
    pub latency: Duration,
    /// Share of REST calls (0–1) answered with a transient failure: 503, or for a write
    /// `UNABLE_TO_LOCK_ROW` (record by record in a collection, as a held lock fails them).
    pub transient_failure_rate: f64,
    /// Seed of every random choice (faults, duplicates, reordering, tokens).
    pub seed: u64,
    /// Email Address Internationalization turned on: Lead and Contact e-mails may hold
    /// non-ASCII characters. Off by default, as in an org that has not enabled it.
    pub international_email: bool,
    /// A restricted Campaign `Type` picklist: a `Type` outside these values is refused with
    /// `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`. `None` (the default) accepts any value, as an
    /// unrestricted picklist does; each org defines its own.
    pub campaign_types: Option<Vec<String>>,
    /// Most deleted records one getDeleted answer may hold; more is `EXCEEDED_ID_LIMIT`
    /// (Salesforce: 600,000).
    pub deleted_id_limit: usize,
    /// How long a CampaignMember collection write holds its campaigns' rows (Salesforce locks
    /// the parent Campaign while it writes members). Zero (the default) models no contention.
    pub campaign_row_hold: Duration,
    /// How long a write waits for a held row before its records fail with
    /// `UNABLE_TO_LOCK_ROW` (Salesforce: about 10 s).
    pub row_lock_timeout: Duration,
    /// A call running this long is long-running (Salesforce: 20 s).
    pub long_request_threshold: Duration,
    /// Long-running calls the org runs at once; past them a new call is refused with 403
    /// `REQUEST_LIMIT_EXCEEDED` (Salesforce: 25 in production and sandbox orgs, 5 in
    /// Developer Edition and trial orgs).
    pub max_long_requests: usize,
    /// Where the generic login host's stand-in listens; `None` (the default) takes a free port
    /// on the simulator's own address.
    pub generic_login_address: Option<std::net::SocketAddr>,
}

#[derive(Debug, Clone)]
pub struct SimClient {
    pub client_id: String,
    pub client_secret: String,
    /// Whether this client's user has "Send Outbound Messages": its CampaignMember writes queue
    /// notifications.
    pub sends_outbound_messages: bool,
}

#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// The listener, with its `?token=` when it has one.
    pub endpoint_url: String,
    /// Notifications per SOAP message, at most 100.
    pub batch_size: usize,
    /// First retry delay after a failed delivery; doubles per attempt up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// Notifications older than this are dropped undelivered (Salesforce: 24 h).
    pub max_age: Duration,
    /// Chance (0–1) that an acknowledged notification is delivered once more.
    pub duplicate_probability: f64,
    /// Chance (0–1) that one delivery round sends its notifications in shuffled order.
    pub reorder_probability: f64,
}

impl Default for SalesforceSimConfig {
    fn default() -> Self {
        Self {
            organization_id: ids::make(prefix::ORGANIZATION, 1),
            api_version: "62.0".to_owned(),
            clients: vec![
                SimClient::new("campaign-sync", "campaign-sync-secret", false),
                SimClient::new("sim-user", "sim-user-secret", true),
            ],
            token_idle_timeout: Duration::from_secs(2 * 60 * 60),
            daily_api_limit: 100_000,
            outbound: None,
            latency: Duration::ZERO,
            transient_failure_rate: 0.0,
            seed: 0,
            international_email: false,
            campaign_types: None,
            deleted_id_limit: 600_000,
            campaign_row_hold: Duration::ZERO,
            row_lock_timeout: Duration::from_secs(10),
            long_request_threshold: Duration::from_secs(20),
            max_long_requests: 25,
            generic_login_address: None,
        }
    }
}

impl SimClient {
    pub fn new(client_id: &str, client_secret: &str, sends_outbound_messages: bool) -> SimClient {
        SimClient {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            sends_outbound_messages,
        }
    }
}

impl OutboundConfig {
    /// Salesforce's documented behaviour: 100 per message, dropped after 24 hours, at most two
    /// hours between retries; the first retry after a few seconds.
    pub fn to(endpoint_url: impl Into<String>) -> OutboundConfig {
        OutboundConfig {
            endpoint_url: endpoint_url.into(),
            batch_size: 100,
            retry_initial: Duration::from_secs(2),
            retry_max: Duration::from_secs(2 * 60 * 60),
            max_age: Duration::from_secs(24 * 60 * 60),
            duplicate_probability: 0.0,
            reorder_probability: 0.0,
        }
    }
}

impl SalesforceSimConfig {
    /// Why this configuration cannot run, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let rate = |p: f64| (0.0..=1.0).contains(&p);
        if ids::normalize(&self.organization_id).as_deref() != Some(self.organization_id.as_str())
            || !self.organization_id.starts_with(prefix::ORGANIZATION)
        {
            return Some(format!(
                "organization_id {} is not an 18-character 00D id",
                self.organization_id
            ));
        }
        if !rate(self.transient_failure_rate) {
            return Some("transient_failure_rate must be within 0..=1".to_owned());
        }
        if self.max_long_requests == 0 {
            return Some("max_long_requests must be at least 1".to_owned());
        }
        let outbound = self.outbound.as_ref()?;
        if !(1..=100).contains(&outbound.batch_size) {
            return Some("outbound.batch_size must be within 1..=100".to_owned());
        }
        if !rate(outbound.duplicate_probability) || !rate(outbound.reorder_probability) {
            return Some("outbound probabilities must be within 0..=1".to_owned());
        }
        None
    }

    pub fn client(&self, client_id: &str) -> Option<&SimClient> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }
}
