//! What every REST call goes through before its handler: the bearer check (601/602), the
//! limits (615, 606, 607), configured latency and injected faults; and after it, the call log.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::clock;
use super::envelope::{self, MktoError, Outcome};
use super::faults;
use super::identity;
use super::inspect::CallRecord;
use super::limits::Slot;
use super::shared::{Shared, lock};
use crate::sim::calls;
use crate::sim::fault_rules::Effect;

const MAX_BODY_BYTES: u64 = 1024 * 1024;

pub async fn rest_gate(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(status) = too_large(&request, shared.config.max_uri_bytes) {
        shared.record(CallRecord::refused(&request, status));
        return status.into_response();
    }
    let refused = CallRecord::refused(&request, StatusCode::PAYLOAD_TOO_LARGE);
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES as usize).await else {
        shared.record(refused);
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    // A read sent as a form is its query: a token there is refused, and masked in the log.
    let form_query =
        is_read_as_post(query.as_deref()).then(|| String::from_utf8_lossy(&body).into_owned());
    let body_token = form_query.as_deref().is_some_and(names_token);
    let logged_body = match &form_query {
        Some(form) => calls::redacted_query(Some(form)),
        None => calls::body_text(&body),
    };
    let request = Request::from_parts(parts, Body::from(body));
    let (client, response) = match admit(&shared, &request, body_token) {
        Err((client, error)) => (client, error.into_response()),
        Ok((client, slot)) => {
            let response = run(&shared, request, next).await;
            drop(slot);
            (Some(client), response)
        }
    };
    let outcome = response
        .extensions()
        .get::<Outcome>()
        .cloned()
        .unwrap_or_default();
    let status = response.status();
    // Creating, enqueueing or cancelling an export job changes no data; nor does a write
    // whose every record was skipped (a 1037, a 1005), as in Salesforce's collections.
    let write = method == "POST"
        && !is_read_as_post(query.as_deref())
        && !path.starts_with("/bulk/")
        && status.is_success()
        && outcome.code.is_none()
        && outcome.records > 0;
    shared.record(CallRecord {
        kind: "rest".to_string(),
        client,
        method,
        path,
        query: calls::redacted_query(query.as_deref()),
        status: Some(status.as_u16()),
        error_code: outcome.code,
        write,
        records: outcome.records,
        body: logged_body,
        ..CallRecord::default()
    });
    response
}

/// `POST …?_method=GET`: a read whose parameters travel in a form body.
fn is_read_as_post(query: Option<&str>) -> bool {
    query.is_some_and(|q| q.split('&').any(|pair| pair == "_method=GET"))
}

type Refused = (Option<String>, MktoError);

fn admit(shared: &Shared, request: &Request, body_token: bool) -> Result<(String, Slot), Refused> {
    let query_token = request.uri().query().is_some_and(names_token);
    if shared.config.refuse_query_access_token && (query_token || body_token) {
        return Err((None, MktoError::TokenInvalid));
    }
    let token = identity::bearer(request.headers()).map_err(|e| (None, e))?;
    let client = lock(&shared.tokens)
        .check(token, Instant::now())
        .map_err(|e| (None, e))?;
    let slot = lock(&shared.limits)
        .admit(Instant::now(), clock::now_ms())
        .map_err(|e| (Some(client.clone()), e))?;
    Ok((client, slot))
}

/// The admitted part: latency, then a fault or the handler. A reply with an uncounted code is
/// refunded (approximately: the most recent admission is taken back).
async fn run(shared: &Shared, request: Request, next: Next) -> Response {
    let injected = lock(&shared.fault_rules).next(Instant::now(), |_| true);
    let latency = shared.config.latency + injected.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let queued = lock(&shared.faults).next();
    let response = match (injected.answer, queued) {
        (Some(Effect::Code(error)), _) | (None, Some(error)) => {
            end_token(shared, &request, &error);
            error.into_response()
        }
        (Some(Effect::Status(status)), _) => faults::plain_status(status),
        (Some(Effect::Latency(_)), _) | (None, None) => next.run(request).await,
    };
    let uncounted = response
        .extensions()
        .get::<Outcome>()
        .and_then(|o| o.code.as_deref())
        .is_some_and(|code| !envelope::counted(code));
    if uncounted {
        lock(&shared.limits).refund();
    }
    response
}

/// An injected 601 or 602 ends the token the call presented, as a real one would stay refused:
/// the client must ask for a new token, not just try again.
fn end_token(shared: &Shared, request: &Request, error: &MktoError) {
    let Ok(token) = identity::bearer(request.headers()) else {
        return;
    };
    match error {
        MktoError::TokenInvalid => lock(&shared.tokens).revoke(token),
        MktoError::TokenExpired => lock(&shared.tokens).expire(token, Instant::now()),
        _ => {}
    }
}

/// Whether a query string (or a read's form body) carries `access_token`, the withdrawn way
/// of passing the token.
fn names_token(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "access_token")
}

/// URIs over the limit (8 KB) get 414 and bodies over 1 MB get 413, plain HTTP errors rather
/// than envelopes, before anything else is looked at.
fn too_large(request: &Request, max_uri_bytes: usize) -> Option<StatusCode> {
    if request.uri().to_string().len() > max_uri_bytes {
        return Some(StatusCode::URI_TOO_LONG);
    }
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    length
        .filter(|n| *n > MAX_BODY_BYTES)
        .map(|_| StatusCode::PAYLOAD_TOO_LARGE)
}

/// Unknown REST paths.
pub async fn not_found() -> Response {
    MktoError::NotFound.into_response()
}

/// A known path called with a method it does not serve.
pub async fn method_not_supported() -> Response {
    MktoError::MethodNotSupported.into_response()
}
