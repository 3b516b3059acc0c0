//! A cached access token shared by concurrent calls: fetched once when missing, dropped when
//! the server rejects it, so the next call fetches a fresh one.

use std::future::Future;

use serde::de::DeserializeOwned;
use tokio::sync::RwLock;

use super::CallError;

pub struct TokenCache<T> {
    slot: RwLock<Option<T>>,
}

impl<T: Clone> TokenCache<T> {
    pub fn new() -> Self {
        TokenCache {
            slot: RwLock::new(None),
        }
    }

    /// The cached token, or the one `fetch` returns; concurrent callers wait for one fetch.
    pub async fn get_or_fetch<F, Fut>(&self, fetch: F) -> Result<T, CallError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        if let Some(token) = self.slot.read().await.clone() {
            return Ok(token);
        }
        let mut slot = self.slot.write().await;
        if let Some(token) = slot.clone() {
            return Ok(token);
        }
        let token = fetch().await?;
        *slot = Some(token.clone());
        Ok(token)
    }

    pub async fn clear(&self) {
        *self.slot.write().await = None;
    }
}

/// Runs `call`; when the token was rejected, drops it and runs `call` once more (which fetches
/// a new one). A second rejection is returned as is.
pub async fn with_reauth<T, R, F, Fut>(cache: &TokenCache<T>, mut call: F) -> Result<R, CallError>
where
    T: Clone,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<R, CallError>>,
{
    match call().await {
        Err(CallError::Reauthenticate(_)) => {
            cache.clear().await;
            call().await
        }
        other => other,
    }
}

/// Sends a token request and parses its JSON answer: 5xx and transport failures are worth
/// retrying, any other refusal (wrong credentials) is permanent. `what` names the call in errors.
pub async fn request_token<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<T, CallError> {
    let response = request.send().await.map_err(|e| CallError::transport(&e))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| CallError::transport(&e))?;
    if !status.is_success() {
        let reason = super::without_queries(&format!("{what} failed: HTTP {status}: {body}"));
        return Err(if status.is_server_error() {
            CallError::retry(reason)
        } else {
            CallError::Permanent(reason)
        });
    }
    serde_json::from_str(&body)
        .map_err(|e| CallError::Permanent(format!("unreadable {what} answer: {e}")))
}
