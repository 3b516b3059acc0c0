//! sObject Collections: `composite/sobjects` POST (create), PATCH (update) and DELETE, up to 200
//! records (in at most 10 runs of one type), answered 200 with one result per record in request
//! order. With `allOrNone` a single failure rolls every record back and the others report
//! `ALL_OR_NONE_OPERATION_ROLLED_BACK`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::error::SfError;
use super::org::Org;
use super::rest::{check_version_since, json_object, touched};
use super::row_locks;

/// sObject Collections came with API version 42.0.
const COLLECTIONS_SINCE: f64 = 42.0;
use super::schema::Kind;
use super::state::{Caller, ErrorCode, Shared, lock};

const MAX_RECORDS: usize = 200;
/// Runs of one type a collection may hold (notes §3.3).
const MAX_CHUNKS: usize = 10;

#[derive(Clone, Copy)]
enum Op {
    Create,
    Update,
}

pub async fn create(
    state: State<Arc<Shared>>,
    caller: Extension<Caller>,
    path: Path<String>,
    body: Bytes,
) -> Response {
    holding_rows(state, caller, path, body, Op::Create).await
}

pub async fn update(
    state: State<Arc<Shared>>,
    caller: Extension<Caller>,
    path: Path<String>,
    body: Bytes,
) -> Response {
    holding_rows(state, caller, path, body, Op::Update).await
}

/// Writes once the campaigns' rows are this write's (see `row_locks`); the members of a
/// campaign whose row stayed held fail with `UNABLE_TO_LOCK_ROW`.
async fn holding_rows(
    State(shared): State<Arc<Shared>>,
    caller: Extension<Caller>,
    path: Path<String>,
    body: Bytes,
    op: Op,
) -> Response {
    let records: Vec<Value> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b.get("records").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    let campaigns = row_locks::campaigns_of(&shared, &records);
    let (_rows, held) = match row_locks::hold(&shared, campaigns).await {
        Ok(rows) => (rows, BTreeSet::new()),
        Err(held) => (Vec::new(), held),
    };
    with_body(State(shared), caller, path, body, op, &held)
}

/// `held`: campaigns whose row this write could not take; their members' records fail.
fn with_body(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path(version): Path<String>,
    body: Bytes,
    op: Op,
    held: &BTreeSet<String>,
) -> Response {
    let parsed: Result<(bool, Vec<Value>), SfError> = (|| {
        check_version_since(&shared, &version, COLLECTIONS_SINCE)?;
        let request = json_object(&body)?;
        let all_or_none = request
            .get("allOrNone")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let records = request
            .get("records")
            .and_then(Value::as_array)
            .ok_or_else(|| SfError::bad_request("JSON_PARSER_ERROR", "records is required"))?;
        check_count(records.len())?;
        check_chunks(records)?;
        Ok((all_or_none, records.clone()))
    })();
    let (all_or_none, records) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return error.into_response(),
    };
    let mut org = lock(&shared.org);
    let outcomes = apply(&mut org, all_or_none, &records, |org, record| {
        if row_locks::campaign_of(org, record).is_some_and(|c| held.contains(&c)) {
            return Err(super::faults::lock_row());
        }
        let fields = record.as_object().cloned().unwrap_or_default();
        match op {
            Op::Create => {
                let kind = record_type(&fields)?;
                org.create(kind, &fields, caller.sends_outbound).map(Some)
            }
            Op::Update => {
                let id = fields
                    .get("id")
                    .or(fields.get("Id"))
                    .and_then(Value::as_str)
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| {
                        SfError::bad_request(
                            "MISSING_ARGUMENT",
                            "Id not specified in an update call",
                        )
                    })?;
                let found = org.get(id)?;
                if Some(found.kind) != record_type(&fields).ok() {
                    return Err(SfError::bad_request(
                        "INVALID_TYPE",
                        "Must send a concrete entity type.",
                    ));
                }
                org.update(id, &fields, caller.sends_outbound)
                    .map(|()| Some(id.to_owned()))
            }
        }
    });
    respond(outcomes, &records, op)
}

pub async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(version): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Err(error) = check_version_since(&shared, &version, COLLECTIONS_SINCE) {
        return error.into_response();
    }
    let ids: Vec<Value> = params
        .get("ids")
        .map(|ids| {
            ids.split(',')
                .filter(|id| !id.is_empty())
                .map(|id| json!(id))
                .collect()
        })
        .unwrap_or_default();
    if let Err(error) = check_count(ids.len()) {
        return error.into_response();
    }
    let all_or_none = params
        .get("allOrNone")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    // Deleting members locks their campaigns' rows as writing them does.
    let campaigns = row_locks::campaigns_of_ids(&shared, &ids);
    let (_rows, held) = match row_locks::hold(&shared, campaigns).await {
        Ok(rows) => (rows, BTreeSet::new()),
        Err(held) => (Vec::new(), held),
    };
    let mut org = lock(&shared.org);
    let outcomes = apply(&mut org, all_or_none, &ids, |org, id| {
        let id = id.as_str().unwrap_or_default();
        if row_locks::campaign_of_id(org, id).is_some_and(|c| held.contains(&c)) {
            return Err(super::faults::lock_row());
        }
        org.delete(id).map(|()| Some(id.to_owned()))
    });
    let body: Vec<Value> = outcomes
        .iter()
        .zip(&ids)
        .map(|(outcome, id)| result(outcome, id.as_str()))
        .collect();
    let touched_ids = touched_ids(&outcomes);
    with_first_error(touched(Json(body), touched_ids), &outcomes)
}

type Outcome = Result<Option<String>, SfError>;

/// Runs `write` on each item in order. For all-or-none, the writes go to a copy of the org that
/// replaces it only when every item succeeded, so a failure leaves nothing behind — not even a
/// queued outbound message.
fn apply(
    org: &mut Org,
    all_or_none: bool,
    items: &[Value],
    write: impl Fn(&mut Org, &Value) -> Outcome,
) -> Vec<Outcome> {
    if !all_or_none {
        return items.iter().map(|item| write(org, item)).collect();
    }
    let mut copy = org.clone();
    let outcomes: Vec<Outcome> = items.iter().map(|item| write(&mut copy, item)).collect();
    if outcomes.iter().all(Result::is_ok) {
        *org = copy;
        return outcomes;
    }
    outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Ok(_) => Err(SfError::bad_request(
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "Record rolled back because not all records were valid and the request was using AllOrNone header",
            )),
            Err(error) => Err(error),
        })
        .collect()
}

fn respond(outcomes: Vec<Outcome>, records: &[Value], op: Op) -> Response {
    let body: Vec<Value> = outcomes
        .iter()
        .zip(records)
        .map(|(outcome, record)| {
            let id = match op {
                Op::Create => None,
                Op::Update => record
                    .get("id")
                    .or(record.get("Id"))
                    .and_then(Value::as_str),
            };
            result(outcome, id)
        })
        .collect();
    let touched_ids = touched_ids(&outcomes);
    with_first_error(touched(Json(body), touched_ids), &outcomes)
}

/// Names the first refused record's code in the call log.
fn with_first_error(mut response: Response, outcomes: &[Outcome]) -> Response {
    if let Some(error) = outcomes.iter().find_map(|o| o.as_ref().err()) {
        response
            .extensions_mut()
            .insert(ErrorCode(error.code.to_owned()));
    }
    response
}

fn result(outcome: &Outcome, requested_id: Option<&str>) -> Value {
    match outcome {
        Ok(id) => json!({"id": id, "success": true, "errors": []}),
        Err(error) => {
            let mut entry = json!({"success": false, "errors": [error.collection_entry()]});
            if let Some(id) = requested_id {
                entry["id"] = json!(id);
            }
            entry
        }
    }
}

fn touched_ids(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok().cloned().flatten())
        .collect()
}

fn check_count(count: usize) -> Result<(), SfError> {
    if count > MAX_RECORDS {
        return Err(SfError::bad_request(
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        ));
    }
    Ok(())
}

/// Salesforce writes a mixed collection type by type, one chunk per run of records of the same
/// type ({Lead, Lead, Contact, Lead} is three), and takes at most ten chunks in one request.
fn check_chunks(records: &[Value]) -> Result<(), SfError> {
    let kinds = records
        .iter()
        .map(|record| record.pointer("/attributes/type").and_then(Value::as_str));
    let mut chunks = 0;
    let mut previous = None;
    for kind in kinds {
        let kind = kind.map(str::to_ascii_lowercase);
        if chunks == 0 || kind != previous {
            chunks += 1;
        }
        previous = kind;
    }
    if chunks > MAX_CHUNKS {
        return Err(SfError::bad_request(
            "INVALID_BATCH_REQUEST",
            "Cannot have more than 10 chunks in a single operation. Please rearrange the data to \
             reduce chunking.",
        ));
    }
    Ok(())
}

/// `attributes.type`, which every record of a collection must carry.
fn record_type(fields: &Map<String, Value>) -> Result<Kind, SfError> {
    fields
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
        .and_then(Kind::parse)
        .ok_or_else(|| SfError::bad_request("INVALID_TYPE", "Must send a concrete entity type."))
}
