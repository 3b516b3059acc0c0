//! `POST /rest/v1/programs/{programId}/members/status.json` (create or move forward, skip 1037
//! already in the status or past its step, 1025 unknown status) and `…/members/delete.json` (deleted, or skipped
//! 1037 "Lead not in program"). Results keep input order and carry `seq`, the input index.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::clock;
use super::envelope::{self, MktoError};
use super::input;
use super::members::program_id;
use super::progression::{Actor, Skip, StatusResult};
use super::shared::{Shared, lock};

#[derive(Deserialize)]
struct LeadRef {
    #[serde(rename = "leadId")]
    lead_id: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusRequest {
    status_name: Option<String>,
    #[serde(default)]
    input: Vec<LeadRef>,
}

#[derive(Deserialize)]
struct DeleteRequest {
    #[serde(default)]
    input: Vec<LeadRef>,
}

pub async fn status(
    State(shared): State<Arc<Shared>>,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sync_status(&shared, &raw_id, &headers, &body).unwrap_or_else(IntoResponse::into_response)
}

fn sync_status(
    shared: &Shared,
    raw_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, MktoError> {
    let request: StatusRequest = input::json_body(headers, body)?;
    let status = request
        .status_name
        .filter(|s| !s.trim().is_empty())
        .ok_or(MktoError::Blank("statusName"))?;
    if request.input.is_empty() {
        return Err(MktoError::Blank("input"));
    }
    input::within_batch(request.input.len(), "input records")?;
    let id = program_id(&lock(&shared.world), raw_id)?;
    let now = clock::now_ms();
    let result = shared.change_world(|world| {
        let changes = request.input.iter().enumerate().map(|(seq, lead)| {
            match world.change_status(id, lead.lead_id, &status, Actor::Api, now) {
                StatusResult::Created => applied(seq, "created", lead.lead_id),
                StatusResult::Updated | StatusResult::Removed => {
                    applied(seq, "updated", lead.lead_id)
                }
                StatusResult::Skipped(skip) => skipped(seq, skip),
            }
        });
        changes.collect()
    });
    Ok(envelope::lead_db(result, None))
}

pub async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    delete_members(&shared, &raw_id, &headers, &body).unwrap_or_else(IntoResponse::into_response)
}

fn delete_members(
    shared: &Shared,
    raw_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, MktoError> {
    let request: DeleteRequest = input::json_body(headers, body)?;
    if request.input.is_empty() {
        return Err(MktoError::Blank("input"));
    }
    input::within_batch(request.input.len(), "input records")?;
    let id = program_id(&lock(&shared.world), raw_id)?;
    let result = shared.change_world(|world| {
        let deletions = request.input.iter().enumerate().map(|(seq, lead)| {
            match world.delete_member(id, lead.lead_id, clock::now_ms()) {
                Ok(()) => applied(seq, "deleted", lead.lead_id),
                Err(skip) => skipped(seq, skip),
            }
        });
        deletions.collect()
    });
    Ok(envelope::lead_db(result, None))
}

fn applied(seq: usize, status: &str, lead_id: i64) -> Value {
    json!({ "seq": seq, "status": status, "leadId": lead_id })
}

/// A skipped record carries no `leadId`, as in the documented examples: clients correlate by
/// `seq`.
fn skipped(seq: usize, skip: Skip) -> Value {
    json!({ "seq": seq, "status": "skipped", "reasons": envelope::reason(skip.code, skip.message) })
}
