//! The Identity service: `GET`/`POST /identity/oauth/token` with client credentials, one token
//! per client returned again (with its remaining lifespan) until it expires, and the bearer check
//! every REST call passes first (601 unknown or revoked, 602 expired). Credentials revoked by
//! the control are refused as bad ones (401).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::envelope::MktoError;
use super::inspect::CallRecord;
use super::shared::{Shared, lock};

/// A LaunchPoint custom service's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimClient {
    pub client_id: String,
    pub client_secret: String,
}

struct Issued {
    token: String,
    client_id: String,
    expires_at: Instant,
}

/// Issued tokens. An expired token stays known so that it answers 602 rather than 601.
#[derive(Default)]
pub struct Tokens {
    issued: Vec<Issued>,
    /// Clients whose credentials are revoked: identity refuses them as bad credentials.
    revoked_clients: std::collections::HashSet<String>,
}

impl Tokens {
    /// The client's live token, or a new one valid for `ttl`; with its remaining lifespan.
    fn token_for(&mut self, client_id: &str, ttl: Duration, now: Instant) -> (String, u64) {
        let live = self
            .issued
            .iter()
            .find(|t| t.client_id == client_id && t.expires_at > now);
        let issued = match live {
            Some(issued) => issued,
            None => {
                let token = format!("{}:sim", uuid::Uuid::new_v4());
                self.issued.push(Issued {
                    token,
                    client_id: client_id.to_string(),
                    expires_at: now + ttl,
                });
                &self.issued[self.issued.len() - 1]
            }
        };
        let remaining = issued.expires_at.saturating_duration_since(now);
        // Marketo answers 3599 for a fresh 3600 s token: the lifespan left, rounded down.
        let remaining = remaining
            .as_secs()
            .saturating_sub(u64::from(remaining.subsec_nanos() == 0));
        (issued.token.clone(), remaining)
    }

    /// The client id behind a bearer token.
    pub fn check(&self, token: &str, now: Instant) -> Result<String, MktoError> {
        match self.issued.iter().find(|t| t.token == token) {
            None => Err(MktoError::TokenInvalid),
            Some(t) if t.expires_at <= now => Err(MktoError::TokenExpired),
            Some(t) => Ok(t.client_id.clone()),
        }
    }

    /// Makes every token answer 602 from now on.
    pub fn expire_all(&mut self, now: Instant) {
        for issued in &mut self.issued {
            issued.expires_at = issued.expires_at.min(now);
        }
    }

    /// Makes one token answer 602 from now on (an injected 602: the token is expired for good).
    pub fn expire(&mut self, token: &str, now: Instant) {
        for issued in self.issued.iter_mut().filter(|t| t.token == token) {
            issued.expires_at = issued.expires_at.min(now);
        }
    }

    /// Forgets one token: it answers 601 from now on (an injected 601).
    pub fn revoke(&mut self, token: &str) {
        self.issued.retain(|t| t.token != token);
    }

    /// Forgets every token: they answer 601 from now on.
    pub fn revoke_all(&mut self) {
        self.issued.clear();
    }

    /// Revokes these clients' credentials: their tokens answer 601 and identity refuses them
    /// until `restore_credentials`.
    pub fn revoke_credentials(&mut self, client_ids: &[String]) {
        self.issued.retain(|t| !client_ids.contains(&t.client_id));
        self.revoked_clients.extend(client_ids.iter().cloned());
    }

    pub fn restore_credentials(&mut self, client_ids: &[String]) {
        self.revoked_clients.retain(|c| !client_ids.contains(c));
    }

    pub fn count(&self) -> usize {
        self.issued.len()
    }
}

#[derive(Default, Deserialize)]
pub struct TokenQuery {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `GET` or `POST /identity/oauth/token`. Not counted against any limit.
pub async fn token(
    State(shared): State<Arc<Shared>>,
    method: Method,
    RawQuery(raw): RawQuery,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    let query = query.map_or(TokenQuery::default(), |Query(q)| q);
    let (response, error_code) = match issue(&shared, &query) {
        Ok(issued) => (issued, None),
        Err((status, error, description)) => (
            (status, oauth_error(error, description)).into_response(),
            Some(error.to_string()),
        ),
    };
    shared.record(CallRecord {
        kind: "identity".to_string(),
        client: query.client_id.clone(),
        method: method.to_string(),
        path: "/identity/oauth/token".to_string(),
        // The secret travels in the query: logged masked, as every logged query is.
        query: crate::sim::calls::redacted_query(raw.as_deref()),
        status: Some(response.status().as_u16()),
        error_code,
        ..CallRecord::default()
    });
    response
}

/// Another method than `GET` or `POST`: refused with the simulators' 405 and logged, as the
/// Salesforce simulator logs a token request by another method.
pub async fn wrong_method(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: axum::http::Uri,
) -> Response {
    let response = crate::sim::unknown_control::not_allowed(&method, &uri, "GET,POST");
    shared.record(CallRecord {
        kind: "identity".to_string(),
        method: method.to_string(),
        path: "/identity/oauth/token".to_string(),
        query: crate::sim::calls::redacted_query(uri.query()),
        status: Some(response.status().as_u16()),
        error_code: Some("METHOD_NOT_ALLOWED".to_string()),
        ..CallRecord::default()
    });
    response
}

/// A token, or the OAuth error refusing one (status, `error`, `error_description`).
type Refusal = (StatusCode, &'static str, &'static str);

fn issue(shared: &Shared, query: &TokenQuery) -> Result<Response, Refusal> {
    if query.grant_type.as_deref() != Some("client_credentials") {
        return Err((
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant type",
        ));
    }
    let client = shared.config.clients.iter().find(|c| {
        let id = query.client_id.as_deref().unwrap_or_default();
        let secret = query.client_secret.as_deref().unwrap_or_default();
        c.client_id == id && bool::from(c.client_secret.as_bytes().ct_eq(secret.as_bytes()))
    });
    // Revoked credentials are answered as bad ones: Marketo documents one identity refusal.
    let client = client.filter(|c| !lock(&shared.tokens).revoked_clients.contains(&c.client_id));
    let Some(client) = client else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Bad client credentials",
        ));
    };
    let (token, expires_in) =
        lock(&shared.tokens).token_for(&client.client_id, shared.config.token_ttl, Instant::now());
    let body = json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": expires_in,
        "scope": format!("{}@sim.marketo.test", client.client_id),
    });
    let headers = [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ];
    Ok((headers, Json(body)).into_response())
}

fn oauth_error(error: &str, description: &str) -> Json<serde_json::Value> {
    Json(json!({ "error": error, "error_description": description }))
}

/// The bearer token of a REST call. A missing header is treated like an unknown token.
pub fn bearer(headers: &HeaderMap) -> Result<&str, MktoError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(MktoError::TokenInvalid)
}
