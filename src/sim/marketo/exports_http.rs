//! `/bulk/v1/program/members/export/…`: create a job (`filter` with `programId` or up to 10
//! `programIds`, `statusNames`, `isExhausted`, `nurtureCadence`; `updatedAt` answers 1035 as on a
//! subscription without it; `fields`, `format`, `columnHeaderNames`), enqueue it, read its
//! status, cancel it, and read its file, which answers 404 in plain text until Completed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::clock;
use super::envelope::{self, MktoError};
use super::exports::{Filter, JobState, NewJob};
use super::exports_file;
use super::identity;
use super::input;
use super::shared::{Shared, lock};
use super::world::World;

/// Programs one job may name with `programIds`.
const MAX_PROGRAMS: usize = 10;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequest {
    fields: Option<Vec<String>>,
    filter: Option<Map<String, Value>>,
    format: Option<String>,
    column_header_names: Option<BTreeMap<String, String>>,
}

/// The API user calling: jobs belong to the user that created them.
fn caller(shared: &Shared, headers: &HeaderMap) -> Result<String, MktoError> {
    let token = identity::bearer(headers)?;
    lock(&shared.tokens).check(token, Instant::now())
}

fn answer(result: Result<Value, MktoError>) -> Response {
    match result {
        Ok(view) => envelope::lead_db(vec![view], None),
        Err(error) => error.into_response(),
    }
}

pub async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(create_job(&shared, &headers, &body))
}

fn create_job(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Value, MktoError> {
    let owner = caller(shared, headers)?;
    let request: CreateRequest = input::json_body(headers, body)?;
    let job = {
        let world = lock(&shared.world);
        validate(&world, owner, request)?
    };
    let allowance = shared.config.export_daily_bytes;
    lock(&shared.exports).create(job, clock::now_ms(), allowance)
}

fn validate(world: &World, owner: String, request: CreateRequest) -> Result<NewJob, MktoError> {
    let fields = request
        .fields
        .filter(|f| !f.is_empty())
        .ok_or(MktoError::Blank("fields"))?;
    if let Some(unknown) = fields.iter().find(|f| !exports_file::known_field(world, f)) {
        return Err(MktoError::InvalidData(format!("Invalid field '{unknown}'")));
    }
    let filter = filter(world, &request.filter.ok_or(MktoError::Blank("filter"))?)?;
    let format = match request.format.as_deref().map(str::to_ascii_uppercase) {
        None => "CSV",
        Some(f) if f == "CSV" => "CSV",
        Some(f) if f == "TSV" => "TSV",
        Some(f) if f == "SSV" => "SSV",
        Some(other) => return Err(MktoError::InvalidData(format!("Invalid format '{other}'"))),
    };
    let headers = request.column_header_names.unwrap_or_default();
    let named = |k: &String| fields.contains(k) || (filter.several && k == "programId");
    if let Some(stray) = headers.keys().find(|k| !named(k)) {
        return Err(MktoError::InvalidData(format!(
            "Column header for '{stray}', which is not an exported field"
        )));
    }
    Ok(NewJob {
        owner,
        format,
        fields,
        headers,
        filter,
    })
}

fn filter(world: &World, raw: &Map<String, Value>) -> Result<Filter, MktoError> {
    let invalid = |what: &str| MktoError::InvalidData(format!("Invalid filter: {what}"));
    let mut filter = Filter::default();
    for (name, value) in raw {
        match name.as_str() {
            "programId" => filter
                .programs
                .push(value.as_i64().ok_or_else(|| invalid(name))?),
            "programIds" => {
                let ids = value.as_array().ok_or_else(|| invalid(name))?;
                if ids.is_empty() || ids.len() > MAX_PROGRAMS {
                    return Err(invalid("programIds takes 1 to 10 program ids"));
                }
                for id in ids {
                    filter
                        .programs
                        .push(id.as_i64().ok_or_else(|| invalid(name))?);
                }
                filter.several = true;
            }
            "statusNames" => {
                let names = value.as_array().ok_or_else(|| invalid(name))?;
                let names: Option<Vec<String>> = names
                    .iter()
                    .map(|n| n.as_str().map(str::to_string))
                    .collect();
                filter.status_names = Some(names.ok_or_else(|| invalid(name))?);
            }
            "isExhausted" => {
                filter.is_exhausted = Some(value.as_bool().ok_or_else(|| invalid(name))?)
            }
            "nurtureCadence" => match value.as_str() {
                Some(c @ ("paused" | "normal" | "pause" | "norm")) => {
                    filter.nurture_cadence = Some(c.to_string());
                }
                _ => return Err(invalid(name)),
            },
            "updatedAt" => return Err(MktoError::UnsupportedFilter),
            other => return Err(invalid(&format!("unknown filter type '{other}'"))),
        }
    }
    match (
        raw.contains_key("programId"),
        raw.contains_key("programIds"),
    ) {
        (true, true) => return Err(invalid("programId cannot be used with programIds")),
        (false, false) => return Err(invalid("programId or programIds is required")),
        _ => {}
    }
    if let Some(missing) = filter
        .programs
        .iter()
        .find(|p| !world.programs.contains_key(p))
    {
        return Err(MktoError::ObjectNotFound(format!(
            "Program '{missing}' not found"
        )));
    }
    // "If a status name is not found in any of the programs, '1003, Invalid Data' is returned."
    for status in filter.status_names.iter().flatten() {
        let found = filter.programs.iter().any(|p| {
            world
                .program_channel(*p)
                .is_some_and(|(_, channel)| channel.status(status).is_some())
        });
        if !found {
            return Err(MktoError::InvalidData(format!(
                "Invalid Data: status '{status}' not found in the programs"
            )));
        }
    }
    Ok(filter)
}

/// Brings every job up to date before a look at one (its status or file): Marketo's jobs move
/// on their own, the simulator's when looked at, one state per look and status interval.
fn tick(shared: &Shared) {
    let mut exports = lock(&shared.exports);
    let world = lock(&shared.world);
    exports.tick(
        &world,
        shared.config.export_status_interval,
        clock::now_ms(),
    );
}

pub async fn enqueue(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer(caller(&shared, &headers).and_then(|owner| {
        let allowance = shared.config.export_daily_bytes;
        lock(&shared.exports).enqueue(&owner, &id, clock::now_ms(), allowance)
    }))
}

pub async fn status(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer(caller(&shared, &headers).and_then(|owner| {
        tick(&shared);
        lock(&shared.exports)
            .find(&owner, &id)
            .map(|job| job.view())
    }))
}

pub async fn cancel(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer(caller(&shared, &headers).and_then(|owner| lock(&shared.exports).cancel(&owner, &id)))
}

/// The file of a Completed job; anything else is a 404 with a plain-text message, "unlike most
/// other Marketo REST endpoints".
pub async fn file(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let owner = match caller(&shared, &headers) {
        Ok(owner) => owner,
        Err(error) => return error.into_response(),
    };
    tick(&shared);
    let mut exports = lock(&shared.exports);
    let found = exports
        .find(&owner, &id)
        .ok()
        .filter(|job| job.state == JobState::Completed)
        .and_then(|job| Some((job.file.clone()?, job.records)));
    let Some((file, records)) = found else {
        let text = format!("Export job '{id}' not found or not completed");
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            text,
        )
            .into_response();
    };
    let cut = exports.cut_next_file.take();
    drop(exports);
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    exports_file::answer(file, range, cut, records)
}
