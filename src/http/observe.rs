//! Request spans, request metrics and the Prometheus endpoint.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Span;

use super::{AppState, Readiness};

pub fn request_span(request: &Request<Body>) -> Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(request.uri().path(), MatchedPath::as_str);
    tracing::info_span!("request", method = %request.method(), route, request_id)
}

/// Counts and times every request by route (the matched pattern, never the raw path, so
/// cardinality stays bounded).
pub async fn record_request(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A request's method as a label: one of HTTP's own, else `other` (a client may send any
/// token as a method, and each would otherwise be a series of its own, kept for good).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// While draining, every answer says `Connection: close`, so a keep-alive client opens its next
/// request elsewhere instead of on a connection about to be closed.
pub async fn close_while_draining(
    State(readiness): State<Readiness>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if readiness.is_draining() {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// How long `/metrics` waits for the inbox's counts before answering with the last ones: a
/// scrape (Prometheus gives up at 10 s by default) still answers while the database is away.
const INBOX_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

pub async fn metrics(State(state): State<AppState>) -> Response {
    let depth = tokio::time::timeout(INBOX_WAIT, state.store().inbox_depth()).await;
    match depth.unwrap_or(Err(crate::store::StoreError::NoAnswer(
        INBOX_WAIT.as_secs(),
    ))) {
        Ok(depths) => {
            for state_name in ["pending", "leased", "done", "dead", "rejected"] {
                let count = depths
                    .iter()
                    .find(|(s, _)| s == state_name)
                    .map_or(0, |(_, n)| *n);
                metrics::gauge!("inbox_signals", "state" => state_name).set(count as f64);
            }
        }
        Err(error) => tracing::warn!(%error, "could not read inbox depth for /metrics"),
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(),
    )
        .into_response()
}
