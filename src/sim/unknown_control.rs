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
