//! A `/__sim/…` path a simulator does not serve: 404 with JSON naming the simulator, so a
//! control sent to the wrong one is not taken for one of its API calls.

use axum::Json;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The answer of `simulator` (`Salesforce` or `Marketo`) to a control it does not have.
pub fn answer(simulator: &str, uri: &Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "error": format!(
                "the {simulator} simulator has no control at {} (see the README's simulator controls)",
                uri.path()
            )
        })),
    )
        .into_response()
}

/// A control called with a method it does not take: 405 with JSON naming the method and the
/// ones it takes (the router's `Allow` header kept), as every control answer is JSON. Other
/// answers pass through.
pub fn wrong_method(method: &axum::http::Method, uri: &Uri, response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED || !uri.path().starts_with("/__sim/") {
        return response;
    }
    let allowed = response
        .headers()
        .get(axum::http::header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    not_allowed(method, uri, &allowed)
}

/// The simulators' 405 for a path of their own (a control, Marketo's identity endpoint): JSON
/// naming the method and the ones the path takes, which the `Allow` header lists too.
pub fn not_allowed(method: &axum::http::Method, uri: &Uri, allowed: &str) -> Response {
    let mut answer = (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({
            "error": format!("{method} is not allowed on {}; use {allowed}", uri.path())
        })),
    )
        .into_response();
    if let Ok(allow) = axum::http::HeaderValue::from_str(allowed)
        && !allowed.is_empty()
    {
        answer
            .headers_mut()
            .insert(axum::http::header::ALLOW, allow);
    }
    answer
}
