//! Every error answer in its documented shape: `{"error": {...}}` JSON, or a SOAP fault on the
//! Salesforce path, whoever produced it (an extractor's rejection, the body limit, the router's
//! 404/405, the request timeout); and the request timeout itself.

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::inbound::salesforce;

/// What the shaping middleware needs to word its messages.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub body_limit: usize,
}

/// The most of a plain-text error body kept as the message (axum's rejections are one line).
const MAX_MESSAGE_BYTES: usize = 2048;

/// Ends a request that takes longer than the configured timeout with a 503 in the route's shape
/// (a SOAP `Server` fault tells Salesforce to retry).
pub async fn enforce_timeout(
    State(limits): State<Limits>,
    request: Request,
    next: Next,
) -> Response {
    let soap = on_soap_path(&request);
    match tokio::time::timeout(limits.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_elapsed) => {
            let error = ApiError::Timeout(limits.timeout.as_secs());
            tracing::warn!(timeout_secs = limits.timeout.as_secs(), "request timed out");
            if soap {
                salesforce::fault_response(error.status(), &error.to_string())
            } else {
                error.into_response()
            }
        }
    }
}

/// Rewrites an error answer that is not already JSON (or XML on the SOAP path) into the
/// documented shape, keeping its status and, when it had one, its text.
pub async fn error_bodies(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let soap = on_soap_path(&request);
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || has_shape(response.headers(), soap)
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    // axum answers a JSON or form body of the wrong shape with 422; the API documents every
    // request it cannot use as 400.
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let text = message_of(body).await;
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("request body is larger than {} bytes", limits.body_limit)
        }
        _ if !text.is_empty() => text,
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
    };
    let mut shaped = if soap {
        salesforce::fault_response(status, &message)
    } else {
        ApiError::Status { status, message }.into_response()
    };
    // Keep what the original answer said about the connection or the allowed methods.
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}

/// Whether a request is for the Salesforce receiver, whose answers are SOAP faults: a trailing
/// slash (an endpoint URL typed so in Salesforce) is not found, and told so as a fault.
fn on_soap_path(request: &Request) -> bool {
    let path = request.uri().path();
    path.trim_end_matches('/') == salesforce::PATH
}

/// A message's media type without its parameters (`text/xml; charset=UTF-8` → `text/xml`),
/// lowercased; `None` without a readable `Content-Type`.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

fn has_shape(headers: &HeaderMap, soap: bool) -> bool {
    let Some(media_type) = media_type(headers) else {
        return false;
    };
    if soap {
        media_type.eq_ignore_ascii_case("text/xml")
    } else {
        // The console's own HTML error pages (a refused sign-in) are already shaped.
        media_type.eq_ignore_ascii_case("application/json")
            || media_type.eq_ignore_ascii_case("text/html")
    }
}

async fn message_of(body: Body) -> String {
    match to_bytes(body, MAX_MESSAGE_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    }
}
