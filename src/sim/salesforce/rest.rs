//! Single-record REST: `sobjects/{Type}` create, `sobjects/{Type}/{id}` get, patch and delete,
//! and `sobjects/{Type}/deleted/` (getDeleted).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::clock::{self, format_offset, truncate_to_minute};
use super::error::SfError;
use super::schema::Kind;
use super::state::{Caller, Shared, Touched, lock};
use super::view;

/// getDeleted reaches back at most this far, as Salesforce's delete log does.
const DELETED_WINDOW_MS: i64 = 15 * 24 * 60 * 60 * 1000;

pub async fn create(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path((version, kind)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let result = (|| {
        check_version(&shared, &version)?;
        let kind = sobject(&kind)?;
        let input = json_object(&body)?;
        lock(&shared.org).create(kind, &input, caller.sends_outbound)
    })();
    match result {
        Ok(id) => touched(
            (
                StatusCode::CREATED,
                Json(json!({"id": id, "success": true, "errors": []})),
            ),
            vec![id],
        ),
        Err(error) => error.into_response(),
    }
}

pub async fn read(
    State(shared): State<Arc<Shared>>,
    Path((version, kind, id)): Path<(String, String, String)>,
) -> Response {
    let result = (|| {
        check_version(&shared, &version)?;
        let kind = sobject(&kind)?;
        let org = lock(&shared.org);
        // A deleted record answers 404 `ENTITY_IS_DELETED`, an unknown one 404 `NOT_FOUND`.
        let record = org.get(&id)?;
        if record.kind != kind {
            return Err(SfError::not_found());
        }
        Ok((
            record.text("Id").unwrap_or_default().to_owned(),
            view::rest(&org, record, &version),
        ))
    })();
    match result {
        Ok((id, body)) => touched(Json(body), vec![id]),
        Err(error) => error.into_response(),
    }
}

pub async fn update(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path((version, kind, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let result = (|| {
        check_version(&shared, &version)?;
        let kind = sobject(&kind)?;
        let input = json_object(&body)?;
        // The record's id is the URL's; a collection update is where a body names it.
        if input.keys().any(|k| k.eq_ignore_ascii_case("Id")) {
            return Err(SfError::bad_request(
                "INVALID_FIELD",
                "The Id field should not be specified in the sobject data.",
            ));
        }
        let mut org = lock(&shared.org);
        if org.get(&id)?.kind != kind {
            return Err(SfError::not_found());
        }
        org.update(&id, &input, caller.sends_outbound)
    })();
    match result {
        Ok(()) => touched(StatusCode::NO_CONTENT, vec![id]),
        Err(error) => error.into_response(),
    }
}

pub async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((version, kind, id)): Path<(String, String, String)>,
) -> Response {
    let result = (|| {
        check_version(&shared, &version)?;
        let kind = sobject(&kind)?;
        let mut org = lock(&shared.org);
        if org.get(&id)?.kind != kind {
            return Err(SfError::not_found());
        }
        org.delete(&id)
    })();
    match result {
        Ok(()) => touched(StatusCode::NO_CONTENT, vec![id]),
        Err(error) => error.into_response(),
    }
}

/// getDeleted. Salesforce ignores the seconds of `start` and `end` and covers whole minutes up to
/// the last complete one, so a delete shows up once its minute has passed.
pub async fn deleted(
    State(shared): State<Arc<Shared>>,
    Path((version, kind)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let result = (|| {
        check_version(&shared, &version)?;
        let kind = sobject(&kind)?;
        let bound = |name: &str| {
            let text = params.get(name).ok_or_else(|| {
                SfError::bad_request("MISSING_ARGUMENT", format!("Missing argument: {name}"))
            })?;
            clock::parse(text).map(truncate_to_minute).ok_or_else(|| {
                SfError::bad_request(
                    "INVALID_REPLICATION_DATE",
                    format!("Invalid {name} date: {text}"),
                )
            })
        };
        let (start, end) = (bound("start")?, bound("end")?);
        let org = lock(&shared.org);
        let now = org.clock.now();
        let earliest = truncate_to_minute(
            org.started_ms
                .max(now - DELETED_WINDOW_MS)
                .max(org.delete_log_from),
        );
        // The start may not equal the end, nor fall in the same minute once both are truncated.
        if end <= start || start < truncate_to_minute(now - DELETED_WINDOW_MS) {
            return Err(SfError::bad_request(
                "INVALID_REPLICATION_DATE",
                "startDate must chronologically precede endDate and be within the last 15 days",
            ));
        }
        let covered = end.min(truncate_to_minute(now));
        let records: Vec<Value> = org
            .deletions()
            .iter()
            .filter(|d| d.kind == kind && d.at_ms >= start.max(earliest) && d.at_ms < covered)
            .map(|d| json!({"id": d.id, "deletedDate": format_offset(d.at_ms)}))
            .collect();
        let limit = shared.config.deleted_id_limit;
        if records.len() > limit {
            return Err(SfError::bad_request(
                "EXCEEDED_ID_LIMIT",
                format!(
                    "more than {limit} records were deleted in this window; ask for a shorter one"
                ),
            ));
        }
        Ok(json!({
            "deletedRecords": records,
            "earliestDateAvailable": format_offset(earliest),
            "latestDateCovered": format_offset(covered),
        }))
    })();
    match result {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

/// Attaches the ids a call touched, for the call log.
pub fn touched(response: impl IntoResponse, ids: Vec<String>) -> Response {
    let mut response = response.into_response();
    response.extensions_mut().insert(Touched(ids));
    response
}

/// Versions look like `v62.0` and go up to the org's own (`api_version`); anything else is not
/// a resource Salesforce has.
pub fn check_version(shared: &Shared, version: &str) -> Result<(), SfError> {
    check_version_since(shared, version, 0.0)
}

/// As [`check_version`], for a resource that first came with version `since`.
pub fn check_version_since(shared: &Shared, version: &str, since: f64) -> Result<(), SfError> {
    let number = |text: &str| -> Option<f64> {
        let (major, minor) = text.split_once('.')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (digits(major) && digits(minor))
            .then(|| text.parse().ok())
            .flatten()
    };
    let served = number(&shared.config.api_version).unwrap_or(f64::MAX);
    match version.strip_prefix('v').and_then(number) {
        Some(asked) if asked >= since && asked <= served => Ok(()),
        _ => Err(SfError::not_found()),
    }
}

pub fn sobject(name: &str) -> Result<Kind, SfError> {
    Kind::parse(name).ok_or_else(|| {
        SfError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("The requested resource does not exist: {name}"),
        )
    })
}

pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, SfError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(SfError::bad_request(
            "JSON_PARSER_ERROR",
            "Expected a JSON object",
        )),
        Err(error) => Err(SfError::bad_request("JSON_PARSER_ERROR", error.to_string())),
    }
}

/// Any other path under `/services/data` (after the token check, as every REST call):
/// Salesforce's 404 for a resource it does not have, or the simulator does not simulate.
pub async fn unknown_resource() -> Response {
    SfError::not_found().into_response()
}

/// A method a known resource does not take: Salesforce's 405 body, naming the methods it does
/// (the router's `Allow` header) in place of the router's empty answer.
pub async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
    response: Response,
) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    // A control endpoint answers JSON as the other controls do, not as the REST API.
    if uri.path().starts_with("/__sim/") {
        return crate::sim::unknown_control::wrong_method(&method, &uri, response);
    }
    let allowed = response
        .headers()
        .get(axum::http::header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .replace(' ', "");
    let mut answer = SfError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
    )
    .into_response();
    // The answer's own headers stay: `Allow`, and the gate's `Sforce-Limit-Info` and `Date`
    // (a refused method still counts as a call).
    for (name, value) in response.headers() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}
