//! Faults posted to `/__sim/faults`, answered in Salesforce's shapes: a call-level error as the
//! REST error body, a per-record error (`UNABLE_TO_LOCK_ROW`) as every record of a collection
//! failing with `success:false`, and a bare HTTP status as Salesforce's body for 500 and 503 or
//! a proxy's plain text otherwise.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::SfError;
use super::rest::touched;
use super::state::{ErrorCode, Shared, lock};
use crate::sim::fault_rules::{self, Effect};

/// The error codes a fault may name, and whether each fails records rather than the call.
const CODES: &[(&str, bool)] = &[
    ("UNABLE_TO_LOCK_ROW", true),
    ("ENTITY_IS_DELETED", true),
    ("FIELD_CUSTOM_VALIDATION_EXCEPTION", true),
    ("SERVER_UNAVAILABLE", false),
    ("UNKNOWN_EXCEPTION", false),
    ("REQUEST_LIMIT_EXCEEDED", false),
    ("INVALID_SESSION_ID", false),
];

pub fn lock_row() -> SfError {
    SfError::bad_request(
        "UNABLE_TO_LOCK_ROW",
        "unable to obtain exclusive access to this record or 1 records",
    )
}

pub fn server_unavailable() -> SfError {
    SfError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVER_UNAVAILABLE",
        "Server temporarily unavailable",
    )
}

/// The error a fault's `error_code` stands for.
pub fn by_code(code: &str) -> Result<SfError, String> {
    match code {
        "UNABLE_TO_LOCK_ROW" => Ok(lock_row()),
        // The record a write names was deleted meanwhile (by a user, a merge, a conversion).
        "ENTITY_IS_DELETED" => Ok(SfError::bad_request(
            "ENTITY_IS_DELETED",
            "entity is deleted",
        )),
        // One of the org's validation rules refuses the record: it fails until the rule or
        // the data changes.
        "FIELD_CUSTOM_VALIDATION_EXCEPTION" => Ok(SfError::bad_request(
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "A validation rule of this org refuses the record",
        )),
        "SERVER_UNAVAILABLE" => Ok(server_unavailable()),
        "UNKNOWN_EXCEPTION" => Ok(SfError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support",
        )),
        "REQUEST_LIMIT_EXCEEDED" => Ok(SfError::new(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        )),
        "INVALID_SESSION_ID" => Ok(SfError::session_invalid()),
        other => {
            let known: Vec<&str> = CODES.iter().map(|(c, _)| *c).collect();
            Err(format!(
                "error_code {other:?} is not one the simulator can inject ({})",
                known.join(", ")
            ))
        }
    }
}

/// Whether the error fails records (so only writes get it).
pub fn per_record(error: &SfError) -> bool {
    CODES
        .iter()
        .any(|(c, records)| *records && *c == error.code)
}

/// The answer to a call a fault hit, instead of its handler's.
pub fn answer(
    effect: Effect<SfError>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &Bytes,
) -> Response {
    match effect {
        Effect::Code(error) if per_record(&error) && path.ends_with("/composite/sobjects") => {
            collection_failure(&error, method, query, body)
        }
        // A record's own URL answers for a deleted record as the record does: 404.
        Effect::Code(error) if error.code == "ENTITY_IS_DELETED" && method != Method::POST => {
            SfError::entity_is_deleted().into_response()
        }
        Effect::Code(error) => error.into_response(),
        Effect::Status(500) => by_code("UNKNOWN_EXCEPTION")
            .map(IntoResponse::into_response)
            .unwrap_or_else(|e| e.into_response()),
        Effect::Status(503) => server_unavailable().into_response(),
        Effect::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, format!("simulated HTTP {}", status.as_u16())).into_response()
        }
        Effect::Latency(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Every record of the collection fails with `error`, in request order (with its `id` on an
/// update or delete), as when each is refused; nothing is written.
fn collection_failure(
    error: &SfError,
    method: &Method,
    query: Option<&str>,
    body: &Bytes,
) -> Response {
    let ids: Vec<Option<String>> = if method == Method::DELETE {
        query
            .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("ids=")))
            .map(|ids| {
                ids.split("%2C")
                    .flat_map(|part| part.split(','))
                    .filter(|id| !id.is_empty())
                    .map(|id| Some(id.to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        let records = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|b| b.get("records").and_then(Value::as_array).cloned())
            .unwrap_or_default();
        records
            .iter()
            .map(|r| {
                let id = r.get("id").or(r.get("Id")).and_then(Value::as_str);
                id.filter(|_| method == Method::PATCH).map(str::to_owned)
            })
            .collect()
    };
    let results: Vec<Value> = ids
        .iter()
        .map(|id| {
            let mut entry = json!({"success": false, "errors": [error.collection_entry()]});
            if let Some(id) = id {
                entry["id"] = json!(id);
            }
            entry
        })
        .collect();
    let mut response = touched(Json(results), Vec::new());
    response
        .extensions_mut()
        .insert(ErrorCode(error.code.to_owned()));
    response
}

/// `POST /__sim/faults`.
pub async fn add(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request = match fault_rules::parse(&body) {
        Ok(request) => request,
        Err(reason) => return fault_rules::bad_request(&reason),
    };
    let now = Instant::now();
    let mut rules = lock(&shared.faults);
    match rules.add(request, by_code, now) {
        Ok(()) => Json(json!({ "active": rules.describe(now) })).into_response(),
        Err(reason) => fault_rules::bad_request(&reason),
    }
}

/// `GET /__sim/faults`.
pub async fn list(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "active": lock(&shared.faults).describe(Instant::now()) }))
}

/// `DELETE /__sim/faults`.
pub async fn clear(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "cleared": lock(&shared.faults).clear(std::time::Instant::now()) }))
}
