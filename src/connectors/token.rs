//! A cached access token shared by concurrent calls: fetched once when missing, dropped when
//! the server rejects it, so the next call fetches a fresh one.

use std::future::Future;
use std::time::Duration;

use reqwest::StatusCode;

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

/// The least back-off after a token endpoint's 429 or an answer without a usable token.
pub const TOKEN_BACKOFF: Duration = Duration::from_secs(30);

/// Sends a token request and classifies its answer (see [`classify_token`]). `what` names the
/// call in errors.
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
    classify_token(status, &body, what)
}

/// What a token endpoint's answer means. 5xx: retry. 429: retry, no sooner than
/// [`TOKEN_BACKOFF`]. Any other refusal (wrong credentials, unknown client): permanent. A
/// success without a readable token (no `access_token`, not JSON): a fault of the moment,
/// retried no sooner than [`TOKEN_BACKOFF`] — the credentials were accepted.
pub fn classify_token<T: DeserializeOwned>(
    status: StatusCode,
    body: &str,
    what: &str,
) -> Result<T, CallError> {
    if !status.is_success() {
        let reason =
            super::without_queries(&format!("{what} failed: HTTP {status}: {}", shorten(body)));
        return Err(if status.is_server_error() {
            CallError::retry(reason)
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            CallError::retry_after(reason, TOKEN_BACKOFF)
        } else {
            CallError::Permanent(reason)
        });
    }
    serde_json::from_str(body).map_err(|e| {
        CallError::retry_after(format!("unreadable {what} answer: {e}"), TOKEN_BACKOFF)
    })
}

/// How the pause for refused credentials begins its reason (the upstream health counts it as
/// an authentication failure).
pub const CREDENTIALS_REFUSED: &str = "credentials refused: ";

/// How long a side waits after its credentials were refused before one call tries them again.
pub const REFUSED_CREDENTIALS_PAUSE_MS: i64 = 5 * 60 * 1000;

/// A token endpoint that refuses the credentials (wrong secret, unknown or revoked client)
/// pauses the side instead of failing the change: the fix needs a person, and meanwhile changes
/// wait without using their retries, as they do for a daily quota; the pause and its reason are
/// in `/metrics`, the admin status and the `side_paused` event. Other errors pass through.
/// `keys`: the configuration keys to check, named in the reason.
pub fn pause_when_refused(error: CallError, now_ms: i64, keys: &str) -> CallError {
    match error {
        CallError::Permanent(reason) => CallError::Paused {
            reason: format!("{CREDENTIALS_REFUSED}{reason} (check {keys})"),
            until_ms: now_ms + REFUSED_CREDENTIALS_PAUSE_MS,
        },
        other => other,
    }
}

/// Error bodies are quoted, not copied whole.
fn shorten(body: &str) -> &str {
    let end = body.char_indices().nth(200).map_or(body.len(), |(i, _)| i);
    &body[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Token {
        #[expect(dead_code, reason = "only its presence is tested")]
        access_token: String,
    }

    fn token(status: u16, body: &str) -> Result<Token, CallError> {
        classify_token(StatusCode::from_u16(status).unwrap(), body, "token call")
    }

    #[test]
    fn a_token_answer_is_read_or_classified() {
        assert!(token(200, r#"{"access_token":"t","expires_in":3599}"#).is_ok());
        for (status, body) in [
            (200, r#"{"expires_in":3599}"#),
            (200, ""),
            (200, "<html>maintenance</html>"),
            (429, r#"{"error":"rate"}"#),
        ] {
            assert!(
                matches!(
                    token(status, body),
                    Err(CallError::Retry { after: Some(d), .. }) if d == TOKEN_BACKOFF
                ),
                "{status} {body:?}"
            );
        }
        assert!(matches!(token(503, ""), Err(CallError::Retry { .. })));
        assert!(matches!(
            token(400, r#"{"error":"invalid_grant"}"#),
            Err(CallError::Permanent(_))
        ));
        assert!(matches!(
            token(401, r#"{"error":"unauthorized"}"#),
            Err(CallError::Permanent(_))
        ));
    }
}
