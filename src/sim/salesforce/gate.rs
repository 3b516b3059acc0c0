//! What every REST call passes through before its handler: latency, the bearer token, the daily
//! API allocation, injected transient failures; and after it, the `Sforce-Limit-Info` header and
//! the call log entry.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngExt;

use super::auth;
use super::error::SfError;
use super::state::{CallRecord, Shared, Touched, lock};

pub async fn gate(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    let method = request.method().to_string();
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let caller = auth::authenticate(&shared, request.headers());
    let client_id = caller.as_ref().ok().map(|c| c.client_id.clone());
    let mut response = match caller {
        Err(error) => error.into_response(),
        Ok(caller) => {
            let used = shared.api_usage.fetch_add(1, Ordering::SeqCst) + 1;
            if used > shared.config.daily_api_limit {
                SfError::new(
                    StatusCode::FORBIDDEN,
                    "REQUEST_LIMIT_EXCEEDED",
                    "TotalRequests Limit exceeded.",
                )
                .into_response()
            } else if let Some(failure) = transient_failure(&shared) {
                failure.into_response()
            } else {
                request.extensions_mut().insert(caller);
                next.run(request).await
            }
        }
    };
    let used = shared.api_usage.load(Ordering::SeqCst);
    let limit = format!("api-usage={used}/{}", shared.config.daily_api_limit);
    if let Ok(value) = HeaderValue::from_str(&limit) {
        response.headers_mut().insert("Sforce-Limit-Info", value);
    }
    let records = response
        .extensions()
        .get::<Touched>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    lock(&shared.log).push(CallRecord {
        client_id,
        method,
        path,
        status: response.status().as_u16(),
        records,
    });
    response
}

/// One of Salesforce's retryable answers, at the configured rate: the server unavailable (503)
/// or a record lock held by another transaction (`UNABLE_TO_LOCK_ROW`).
fn transient_failure(shared: &Shared) -> Option<SfError> {
    let rate = shared.config.transient_failure_rate;
    if rate <= 0.0 {
        return None;
    }
    let mut rng = lock(&shared.rng);
    if !rng.random_bool(rate) {
        return None;
    }
    Some(if rng.random_bool(0.5) {
        SfError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVER_UNAVAILABLE",
            "Server temporarily unavailable",
        )
    } else {
        SfError::bad_request(
            "UNABLE_TO_LOCK_ROW",
            "unable to obtain exclusive access to this record",
        )
    })
}
