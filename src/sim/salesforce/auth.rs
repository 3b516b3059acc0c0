//! OAuth 2.0 client credentials at `/services/oauth2/token`, and the bearer-token check every
//! REST call passes. Tokens expire after the configured idle time and can be revoked, and a
//! client's credentials can be revoked (`invalid_grant`) and restored.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use serde_json::json;
use sha2::Sha256;
use std::collections::HashMap;

use super::clock::Clock;
use super::error::SfError;
use super::ids::{self, prefix};
use super::state::{CallRecord, Caller, Session, Shared, lock};

pub async fn token(
    State(shared): State<Arc<Shared>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let params = form.map(|Form(params)| params).unwrap_or_default();
    let (client_id, secret) = credentials(&headers, &params);
    let result = issue(&shared, &params, &client_id, &secret);
    let status = result
        .as_ref()
        .map_or_else(|(status, _)| status.as_u16(), |_| 200);
    let error_code = result.as_ref().err().and_then(|(_, body)| {
        body.get("error")
            .and_then(|e| e.as_str())
            .map(str::to_owned)
    });
    let mut record = CallRecord::token(client_id, status, error_code);
    record.query = crate::sim::calls::redacted_query(uri.query());
    shared.record(record);
    match result {
        Ok(body) => Json(body).into_response(),
        Err((status, body)) => (status, Json(body)).into_response(),
    }
}

/// A token request by another method than POST: the 405 (its body is shaped as Salesforce's by
/// `rest::method_not_allowed`), in the call log like every token request.
pub async fn token_wrong_method(
    State(shared): State<Arc<Shared>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> Response {
    let mut record = CallRecord::token(String::new(), 405, Some("METHOD_NOT_ALLOWED".into()));
    record.method = method.to_string();
    record.query = crate::sim::calls::redacted_query(uri.query());
    shared.record(record);
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(axum::http::header::ALLOW, "POST")],
    )
        .into_response()
}

type TokenError = (StatusCode, serde_json::Value);

fn issue(
    shared: &Shared,
    params: &HashMap<String, String>,
    client_id: &str,
    secret: &str,
) -> Result<serde_json::Value, TokenError> {
    let error = |code: &str, description: &str| {
        (
            StatusCode::BAD_REQUEST,
            json!({"error": code, "error_description": description}),
        )
    };
    if params.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return Err(error("unsupported_grant_type", "grant type not supported"));
    }
    let client = shared
        .config
        .client(client_id)
        .ok_or_else(|| error("invalid_client_id", "client identifier invalid"))?;
    if client.client_secret.is_empty() || client.client_secret.as_bytes() != secret.as_bytes() {
        return Err(error("invalid_client", "invalid client credentials"));
    }
    // Revoked access (the app's run-as user deactivated, its access revoked): Salesforce's
    // `invalid_grant` "authentication failure".
    if lock(&shared.revoked_clients).contains(client_id) {
        return Err(error("invalid_grant", "authentication failure"));
    }
    let org = &shared.config.organization_id;
    let random: String = {
        let mut rng = lock(&shared.rng);
        (0..96)
            .map(|_| {
                char::from(
                    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._"
                        [rng.random_range(0..64)],
                )
            })
            .collect()
    };
    let access_token = format!("{}!{random}", ids::short(org));
    let user = ids::make(
        prefix::USER,
        1 + shared
            .config
            .clients
            .iter()
            .position(|c| c.client_id == client_id)
            .unwrap_or(0) as u64,
    );
    let identity = format!("{}/id/{org}/{user}", shared.base_url);
    let issued_at = Clock::default().now().to_string();
    let signature = sign(&client.client_secret, &identity, &issued_at);
    lock(&shared.sessions).insert(
        access_token.clone(),
        Session {
            client_id: client_id.to_owned(),
            last_used: Instant::now(),
        },
    );
    Ok(json!({
        "access_token": access_token,
        "signature": signature,
        "scope": "api",
        "instance_url": shared.base_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "token_format": "opaque",
    }))
}

/// Base64 HMAC-SHA256 of `id` + `issued_at`, keyed with the client secret.
fn sign(secret: &str, identity: &str, issued_at: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(identity.as_bytes());
    mac.update(issued_at.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Client id and secret from the form, or from HTTP Basic client authentication.
fn credentials(headers: &HeaderMap, params: &HashMap<String, String>) -> (String, String) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(id, secret)| (id.to_owned(), secret.to_owned()))
        });
    basic.unwrap_or_else(|| {
        let get = |key: &str| params.get(key).cloned().unwrap_or_default();
        (get("client_id"), get("client_secret"))
    })
}

/// The client behind a request's bearer token. Using a token resets its idle timer.
/// The token a call presents (`Authorization: Bearer …`, or the older `OAuth …`).
fn presented_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("OAuth "))
        })
        .map(str::trim)
}

/// Ends the session whose token the call presents (an injected `INVALID_SESSION_ID`): the
/// token then stays refused, as a revoked or timed-out one does, until the client asks for a
/// new one.
pub fn end_session(shared: &Shared, headers: &HeaderMap) {
    if let Some(token) = presented_token(headers) {
        lock(&shared.sessions).remove(token);
    }
}

pub fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<Caller, SfError> {
    let token = presented_token(headers).ok_or_else(|| {
        SfError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTH_HEADER",
            "INVALID_HEADER_TYPE",
        )
    })?;
    let mut sessions = lock(&shared.sessions);
    let session = sessions
        .get_mut(token)
        .ok_or_else(SfError::session_invalid)?;
    if session.last_used.elapsed() > shared.config.token_idle_timeout {
        sessions.remove(token);
        return Err(SfError::session_invalid());
    }
    session.last_used = Instant::now();
    let client_id = session.client_id.clone();
    let sends_outbound = shared
        .config
        .client(&client_id)
        .is_some_and(|c| c.sends_outbound_messages);
    Ok(Caller {
        client_id,
        sends_outbound,
    })
}
