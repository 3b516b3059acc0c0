//! Typed clients for exactly the Salesforce and Marketo calls the worker makes. Each connector
//! has one classifier that turns every response into success or a [`CallError`]; nothing else
//! in the crate interprets HTTP statuses or error codes.

pub mod marketo;
pub mod salesforce;
mod token;
pub use token::CREDENTIALS_REFUSED;

use std::time::Duration;

/// Which lane a call travels in: live changes first, scheduled work (feeds, settings passes,
/// reconciliation) with what is left. Set for a whole task with [`scheduled`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Live,
    Scheduled,
}

tokio::task_local! {
    static LANE: Lane;
}

/// Runs `work` with every call it makes in the scheduled lane.
pub async fn scheduled<F: std::future::Future>(work: F) -> F::Output {
    LANE.scope(Lane::Scheduled, work).await
}

/// The lane of the calling task (live unless inside [`scheduled`]).
pub fn lane() -> Lane {
    LANE.try_with(|lane| *lane).unwrap_or(Lane::Live)
}

/// A client could not be built (its TLS backend or settings were refused); the service does not
/// start rather than run without its timeouts.
#[derive(Debug, thiserror::Error)]
#[error("could not build the {connector} HTTP client: {source}")]
pub struct ClientBuildError {
    pub connector: &'static str,
    #[source]
    pub source: reqwest::Error,
}

/// An HTTP client whose every request ends after `timeout`.
fn http_client(
    connector: &'static str,
    timeout: Duration,
) -> Result<reqwest::Client, ClientBuildError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|source| ClientBuildError { connector, source })
}

/// The reason a change that kept failing ends dead with: the last error, without the note
/// that it was worth retrying (it no longer is).
pub fn gave_up(attempts: impl std::fmt::Display, error: &impl std::fmt::Display) -> String {
    let last = error.to_string();
    let last = last.strip_suffix(" (retryable)").unwrap_or(&last);
    format!("gave up after {attempts} attempts: {last}")
}

/// Why a call did not succeed, and what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Worth trying again later (rate limit, timeout, lock contention, 5xx).
    #[error("{reason} (retryable)")]
    Retry {
        reason: String,
        /// The server's own hint of when to come back, when it gave one.
        after: Option<Duration>,
    },
    /// The token was rejected; the client re-authenticates and retries once by itself, so a
    /// caller only sees this when the fresh token was rejected too.
    #[error("authentication failed: {0}")]
    Reauthenticate(String),
    /// Retrying cannot help (bad data, missing permission, unknown status).
    #[error("{0}")]
    Permanent(String),
    /// The side's daily quota (or this service's budget) is used up, or its credentials were
    /// refused, until `until_ms` (epoch ms): the change waits without using a retry.
    #[error("{reason} (paused until {})", shown_time(*until_ms))]
    Paused { reason: String, until_ms: i64 },
}

/// An epoch-millisecond time as people read it: `2026-12-03T20:10:00Z` (UTC).
fn shown_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

impl CallError {
    /// The error as a one-shot command tells it: a pause is the service's way to wait without
    /// using retries, which means nothing to a process that ends now (run again, it calls at
    /// once), so only its reason is told.
    pub fn once(&self) -> String {
        match self {
            CallError::Paused { reason, .. } => reason.clone(),
            other => other.to_string(),
        }
    }

    pub fn retry(reason: impl Into<String>) -> Self {
        CallError::Retry {
            reason: reason.into(),
            after: None,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            CallError::Retry { .. } | CallError::Reauthenticate(_) | CallError::Paused { .. }
        )
    }

    /// When a daily-quota pause ends, for an error that is one.
    pub fn paused_until(&self) -> Option<i64> {
        match self {
            CallError::Paused { until_ms, .. } => Some(*until_ms),
            _ => None,
        }
    }

    /// The same error, its text prefixed with what was being done.
    pub fn context(self, doing: &str) -> Self {
        match self {
            CallError::Retry { reason, after } => CallError::Retry {
                reason: format!("{doing}: {reason}"),
                after,
            },
            CallError::Reauthenticate(reason) => {
                CallError::Reauthenticate(format!("{doing}: {reason}"))
            }
            CallError::Permanent(reason) => CallError::Permanent(format!("{doing}: {reason}")),
            CallError::Paused { reason, until_ms } => CallError::Paused {
                reason: format!("{doing}: {reason}"),
                until_ms,
            },
        }
    }

    /// Retryable, but not sooner than `after` (a floor under the retry schedule).
    pub fn retry_after(reason: impl Into<String>, after: Duration) -> Self {
        CallError::Retry {
            reason: reason.into(),
            after: Some(after),
        }
    }

    /// Transport failures (refused, reset, timed out) are transient by nature. The text names
    /// the cause chain but never a URL's query string, which may carry a secret (Marketo's
    /// identity call takes the client secret there).
    pub(crate) fn transport(error: &reqwest::Error) -> Self {
        let mut text = format!("transport error: {error}");
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        CallError::retry(without_queries(&text))
    }
}

/// `text` with the query string of every `http(s)://` URL in it removed, so that an error
/// message can be logged and stored whatever URL it quotes.
pub fn without_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("http://").or_else(|| rest.find("https://")) {
        let start = match (rest.find("http://"), rest.find("https://")) {
            (Some(a), Some(b)) => a.min(b),
            _ => start,
        };
        out.push_str(&rest[..start]);
        let url = &rest[start..];
        let end = url
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ','))
            .unwrap_or(url.len());
        let (address, after) = url.split_at(end);
        match address.split_once('?') {
            Some((bare, _)) => {
                out.push_str(bare);
                out.push_str("?[query removed]");
            }
            None => out.push_str(address),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{CallError, gave_up, without_queries};

    #[test]
    fn a_dead_change_does_not_say_its_last_error_was_retryable() {
        let last = CallError::retry("UNABLE_TO_LOCK_ROW: unable to obtain exclusive access");
        assert_eq!(
            gave_up(4, &last),
            "gave up after 4 attempts: UNABLE_TO_LOCK_ROW: unable to obtain exclusive access"
        );
    }

    #[test]
    fn query_strings_are_cut_from_every_url() {
        let text = "error sending request for url (https://x.mktorest.com/identity/oauth/token?client_id=a&client_secret=s3cret): timed out; see http://h/p?k=v and http://plain/path";
        let cleaned = without_queries(text);
        assert!(
            !cleaned.contains("s3cret") && !cleaned.contains("k=v"),
            "{cleaned}"
        );
        assert_eq!(
            cleaned,
            "error sending request for url (https://x.mktorest.com/identity/oauth/token?[query removed]): timed out; see http://h/p?[query removed] and http://plain/path"
        );
        assert_eq!(without_queries("no url here"), "no url here");
    }
}
