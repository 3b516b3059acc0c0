//! The credentials controls both simulators share: `POST /__sim/credentials/revoke` and
//! `POST /__sim/credentials/restore`, with `{"clientId": "…"}` or no body (every client). While
//! a client's credentials are revoked its token requests are refused and its tokens are gone,
//! as when an admin revokes an integration's access mid-run.

use axum::Json;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::fault_rules::bad_request;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Chosen {
    client_id: Option<String>,
}

/// The clients a control from Rust names: the one given, or every one the simulator has.
pub fn named<'a>(client_id: Option<&str>, every: impl Iterator<Item = &'a str>) -> Vec<String> {
    match client_id {
        Some(id) => vec![id.to_owned()],
        None => every.map(str::to_owned).collect(),
    }
}

/// Answers a credentials control: applies `apply` to the clients it names (the one in the
/// body, or every `known` one when the body is empty or `{}`) and answers 204; a bad body is
/// 400, a client the simulator lacks 404, and nothing is applied.
pub fn control<'a>(
    body: &Bytes,
    known: impl Iterator<Item = &'a str>,
    apply: impl FnOnce(&[String]),
) -> Response {
    let chosen: Chosen = if body.iter().all(u8::is_ascii_whitespace) {
        Chosen::default()
    } else {
        match serde_json::from_slice(body) {
            Ok(chosen) => chosen,
            Err(e) => {
                return bad_request(&format!("expected {{\"clientId\": \"…\"}} or no body: {e}"));
            }
        }
    };
    let known: Vec<String> = known.map(str::to_owned).collect();
    let clients = match chosen.client_id {
        None => known,
        Some(id) if known.contains(&id) => vec![id],
        Some(id) => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({ "error": format!("no client {id} in this simulator") })),
            )
                .into_response();
        }
    };
    apply(&clients);
    StatusCode::NO_CONTENT.into_response()
}
