//! Salesforce REST client: OAuth client-credentials token (cached; re-fetched once on
//! `INVALID_SESSION_ID`), bounded concurrency, daily usage from `Sforce-Limit-Info`.

mod calls;
mod changes;
pub mod classify;
pub mod deleted;
mod describe;
mod in_lists;
mod server_clock;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Semaphore;

pub use calls::{CampaignMember, Person};
pub use classify::{RecordOutcome, RecordResult};
pub use deleted::{DeletedPage, DeletedRecord};
pub use describe::Picklist;

use super::CallError;
use super::ClientBuildError;
use super::token::{TokenCache, pause_when_refused, request_token, with_reauth};

/// The keys behind a token request, named when Salesforce refuses it.
const SALESFORCE_KEYS: &str =
    "salesforce.client_id, salesforce.client_secret and salesforce.login_url";
use crate::config::{SalesforceConfig, Secret};
use crate::quota::{Quota, SideQuota};
use crate::store::now_millis;
use server_clock::ServerClock;

/// How long writes pause once daily usage is inside the configured margin.
const NEAR_LIMIT_PAUSE_MS: i64 = 600_000;

/// A clone shares the token, the concurrency permits, the daily usage read from the last
/// answer and the call count: the worker and the outbox hold clones of one client, so the
/// whole process stays inside `max_concurrency`.
#[derive(Clone)]
pub struct SalesforceClient {
    http: reqwest::Client,
    login_url: String,
    instance_override: Option<String>,
    api_version: String,
    client_id: String,
    client_secret: Secret,
    token: Arc<TokenCache<Token>>,
    permits: Arc<Semaphore>,
    margin_percent: u64,
    used: Arc<AtomicU64>,
    limit: Arc<AtomicU64>,
    calls: Arc<Mutex<u64>>,
    quota: SideQuota,
    clock: Arc<ServerClock>,
    /// The Campaign Type picklist last read, and when (see `describe`).
    picklist: Arc<Mutex<Option<(std::time::Instant, describe::Picklist)>>>,
}

#[derive(Clone)]
struct Token {
    access: String,
    instance_url: String,
    /// The org the credentials log in to, from the token answer's identity URL.
    organization_id: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    instance_url: String,
    /// The identity URL, `https://login…/id/<org id>/<user id>`.
    #[serde(default)]
    id: Option<String>,
}

/// The org id in a token answer's identity URL (`…/id/00D…/005…`).
fn organization_of(identity: &str) -> Option<String> {
    let mut segments = identity.rsplit('/');
    let _user = segments.next()?;
    let org = segments.next()?;
    (segments.next() == Some("id") && org.starts_with("00D")).then(|| org.to_string())
}

impl SalesforceClient {
    /// Fails only when the HTTP client cannot be built, which is a reason not to start.
    pub fn new(config: &SalesforceConfig) -> Result<Self, ClientBuildError> {
        let http = super::http_client(
            "salesforce",
            Duration::from_secs(config.request_timeout_secs),
        )?;
        Ok(SalesforceClient {
            http,
            login_url: config.login_url.trim_end_matches('/').to_string(),
            instance_override: (!config.instance_url.is_empty())
                .then(|| config.instance_url.trim_end_matches('/').to_string()),
            api_version: config.api_version.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            token: Arc::new(TokenCache::new()),
            permits: Arc::new(Semaphore::new(config.max_concurrency.max(1))),
            margin_percent: u64::from(config.daily_limit_margin_percent),
            used: Arc::default(),
            limit: Arc::default(),
            calls: Arc::default(),
            quota: Quota::default().salesforce,
            clock: Arc::default(),
            picklist: Arc::default(),
        })
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

    /// Calls made so far (benchmarks report calls per change).
    pub fn calls_made(&self) -> u64 {
        *self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The org's time at local time `local_ms`, as the last answer showed it (never later than
    /// the org's clock); `None` before any answer. Asked right after a call about the moment
    /// it was sent, it comes from that call's own answer.
    pub fn server_time_at(&self, local_ms: i64) -> Option<i64> {
        self.clock.at(local_ms)
    }

    /// `(used, limit)` from the last `Sforce-Limit-Info` header, when one was seen.
    pub fn api_usage(&self) -> Option<(u64, u64)> {
        let limit = self.limit.load(Ordering::Relaxed);
        (limit > 0).then(|| (self.used.load(Ordering::Relaxed), limit))
    }

    /// Writes stop before the org's daily allocation runs out, leaving the margin to people.
    fn check_daily_margin(&self) -> Result<(), CallError> {
        if let Some((used, limit)) = self.api_usage()
            && used * 100 >= limit * (100 - self.margin_percent.min(100))
        {
            let reason = format!(
                "Salesforce daily API usage {used}/{limit} is within the {}% margin",
                self.margin_percent
            );
            let until_ms = now_millis() + NEAR_LIMIT_PAUSE_MS;
            return Err(CallError::Paused { reason, until_ms });
        }
        Ok(())
    }

    async fn token(&self) -> Result<Token, CallError> {
        self.token.get_or_fetch(|| self.fetch_token()).await
    }

    async fn fetch_token(&self) -> Result<Token, CallError> {
        let request = self
            .http
            .post(format!("{}/services/oauth2/token", self.login_url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose()),
            ]);
        let parsed: TokenResponse = request_token(request, "Salesforce token request")
            .await
            .map_err(|error| match error {
                CallError::Permanent(reason) if reason.contains("not supported on this domain") => {
                    CallError::Permanent(format!(
                        "{reason} (salesforce.login_url must be the org's My Domain URL, e.g. \
                         https://yourcompany.my.salesforce.com, not a generic login host)"
                    ))
                }
                other => other,
            })
            .map_err(|error| pause_when_refused(error, now_millis(), SALESFORCE_KEYS))?;
        let token = Token {
            organization_id: parsed.id.as_deref().and_then(organization_of),
            access: parsed.access_token,
            instance_url: self
                .instance_override
                .clone()
                .unwrap_or_else(|| parsed.instance_url.trim_end_matches('/').to_string()),
        };
        Ok(token)
    }

    /// The id of the org these credentials log in to, as the token answer names it (`None`
    /// when it does not).
    pub async fn organization_id(&self) -> Result<Option<String>, CallError> {
        Ok(self.token().await?.organization_id)
    }

    /// Sends one REST call (`path` below `/services/data/vNN.N`, or an absolute
    /// `/services/...` path such as a `nextRecordsUrl`); on a rejected token it re-authenticates
    /// and tries once more. Returns the parsed body (`Null` for 204).
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, CallError> {
        self.quota.admit(now_millis())?;
        if method != Method::GET {
            self.check_daily_margin()?;
        }
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| CallError::retry("client is shutting down"))?;
        let result = with_reauth(&self.token, || self.send_once(method.clone(), path, body)).await;
        if let Err(CallError::Paused { reason, until_ms }) = &result {
            self.quota.pause(*until_ms, reason);
        }
        crate::upstream::record("salesforce", &self.login_url, &result);
        if let Some((used, limit)) = self.api_usage() {
            crate::upstream::record_usage("salesforce", &self.login_url, used, limit);
        }
        result
    }

    async fn send_once(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, CallError> {
        let token = self.token().await?;
        let url = if path.starts_with("/services/") {
            format!("{}{path}", token.instance_url)
        } else {
            format!(
                "{}/services/data/{}{path}",
                token.instance_url, self.api_version
            )
        };
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&token.access);
        if let Some(body) = body {
            request = request.json(body);
        }
        *self.calls.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.quota.count(now_millis());
        let started = std::time::Instant::now();
        let response = request.send().await.map_err(|e| CallError::transport(&e))?;
        let status = response.status();
        self.note_usage(response.headers());
        let date = response.headers().get(reqwest::header::DATE);
        self.clock
            .note(date.and_then(|d| d.to_str().ok()), now_millis());
        let text = response
            .text()
            .await
            .map_err(|e| CallError::transport(&e))?;
        metrics::counter!("connector_calls_total", "connector" => "salesforce", "method" => method.to_string(), "status" => status.as_u16().to_string()).increment(1);
        metrics::histogram!("connector_call_duration_seconds", "connector" => "salesforce")
            .record(started.elapsed().as_secs_f64());
        tracing::debug!(%method, path, status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "Salesforce answered");
        classify::classify(status, &text)?;
        if status == StatusCode::NO_CONTENT || text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| classify::malformed("Salesforce response", e))
    }

    /// `Sforce-Limit-Info: api-usage=123/15000` → usage gauge and the daily margin check.
    fn note_usage(&self, headers: &reqwest::header::HeaderMap) {
        let Some(value) = headers
            .get("sforce-limit-info")
            .and_then(|v| v.to_str().ok())
        else {
            return;
        };
        let usage = value
            .split(';')
            .find_map(|part| part.trim().strip_prefix("api-usage="))
            .and_then(|pair| pair.split_once('/'));
        if let Some((used, limit)) = usage
            && let (Ok(used), Ok(limit)) = (used.trim().parse::<u64>(), limit.trim().parse::<u64>())
        {
            self.used.store(used, Ordering::Relaxed);
            self.limit.store(limit, Ordering::Relaxed);
            metrics::gauge!("salesforce_api_usage").set(used as f64);
            metrics::gauge!("salesforce_api_limit").set(limit as f64);
        }
    }
}
