//! Typed clients for exactly the Salesforce and Marketo calls the worker makes. Each connector
//! has one classifier that turns every response into success or a [`CallError`]; nothing else
//! in the crate interprets HTTP statuses or error codes.

pub mod marketo;
pub mod salesforce;
mod token;

use std::time::Duration;

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
}

impl CallError {
    pub fn retry(reason: impl Into<String>) -> Self {
        CallError::Retry {
            reason: reason.into(),
            after: None,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, CallError::Retry { .. } | CallError::Reauthenticate(_))
    }

    /// Retryable, but not sooner than `after` (a floor under the retry schedule).
    pub fn retry_after(reason: impl Into<String>, after: Duration) -> Self {
        CallError::Retry {
            reason: reason.into(),
            after: Some(after),
        }
    }

    /// Transport failures (refused, reset, timed out) are transient by nature.
    pub(crate) fn transport(error: &reqwest::Error) -> Self {
        CallError::retry(format!("transport error: {error}"))
    }
}
