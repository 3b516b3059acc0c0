//! Health of each upstream system as the connectors last saw it: whether calls get through,
//! consecutive authentication failures and since when they fail. Kept per system and endpoint
//! (the configured login or base URL, so several services in one process, as in tests, keep
//! theirs apart) and exported as `upstream_up{system}` and
//! `upstream_auth_failures_consecutive{system}`.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;

use crate::connectors::CallError;

/// What the connectors last saw of one system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// None until the first call ended.
    pub up: Option<bool>,
    pub consecutive_auth_failures: u32,
    /// When the current run of failures began (epoch ms).
    pub failing_since: Option<i64>,
    /// The last failure seen, kept after the side recovers (`last_error_at` says when).
    pub last_error: Option<String>,
    #[serde(default)]
    pub last_error_at: Option<i64>,
    /// The last error the system answered with while up (a rate or daily limit, a refused
    /// permission or value), and when: not an outage, yet what an operator looks for.
    #[serde(default)]
    pub last_refusal: Option<String>,
    #[serde(default)]
    pub last_refusal_at: Option<i64>,
    pub last_call_at: Option<i64>,
    /// Daily API calls used and the limit, when the system reports them (Salesforce's
    /// `Sforce-Limit-Info`).
    pub calls_today: Option<u64>,
    pub daily_limit: Option<u64>,
    /// A pause for refused credentials in force on the replica that wrote this down (the
    /// leader, which makes the calls): that pause stays the process's own (see
    /// `SideQuota::report`), so the others show it from here. Never set in this process's own
    /// table.
    #[serde(default)]
    pub credentials_pause: Option<SharedPause>,
}

/// A pause as another replica wrote it down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedPause {
    pub until_ms: i64,
    pub reason: String,
}

impl Health {
    /// The credentials pause written down, while it lasts.
    pub fn credentials_pause_at(&self, now_ms: i64) -> Option<&SharedPause> {
        self.credentials_pause
            .as_ref()
            .filter(|pause| pause.until_ms > now_ms)
    }
}

type Table = BTreeMap<(&'static str, String), Health>;

fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// Whether an error means the credentials were refused (the call or the token request).
fn is_auth_failure(error: &CallError) -> bool {
    match error {
        CallError::Reauthenticate(_) => true,
        CallError::Permanent(reason) => {
            reason.contains("token request") || reason.contains("identity call")
        }
        // The token endpoint refused the credentials, and the side now waits for a person.
        CallError::Paused { reason, .. } => {
            reason.starts_with(crate::connectors::CREDENTIALS_REFUSED)
        }
        CallError::Retry { .. } => false,
    }
}

/// Marketo's codes for a failure on its side, answered in a 200 envelope: a request timed
/// out (604), the API temporarily unavailable (608), a system error (611), a transient error
/// (713).
const MARKETO_OUTAGE_CODES: [&str; 4] = ["604", "608", "611", "713"];

/// Whether an error means the system could not be reached or failed on its side.
fn is_outage(error: &CallError) -> bool {
    let CallError::Retry { reason, .. } = error else {
        return false;
    };
    reason.starts_with("transport error")
        || reason.contains("HTTP 5")
        || MARKETO_OUTAGE_CODES
            .iter()
            .any(|code| reason.contains(&format!("Marketo {code}:")))
}

/// The key of an endpoint: its URL without a trailing slash.
fn key(system: &'static str, endpoint: &str) -> (&'static str, String) {
    (system, endpoint.trim_end_matches('/').to_string())
}

/// Records the end of one call to `system` (`salesforce` or `marketo`) at `endpoint`.
pub fn record<T>(system: &'static str, endpoint: &str, result: &Result<T, CallError>) {
    let now = crate::store::now_millis();
    let mut table = table().lock().unwrap_or_else(|e| e.into_inner());
    let health = table.entry(key(system, endpoint)).or_default();
    health.last_call_at = Some(now);
    let failed = match result {
        Ok(_) => {
            health.consecutive_auth_failures = 0;
            false
        }
        Err(error) if is_auth_failure(error) => {
            health.consecutive_auth_failures += 1;
            health.last_error = Some(said(error));
            health.last_error_at = Some(now);
            true
        }
        Err(error) if is_outage(error) => {
            health.last_error = Some(error.to_string());
            health.last_error_at = Some(now);
            true
        }
        // The system answered: a refusal of the data, a limit. It is up, and the refusal is
        // kept for the operator.
        Err(error) => {
            health.consecutive_auth_failures = 0;
            health.last_refusal = Some(said(error));
            health.last_refusal_at = Some(now);
            false
        }
    };
    if failed {
        health.failing_since.get_or_insert(now);
    } else {
        health.failing_since = None;
    }
    health.up = Some(!failed);
    metrics::gauge!("upstream_up", "system" => system).set(if failed { 0.0 } else { 1.0 });
    metrics::gauge!("upstream_auth_failures_consecutive", "system" => system)
        .set(f64::from(health.consecutive_auth_failures));
}

/// What the side answered, kept as its last error or refusal: a pause's own end is left out,
/// as the pause is shown apart (`pausedUntil`) and may be lifted long before.
fn said(error: &CallError) -> String {
    match error {
        CallError::Paused { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Records the daily usage a system reported with a call.
pub fn record_usage(system: &'static str, endpoint: &str, used: u64, limit: u64) {
    let mut table = table().lock().unwrap_or_else(|e| e.into_inner());
    let health = table.entry(key(system, endpoint)).or_default();
    health.calls_today = Some(used);
    health.daily_limit = Some(limit);
}

/// How often a replica that calls a side writes down what it saw, for the others.
const SHARE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Writes down, every few seconds until `shutdown`, what this process saw of each side it has
/// called, so a replica that calls neither (a follower) can show it ([`shown`]).
pub async fn share_until(
    store: crate::store::Store,
    quota: crate::quota::Quota,
    sides: [(&'static str, String); 2],
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(SHARE_EVERY) => {}
        }
        for (system, endpoint) in &sides {
            let side = match *system {
                "salesforce" => &quota.salesforce,
                _ => &quota.marketo,
            };
            share(&store, system, endpoint, side).await;
        }
    }
}

/// Writes down what this process saw of `system` once it has called it, with the error and
/// refusal written down before while it has seen none of its own: a new leader does not erase
/// why the side failed under the last one. A process whose last call is older than the one
/// written down (a former leader, now following) writes nothing: it would put back a state the
/// replica calling the side now has moved past.
pub async fn share(
    store: &crate::store::Store,
    system: &'static str,
    endpoint: &str,
    quota: &crate::quota::SideQuota,
) {
    let own = health(system, endpoint);
    if own.up.is_none() {
        return;
    }
    let written = written(store, system).await;
    if written.as_ref().is_some_and(|w| !is_newer(&own, w)) {
        return;
    }
    let mut seen = match written {
        Some(written) => with_earlier_errors(own, written),
        None => own,
    };
    seen.credentials_pause = quota
        .paused(crate::store::now_millis())
        .filter(|p| p.reason.starts_with(crate::connectors::CREDENTIALS_REFUSED))
        .map(|p| SharedPause {
            until_ms: p.until_ms,
            reason: p.reason,
        });
    let Ok(text) = serde_json::to_string(&seen) else {
        return;
    };
    if let Err(error) = store
        .save_upstream_health(system, &text, crate::store::now_millis())
        .await
    {
        tracing::warn!(%error, "could not share the upstream health");
    }
}

/// The health of `system` to show: this process's when it has called the side at least as
/// lately as the replica whose health is written down, else what that replica wrote (a
/// follower makes no calls of its own; a former leader's last calls are behind). A process
/// that has seen no error or refusal of its own yet shows the last one written down, with when
/// it happened: a restart does not hide why a side failed.
pub async fn shown(store: &crate::store::Store, system: &'static str, endpoint: &str) -> Health {
    let own = health(system, endpoint);
    match written(store, system).await {
        None => own,
        Some(written) if own.up.is_some() && is_newer(&own, &written) => {
            with_earlier_errors(own, written)
        }
        Some(written) => written,
    }
}

/// Whether `own` saw the side at least as lately as `written` did.
fn is_newer(own: &Health, written: &Health) -> bool {
    own.last_call_at.unwrap_or(0) >= written.last_call_at.unwrap_or(0)
}

/// What the replica calling `system` last wrote down, if any.
async fn written(store: &crate::store::Store, system: &str) -> Option<Health> {
    match store.upstream_health(system).await {
        Ok(Some((text, _))) => serde_json::from_str::<Health>(&text).ok(),
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(%error, "could not read the shared upstream health");
            None
        }
    }
}

/// `own` with the error and refusal of `written` where it has none of its own.
fn with_earlier_errors(mut own: Health, written: Health) -> Health {
    if own.last_error.is_none() {
        own.last_error = written.last_error;
        own.last_error_at = written.last_error_at;
    }
    if own.last_refusal.is_none() {
        own.last_refusal = written.last_refusal;
        own.last_refusal_at = written.last_refusal_at;
    }
    own
}

/// The health of `system` at `endpoint` as last seen (default: no call yet).
pub fn health(system: &'static str, endpoint: &str) -> Health {
    table()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key(system, endpoint))
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_failures_count_until_a_call_succeeds() {
        let refused: Result<(), _> = Err(CallError::Reauthenticate("INVALID_SESSION_ID".into()));
        record("test-auth", "https://a", &refused);
        record("test-auth", "https://a", &refused);
        let h = health("test-auth", "https://a/");
        assert_eq!((h.up, h.consecutive_auth_failures), (Some(false), 2));
        assert!(h.failing_since.is_some());
        record("test-auth", "https://a", &Ok::<(), CallError>(()));
        let h = health("test-auth", "https://a/");
        assert_eq!((h.up, h.consecutive_auth_failures), (Some(true), 0));
        assert_eq!(h.failing_since, None);
    }

    #[test]
    fn refused_credentials_count_as_an_auth_failure_and_a_quota_pause_does_not() {
        let refused = CallError::Paused {
            reason: format!(
                "{}HTTP 401: invalid_client",
                crate::connectors::CREDENTIALS_REFUSED
            ),
            until_ms: 0,
        };
        record("test-paused", "https://p", &Err::<(), _>(refused));
        let h = health("test-paused", "https://p");
        assert_eq!((h.up, h.consecutive_auth_failures), (Some(false), 1));
        let quota = CallError::Paused {
            reason: "Marketo 607 Daily quota reached".into(),
            until_ms: 0,
        };
        record("test-quota", "https://q", &Err::<(), _>(quota));
        let h = health("test-quota", "https://q");
        assert_eq!(h.up, Some(true));
        // The pause's end is shown apart, and may be lifted long before.
        assert_eq!(
            h.last_refusal.as_deref(),
            Some("Marketo 607 Daily quota reached")
        );
    }

    #[test]
    fn a_refused_record_means_the_system_is_up() {
        record(
            "test-data",
            "https://d",
            &Err::<(), _>(CallError::Permanent("bad status".into())),
        );
        assert_eq!(health("test-data", "https://d").up, Some(true));
        record(
            "test-data",
            "https://d",
            &Err::<(), _>(CallError::retry("transport error: refused")),
        );
        assert_eq!(health("test-data", "https://d").up, Some(false));
    }

    #[test]
    fn marketos_own_failure_codes_are_an_outage_and_its_limits_are_not() {
        for code in MARKETO_OUTAGE_CODES {
            let system = "test-marketo-outage";
            record(system, "https://m", &Ok::<(), CallError>(()));
            let error = CallError::retry(format!("Marketo {code}: failing"));
            record(system, "https://m", &Err::<(), _>(error));
            let h = health(system, "https://m");
            assert_eq!(h.up, Some(false), "{code}");
            assert!(h.last_error.is_some_and(|e| e.contains(code)), "{code}");
        }
        let limited = CallError::retry("Marketo 606: Max rate limit exceeded");
        record("test-marketo-rate", "https://m", &Err::<(), _>(limited));
        let h = health("test-marketo-rate", "https://m");
        assert_eq!(h.up, Some(true));
        assert!(h.last_refusal.is_some_and(|e| e.contains("606")));
    }
}
