//! What every REST call passes through before its handler: latency, the bearer token, the daily
//! API allocation, the concurrent long-running request limit, injected failures (configured or
//! posted to `/__sim/faults`); and after it, the `Sforce-Limit-Info` header and the call log
//! entry.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngExt;

use super::auth;
use super::error::SfError;
use super::faults;
use super::state::{CallRecord, ErrorCode, Shared, Touched, lock};
use crate::sim::calls;
use crate::sim::fault_rules::{Effect, Injected};

/// Larger bodies are refused before they are read (Salesforce's REST limit is lower still).
pub const MAX_BODY_BYTES: usize = 50 * 1024 * 1024;
/// Longer request URIs are refused with 414 before anything else (Salesforce REST: 16,384 bytes).
pub const MAX_URI_BYTES: usize = 16_384;

pub async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    // Refused before anything is read, and still in the call log.
    let uri = request.uri().to_string().len();
    if uri > MAX_URI_BYTES {
        shared.record(CallRecord::refused(&request, StatusCode::URI_TOO_LONG));
        return StatusCode::URI_TOO_LONG.into_response();
    }
    // The URI and the headers together have the same limit (431), each header counted as its
    // `Name: value` line.
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if uri + headers > MAX_URI_BYTES {
        let too_large = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
        shared.record(CallRecord::refused(&request, too_large));
        return too_large.into_response();
    }
    let refused = CallRecord {
        error_code: Some("REQUEST_ENTITY_TOO_LARGE".to_owned()),
        ..CallRecord::refused(&request, StatusCode::PAYLOAD_TOO_LARGE)
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        shared.record(refused);
        // Salesforce's error shape; the code is the simulator's choice (the notes name none).
        return SfError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "REQUEST_ENTITY_TOO_LARGE",
            format!(
                "the request body exceeds {} MB",
                MAX_BODY_BYTES / (1024 * 1024)
            ),
        )
        .into_response();
    };
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let writes = method != Method::GET;
    let caller = auth::authenticate(&shared, &parts.headers);
    let client = caller.as_ref().ok().map(|c| c.client_id.clone());
    let logged_body = calls::body_text(&body);
    let over_limit =
        caller.is_ok() && shared.api_usage.count(shared.now()) > shared.config.daily_api_limit;
    let too_many_long =
        caller.is_ok() && !over_limit && shared.long_requests.at_limit(Instant::now());
    let over_limit = over_limit || too_many_long;
    // Counted as running from here (latency included) until its answer is built.
    let _running = shared.long_requests.begin(Instant::now());
    // A fault is used up only by a call it could answer: one Salesforce would have served.
    let injected = if caller.is_ok() && !over_limit {
        lock(&shared.faults).next(Instant::now(), |effect| match effect {
            Effect::Code(error) => writes || !faults::per_record(error),
            _ => true,
        })
    } else {
        Injected::none()
    };
    let latency = shared.config.latency + injected.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut response = match caller {
        Err(error) => error.into_response(),
        Ok(caller) => {
            if too_many_long {
                SfError::new(
                    StatusCode::FORBIDDEN,
                    "REQUEST_LIMIT_EXCEEDED",
                    "ConcurrentPerOrgLongTxn Limit exceeded.",
                )
                .into_response()
            } else if over_limit {
                SfError::new(
                    StatusCode::FORBIDDEN,
                    "REQUEST_LIMIT_EXCEEDED",
                    "TotalRequests Limit exceeded.",
                )
                .into_response()
            } else if let Some(refused) = unsupported_media_type(&method, &parts.headers, &body) {
                refused.into_response()
            } else if let Some(answer) = injected.answer {
                if matches!(&answer, Effect::Code(e) if e.code == "INVALID_SESSION_ID") {
                    auth::end_session(&shared, &parts.headers);
                }
                faults::answer(answer, &method, &path, query.as_deref(), &body)
            } else if let Some(failure) = transient_failure(&shared, writes) {
                // Shaped as an injected fault is: a lock fails a collection record by record.
                faults::answer(
                    Effect::Code(failure),
                    &method,
                    &path,
                    query.as_deref(),
                    &body,
                )
            } else {
                let mut request = Request::from_parts(parts, Body::from(Bytes::clone(&body)));
                request.extensions_mut().insert(caller);
                next.run(request).await
            }
        }
    };
    // The org's own clock, which tests may move ahead of the machine's.
    let date = chrono::DateTime::from_timestamp_millis(shared.now())
        .map(|at| at.format("%a, %d %b %Y %H:%M:%S GMT").to_string());
    if let Some(value) = date.and_then(|d| HeaderValue::from_str(&d).ok()) {
        response
            .headers_mut()
            .insert(axum::http::header::DATE, value);
    }
    let used = shared.api_usage.used(shared.now());
    let limit = format!("api-usage={used}/{}", shared.config.daily_api_limit);
    if let Ok(value) = HeaderValue::from_str(&limit) {
        response.headers_mut().insert("Sforce-Limit-Info", value);
    }
    let ids = response
        .extensions()
        .get::<Touched>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    let error_code = response
        .extensions()
        .get::<ErrorCode>()
        .map(|c| c.0.clone());
    let status = response.status();
    shared.record(CallRecord {
        kind: "rest".to_owned(),
        method: method.to_string(),
        path,
        query: calls::redacted_query(query.as_deref()),
        client,
        status: Some(status.as_u16()),
        // A collection answers 200 even when every record failed, or when it named none; only
        // its touched ids say whether anything changed.
        write: writes && status.is_success() && !ids.is_empty(),
        error_code,
        records: ids.len(),
        ids,
        body: logged_body,
        ..CallRecord::default()
    });
    response
}

/// Salesforce's 415 for a body it cannot read: the simulator speaks JSON only, so a body sent
/// as anything else (form data, plain text, XML, which Salesforce would also take) is refused
/// as Salesforce refuses a media type a resource does not support. A body without a
/// `Content-Type` is read as JSON.
fn unsupported_media_type(
    method: &Method,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Option<SfError> {
    if *method == Method::GET || *method == Method::DELETE || body.is_empty() {
        return None;
    }
    let given = headers.get(axum::http::header::CONTENT_TYPE)?;
    let given = given.to_str().unwrap_or("");
    let essence = given.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        return None;
    }
    let message = if essence.to_ascii_lowercase().ends_with("xml") {
        format!("MediaType of '{essence}' is not supported by this simulator (it reads JSON only)")
    } else {
        format!("MediaType of '{essence}' is not supported by this resource")
    };
    Some(SfError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        message,
    ))
}

/// One of Salesforce's retryable answers, at the configured rate: the server unavailable (503)
/// or, for a write, a record lock held by another transaction (`UNABLE_TO_LOCK_ROW`; reads take
/// no lock).
fn transient_failure(shared: &Shared, writes: bool) -> Option<SfError> {
    let rate = shared.config.transient_failure_rate;
    if rate <= 0.0 {
        return None;
    }
    let mut rng = lock(&shared.rng);
    if !rng.random_bool(rate) {
        return None;
    }
    Some(if !writes || rng.random_bool(0.5) {
        faults::server_unavailable()
    } else {
        faults::lock_row()
    })
}
