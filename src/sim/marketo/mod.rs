//! The Marketo simulator: Identity, the Lead Database and Asset API calls the service makes, with
//! Marketo's envelopes, error codes, limits and progression rules, and "Program Status is
//! Changed" webhooks; served on a loopback port for the tests, the benchmarks and the sandbox.
//!
//! Written from `reference/marketo-notes.md` and the official Swagger specs. Choices where the
//! documentation is silent are stated where they are made (see `progression` for status moves,
//! `envelope` for which fields are left out, `limits` for what is counted).

mod activities;
mod activity_types;
mod clock;
mod control;
mod control_http;
mod custom_activities;
mod envelope;
mod exports;
mod exports_file;
mod exports_http;
mod faults;
mod gate;
mod identity;
mod input;
mod inspect;
mod lead_records;
mod leads;
mod limits;
mod member_writes;
mod members;
mod program_browse;
mod programs;
mod progression;
mod router;
mod shared;
mod template;
mod webhooks;
mod world;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use activity_types::{ActivityType, Definition, TypeAttribute};
pub use control::{SimError, StatusChange};
pub use custom_activities::{CampaignRequest, PostedActivity, Token};
pub use identity::SimClient;
pub use inspect::CallRecord;
pub use template::{TRIGGER_NAME, TokenEncoding};
pub use webhooks::{DOCUMENTED_TEMPLATE, WebhookCall, WebhookConfig};
pub use world::{
    Cost, Lead, Member, NOT_IN_PROGRAM, NewLead, NewProgram, Program, ProgressionStatus,
};

use shared::Shared;

#[derive(Debug, Clone)]
pub struct MarketoSimConfig {
    /// LaunchPoint custom services allowed to get a token.
    pub clients: Vec<SimClient>,
    /// Lifespan of an access token (Marketo: 3600 s).
    pub token_ttl: Duration,
    /// Calls allowed per `rate_limit_window` (Marketo: 100 per 20 s), else 606.
    pub rate_limit_calls: u32,
    pub rate_limit_window: Duration,
    /// Calls in flight at once (Marketo: 10), else 615.
    pub max_concurrency: usize,
    /// Calls per day, reset at midnight US Central time (Marketo: 50,000), else 607.
    pub daily_quota: u64,
    /// Added to every REST call, while it holds its concurrency slot.
    pub latency: Duration,
    /// Share of REST calls failing with a transient code (604, 608, 611, 713), 0 to 1.
    pub transient_failure_rate: f64,
    /// Seeds the fault injection, so a run can be repeated.
    pub seed: u64,
    /// How long a webhook call may take before it is abandoned (Marketo: 30 s).
    pub webhook_timeout: Duration,
    /// Deliver queued webhooks from a background task (the sandbox). Tests turn this off and call
    /// `deliver_webhooks_now` to decide when calls happen.
    pub deliver_webhooks_in_background: bool,
    /// Longest request URI (path and query) answered; longer gets HTTP 414 (Marketo: 8 KB).
    pub max_uri_bytes: usize,
    /// Refuse a REST call carrying `access_token` in its query string with 601: Marketo has
    /// withdrawn query-string tokens, only `Authorization: Bearer` is accepted.
    pub refuse_query_access_token: bool,
    /// Members a program may have for a `statusName` or `updatedAt` member query (Marketo:
    /// 100,000); a larger program's query fails with 1003.
    pub member_filter_cap: usize,
    /// How often a bulk export job's status moves on (Marketo: "only updated once every 60
    /// seconds"); each look at the jobs moves a job at most one state. Zero in most tests.
    pub export_status_interval: Duration,
    /// Bytes of bulk export files per day, reset at midnight US Central (Marketo: 500 MB);
    /// past it, creating or enqueueing a job fails with 1029.
    pub export_daily_bytes: u64,
}

impl Default for MarketoSimConfig {
    fn default() -> Self {
        MarketoSimConfig {
            clients: vec![SimClient {
                client_id: "sim-client".to_string(),
                client_secret: "sim-secret".to_string(),
            }],
            token_ttl: Duration::from_secs(3600),
            rate_limit_calls: 100,
            rate_limit_window: Duration::from_secs(20),
            max_concurrency: 10,
            daily_quota: 50_000,
            latency: Duration::ZERO,
            transient_failure_rate: 0.0,
            seed: 0,
            webhook_timeout: Duration::from_secs(30),
            deliver_webhooks_in_background: true,
            max_uri_bytes: 8 * 1024,
            refuse_query_access_token: true,
            member_filter_cap: 100_000,
            export_status_interval: Duration::from_secs(60),
            export_daily_bytes: 500 * 1024 * 1024,
        }
    }
}

/// A running simulator. Dropping it stops the server and the webhook deliverer.
pub struct MarketoSim {
    shared: Arc<Shared>,
    address: SocketAddr,
    stop: CancellationToken,
}

impl MarketoSim {
    /// Binds `127.0.0.1:0` and starts serving.
    pub async fn spawn(config: MarketoSimConfig) -> Result<MarketoSim, SimError> {
        MarketoSim::spawn_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Like `spawn`, on the given address.
    pub async fn spawn_on(
        config: MarketoSimConfig,
        listen: SocketAddr,
    ) -> Result<MarketoSim, SimError> {
        let listener = TcpListener::bind(listen).await?;
        let address = listener.local_addr()?;
        let background = config.deliver_webhooks_in_background;
        let shared = Arc::new(Shared::new(config));
        let stop = CancellationToken::new();
        let app = router::router(Arc::clone(&shared));
        let server =
            axum::serve(listener, app).with_graceful_shutdown(stop.clone().cancelled_owned());
        tokio::spawn(async move {
            if let Err(error) = server.await {
                tracing::warn!(%error, "marketo simulator stopped serving");
            }
        });
        if background {
            tokio::spawn(deliver_in_background(Arc::clone(&shared), stop.clone()));
        }
        Ok(MarketoSim {
            shared,
            address,
            stop,
        })
    }

    /// `http://127.0.0.1:<port>`: serves `/identity/oauth/token`, `/rest/v1/…`,
    /// `/rest/asset/v1/…`, `/bulk/v1/…` and `/__sim/…`.
    pub fn base_url(&self) -> String {
        format!("http://{}", super::reachable(self.address))
    }

    pub fn config(&self) -> &MarketoSimConfig {
        &self.shared.config
    }
}

impl Drop for MarketoSim {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn deliver_in_background(shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = shared.webhook_queued.notified() => {
                shared.deliver_pending().await;
            }
        }
    }
}
