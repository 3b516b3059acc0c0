//! What every REST call goes through before its handler: the bearer check (601/602), the
//! limits (615, 606, 607), configured latency and injected faults; and after it, the call log.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::clock;
use super::envelope::{self, MktoError, Outcome};
use super::identity;
use super::inspect::CallRecord;
use super::limits::Slot;
use super::shared::{Shared, lock};

const MAX_BODY_BYTES: u64 = 1024 * 1024;

pub async fn rest_gate(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(refused) = too_large(&request, shared.config.max_uri_bytes) {
        return refused;
    }
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let (client, response) = match admit(&shared, &request) {
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
    shared.record(CallRecord {
        kind: "rest".to_string(),
        client,
        method,
        path,
        status: Some(response.status().as_u16()),
        code: outcome.code,
        records: outcome.records,
        ..CallRecord::default()
    });
    response
}

type Refused = (Option<String>, MktoError);

fn admit(shared: &Shared, request: &Request) -> Result<(String, Slot), Refused> {
    if shared.config.refuse_query_access_token && has_query_token(request) {
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
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    let fault = lock(&shared.faults).next();
    let response = match fault {
        Some(error) => error.into_response(),
        None => next.run(request).await,
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

/// Whether the query string carries `access_token`, the withdrawn way of passing the token.
fn has_query_token(request: &Request) -> bool {
    request.uri().query().is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some("access_token"))
    })
}

/// URIs over the limit (8 KB) get 414 and bodies over 1 MB get 413, plain HTTP errors rather
/// than envelopes, before anything else is looked at.
fn too_large(request: &Request, max_uri_bytes: usize) -> Option<Response> {
    if request.uri().to_string().len() > max_uri_bytes {
        return Some(StatusCode::URI_TOO_LONG.into_response());
    }
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    length
        .filter(|n| *n > MAX_BODY_BYTES)
        .map(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())
}

/// Unknown REST paths.
pub async fn not_found() -> Response {
    MktoError::NotFound.into_response()
}

/// A known path called with a method it does not serve.
pub async fn method_not_supported() -> Response {
    MktoError::MethodNotSupported.into_response()
}
