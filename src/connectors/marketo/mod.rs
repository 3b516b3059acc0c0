//! Marketo REST client: identity token (cached; re-fetched once on 601/602), the configured
//! rate window and concurrency cap, and the typed calls in `calls` (and `bulk`, the program
//! member extract).

pub mod activities;
pub mod assets;
mod bulk;
mod bulk_file;
mod calls;
pub mod classify;
mod csv_rows;
mod custom_activities;
pub mod extract_ledger;
mod limits;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Semaphore;

pub use bulk::ExtractTiming;
pub use calls::{
    BATCH_LIMIT, Cost, LeadRecord, MemberRecord, ProgramInfo, ProgressionStatus, StatusResult,
};
pub use classify::Envelope;
pub use custom_activities::{
    ActivityResult, ActivityTypeInfo, ActivityTypeSpec, AttributeSpec, REQUEST_LIMIT,
};
pub use extract_ledger::{ExtractLedger, NoLedger};

use super::CallError;
use super::ClientBuildError;
use super::token::{TokenCache, pause_when_refused, request_token, with_reauth};
use crate::config::{MarketoConfig, Secret};
use crate::quota::{Quota, SideQuota};
use crate::store::now_millis;
use limits::RateWindow;
pub use limits::{WindowUse, window_use};

/// Rate or concurrency refusals waited out within one call before giving up.
const LIMIT_WAITS: u32 = 3;
/// Longest server-hinted wait taken inside a call (a rate window).
const MAX_INLINE_WAIT: Duration = Duration::from_secs(21);
const WINDOW_MARGIN: Duration = Duration::from_secs(1);
/// Marketo answers 414 past 8 KB of URI; a read whose URL would come near it is sent as
/// `POST …?_method=GET` with its parameters in a form body, as Marketo documents.
const MAX_GET_URL_BYTES: usize = 7 * 1024;

/// Calls Marketo documents as taking longer than its usual 30 s before it answers: Get Paging
/// Token up to 300 s, Add Custom Activities up to 90 s. Each waits that long and a margin, even
/// when `request_timeout_secs` is shorter: a paging token given up on never starts the feed on
/// a slow instance, and a batch of activities given up on and posted again would fire
/// marketers' smart campaigns twice.
const SLOW_CALLS: &[(&str, Duration)] = &[
    (
        "/rest/v1/activities/pagingtoken.json",
        Duration::from_secs(300),
    ),
    ("/rest/v1/activities/external.json", Duration::from_secs(90)),
];
const SLOW_CALL_MARGIN: Duration = Duration::from_secs(10);

/// A clone shares the token, the rate window, the concurrency permits, the call count and the
/// programs known to be over the member cap: the worker and the outbox hold clones of one
/// client, so the whole process stays inside `rate_limit_calls` and `max_concurrency`.
#[derive(Clone)]
pub struct MarketoClient {
    http: reqwest::Client,
    base_url: String,
    client_id: String,
    client_secret: Secret,
    token: Arc<TokenCache<String>>,
    permits: Arc<Semaphore>,
    /// Scheduled calls also take one of these: one concurrent call is always left to live ones.
    scheduled_permits: Arc<Semaphore>,
    window: Arc<RateWindow>,
    calls: Arc<AtomicU64>,
    quota: SideQuota,
    /// `request_timeout_secs`: how long an ordinary call is waited for.
    timeout: Duration,
    /// How bulk extract jobs are waited for.
    extract: ExtractTiming,
    /// Programs that refused a member query by status (over Marketo's 100,000-member cap):
    /// they are read by bulk extract from then on.
    over_cap: Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
}

impl MarketoClient {
    /// Fails only when the HTTP client cannot be built, which is a reason not to start.
    pub fn new(config: &MarketoConfig) -> Result<Self, ClientBuildError> {
        let timeout = Duration::from_secs(config.request_timeout_secs);
        let http = super::http_client("marketo", timeout)?;
        let client = MarketoClient {
            http,
            timeout,
            base_url: config.base_url.trim_end_matches('/').to_string(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            token: Arc::new(TokenCache::new()),
            permits: Arc::new(Semaphore::new(config.max_concurrency.max(1))),
            scheduled_permits: Arc::new(Semaphore::new(
                config.max_concurrency.saturating_sub(1).max(1),
            )),
            // A second of margin: we count a call when it leaves, Marketo when it arrives.
            window: Arc::new(RateWindow::new(
                config.rate_limit_calls,
                Duration::from_secs(config.rate_limit_window_secs) + WINDOW_MARGIN,
            )),
            calls: Arc::default(),
            quota: Quota::default().marketo,
            extract: ExtractTiming::from_config(config),
            over_cap: Arc::default(),
        };
        // The status overview reads how much of the window is taken.
        limits::register(&client.base_url, &client.window);
        Ok(client)
    }

    /// Shares `quota` (the process-wide pause and daily count) instead of a private one.
    pub fn sharing(mut self, quota: SideQuota) -> Self {
        self.quota = quota;
        self
    }

    /// This client's daily-quota pause and call count.
    pub fn quota(&self) -> &SideQuota {
        &self.quota
    }

    /// REST calls made so far (identity calls excluded, as Marketo does).
    pub fn calls_made(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    async fn token(&self) -> Result<String, CallError> {
        self.token.get_or_fetch(|| self.fetch_token()).await
    }

    async fn fetch_token(&self) -> Result<String, CallError> {
        let request = self
            .http
            // The identity call takes its credentials in the query string only (the Swagger
            // declares no body for GET or POST); `CallError::transport` and the token error
            // text cut query strings, so the secret never reaches a log or the database.
            .get(format!("{}/identity/oauth/token", self.base_url))
            .query(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose()),
            ]);
        let parsed: TokenResponse = request_token(request, "Marketo identity call")
            .await
            .map_err(|error| {
                pause_when_refused(
                    error,
                    now_millis(),
                    "marketo.client_id and marketo.client_secret",
                )
            })?;
        Ok(parsed.access_token)
    }

    /// Sends one REST call within the rate window and concurrency cap (see [`Self::attempts`]).
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Envelope, CallError> {
        let _permits = self.admit().await?;
        self.attempts(|| self.send_once(method.clone(), path, query, body))
            .await
    }

    /// Takes a concurrency permit for one call (and, in the scheduled lane, one of the permits
    /// that leave a slot to live calls); refuses while the side is paused (607, or our budget
    /// used up), so the change waits for the reset instead of using a retry.
    async fn admit(&self) -> Result<Permits<'_>, CallError> {
        self.quota.admit(now_millis())?;
        let scheduled = match super::lane() {
            super::Lane::Scheduled => Some(
                self.scheduled_permits
                    .acquire()
                    .await
                    .map_err(|_| CallError::retry("client is shutting down"))?,
            ),
            super::Lane::Live => None,
        };
        let call = self
            .permits
            .acquire()
            .await
            .map_err(|_| CallError::retry("client is shutting down"))?;
        Ok(Permits {
            _scheduled: scheduled,
            _call: call,
        })
    }

    /// Runs `attempt` (one request); on 601/602 it fetches a new token and tries once more. A
    /// rate (606) or concurrency (615) refusal — the instance's quota is shared with other
    /// integrations — is waited out here, a few times, since Marketo did not execute the call:
    /// a long reconciliation pass should not fail on one. A 607 pauses the side.
    async fn attempts<R, F, Fut>(&self, mut attempt: F) -> Result<R, CallError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<R, CallError>>,
    {
        let mut waited = 0;
        loop {
            let result = with_reauth(&self.token, &mut attempt).await;
            match result {
                Err(CallError::Retry {
                    after: Some(after),
                    reason,
                }) if waited < LIMIT_WAITS && after <= MAX_INLINE_WAIT => {
                    waited += 1;
                    tracing::info!(%reason, wait_ms = after.as_millis() as u64, "Marketo limit reached; waiting");
                    // While the call waits, the operator sees why as the side's last refusal.
                    let refused = Err::<(), _>(CallError::Retry {
                        reason,
                        after: Some(after),
                    });
                    crate::upstream::record("marketo", &self.base_url, &refused);
                    tokio::time::sleep(after).await;
                }
                Err(CallError::Paused { reason, until_ms }) => {
                    self.quota.pause(until_ms, &reason);
                    let paused = Err(CallError::Paused { reason, until_ms });
                    crate::upstream::record("marketo", &self.base_url, &paused);
                    return paused;
                }
                other => {
                    crate::upstream::record("marketo", &self.base_url, &other);
                    return other;
                }
            }
        }
    }

    async fn send_once(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Envelope, CallError> {
        let token = self.token().await?;
        self.window.admit(super::lane()).await;
        let url = format!("{}{path}", self.base_url);
        let mut request =
            if method == Method::GET && get_url_len(&url, query) > MAX_GET_URL_BYTES {
                self.http.post(url).query(&[("_method", "GET")]).form(query)
            } else {
                self.http.request(method.clone(), url).query(query)
            }
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(timeout) = self.slow_call_timeout(path) {
            request = request.timeout(timeout);
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.quota.count(now_millis());
        let started = std::time::Instant::now();
        let response = request.send().await.map_err(|e| CallError::transport(&e))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| CallError::transport(&e))?;
        metrics::counter!("connector_calls_total", "connector" => "marketo", "method" => method.to_string(), "status" => status.as_u16().to_string()).increment(1);
        metrics::histogram!("connector_call_duration_seconds", "connector" => "marketo")
            .record(started.elapsed().as_secs_f64());
        tracing::debug!(%method, path, status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "Marketo answered");
        classify::classify(status, &text)
    }
}

impl MarketoClient {
    /// How long a call Marketo documents as slow is waited for (see [`SLOW_CALLS`]); `None`
    /// for the others, which wait `request_timeout_secs`.
    fn slow_call_timeout(&self, path: &str) -> Option<Duration> {
        SLOW_CALLS
            .iter()
            .find(|(slow, _)| *slow == path)
            .map(|(_, limit)| (*limit + SLOW_CALL_MARGIN).max(self.timeout))
    }
}

/// The permits one call holds until it is done (for a file, until its body is read).
struct Permits<'a> {
    _scheduled: Option<tokio::sync::SemaphorePermit<'a>>,
    _call: tokio::sync::SemaphorePermit<'a>,
}

/// Length of `url` with `query` encoded onto it (worst case when it does not parse).
fn get_url_len(url: &str, query: &[(&str, String)]) -> usize {
    reqwest::Url::parse_with_params(url, query.iter().map(|(k, v)| (*k, v.as_str())))
        .map_or(usize::MAX, |u| u.as_str().len())
}
