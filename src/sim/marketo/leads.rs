//! Leads: `GET /rest/v1/leads.json` (filter by email, id, sfdcLeadId, sfdcContactId or any
//! field; ≤300 values; `fields`; paging) and `POST /rest/v1/leads.json` (createOnly, updateOnly,
//! createOrUpdate, createDuplicate; per-record created/updated/skipped with 1001 for a value of
//! the wrong type, 1003 for a non-ASCII e-mail or an `id` outside updateOnly, 1004/1005/1007,
//! 1006 for a field the instance lacks, 1008 for a partition it lacks, 1021 for `company` on an
//! update), which with `?_method=GET` is the filter query again, its parameters in a form body.
//! A `filterType`, and the sync's `lookupField`, must be searchable: 1011 for another standard
//! field, 1006 for a field the instance lacks.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::clock;
use super::envelope::{self, MktoError, Page};
use super::input::{self, Params};
use super::shared::{Shared, lock};
use super::world::World;

const DEFAULT_FIELDS: [&str; 6] = [
    "id",
    "email",
    "updatedAt",
    "createdAt",
    "firstName",
    "lastName",
];
/// The one lead partition of the simulated instance, as every Marketo instance has.
const DEFAULT_PARTITION: &str = "Default";
/// More matches than this is refused (1003 "Too many results match the filter").
const MAX_MATCHES: usize = 1000;

pub async fn query(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    input::params(query)
        .and_then(|params| find(&shared, &params))
        .unwrap_or_else(IntoResponse::into_response)
}

fn find(shared: &Shared, params: &Params) -> Result<Response, MktoError> {
    let filter_type = input::required(params, "filterType")?;
    let values = input::csv(input::required(params, "filterValues")?);
    input::within_batch(values.len(), "filterValues")?;
    let fields = match params.get("fields") {
        Some(fields) => input::csv(fields),
        None => DEFAULT_FIELDS.iter().map(|f| (*f).to_string()).collect(),
    };
    let world = lock(&shared.world);
    searchable(&world, filter_type)?;
    let mut ids: Vec<i64> = Vec::new();
    for value in &values {
        for id in world.leads_matching(filter_type, value) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    if ids.len() > MAX_MATCHES {
        return Err(MktoError::InvalidData(
            "Too many results match the filter".to_string(),
        ));
    }
    let window = input::window(params, ids.len())?;
    let result = ids[window.start..window.end]
        .iter()
        .filter_map(|id| world.leads.get(id))
        .map(|lead| {
            let mut record = Map::new();
            record.insert("id".to_string(), json!(lead.id));
            for field in &fields {
                record.insert(field.clone(), lead.field(field));
            }
            Value::Object(record)
        })
        .collect();
    let page = Page {
        next_token: window.next_token,
        report_more: false,
    };
    Ok(envelope::lead_db(result, Some(page)))
}

/// Standard lead fields Marketo searches by (`filterType`), besides any custom field.
const SEARCHABLE: [&str; 12] = [
    "cookies",
    "email",
    "facebookId",
    "id",
    "leadPartitionId",
    "linkedInId",
    "sfdcAccountId",
    "sfdcContactId",
    "sfdcLeadId",
    "sfdcLeadOwnerId",
    "sfdcOpptyId",
    "twitterId",
];

/// A `filterType` Marketo takes: a searchable standard field or a custom one; another
/// standard field is 1011, a field the instance lacks 1006.
fn searchable(world: &World, filter_type: &str) -> Result<(), MktoError> {
    if SEARCHABLE.contains(&filter_type) || super::exports_file::custom_field(world, filter_type) {
        Ok(())
    } else if super::exports_file::lead_field(world, filter_type) {
        Err(MktoError::FieldNotSupported(filter_type.to_string()))
    } else {
        Err(MktoError::FieldNotFound(filter_type.to_string()))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyncRequest {
    action: Option<String>,
    lookup_field: Option<String>,
    partition_name: Option<String>,
    #[serde(default)]
    input: Vec<Map<String, Value>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    CreateOnly,
    UpdateOnly,
    CreateOrUpdate,
    CreateDuplicate,
}

/// `POST /rest/v1/leads.json`: a sync, or, with `?_method=GET`, a filter query whose parameters
/// are in a form-encoded body (Marketo's way around the 8 KB URI limit).
pub async fn sync(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<Params>, QueryRejection>,
    request: Request,
) -> Response {
    if input::read_as_post(&query) {
        return input::form_params(request)
            .await
            .and_then(|params| find(&shared, &params))
            .unwrap_or_else(IntoResponse::into_response);
    }
    let headers = request.headers().clone();
    match Bytes::from_request(request, &()).await {
        Ok(body) => push(&shared, &headers, &body),
        Err(_) => Err(MktoError::InvalidJson),
    }
    .unwrap_or_else(IntoResponse::into_response)
}

fn push(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Response, MktoError> {
    let request: SyncRequest = input::json_body(headers, body)?;
    let action = match request.action.as_deref().unwrap_or("createOrUpdate") {
        "createOnly" => Action::CreateOnly,
        "updateOnly" => Action::UpdateOnly,
        "createOrUpdate" => Action::CreateOrUpdate,
        "createDuplicate" => Action::CreateDuplicate,
        other => return Err(MktoError::InvalidData(format!("Invalid action '{other}'"))),
    };
    let lookup = request
        .lookup_field
        .as_deref()
        .unwrap_or("email")
        .to_string();
    if lookup == "id" && action != Action::UpdateOnly {
        return Err(MktoError::InvalidData(
            "Lookup field 'id' is only allowed with action 'updateOnly'".to_string(),
        ));
    }
    // A partition names where new leads go: only the actions that may create take one.
    if request.partition_name.is_some()
        && !matches!(action, Action::CreateOnly | Action::CreateOrUpdate)
    {
        return Err(MktoError::InvalidData(
            "partitionName is only allowed with action 'createOnly' or 'createOrUpdate'"
                .to_string(),
        ));
    }
    if request.input.is_empty() {
        return Err(MktoError::Blank("input"));
    }
    input::within_batch(request.input.len(), "input records")?;
    let partition = request.partition_name;
    let now = clock::now_ms();
    let result = shared.change_world(|world| {
        // The lookup field is searched on, so it must be searchable (1011, 1006 unknown).
        searchable(world, &lookup)?;
        for fields in std::mem::take(&mut world.racing_leads) {
            world.insert_lead(fields, now);
        }
        Ok::<_, MktoError>(
            request
                .input
                .into_iter()
                .map(|record| match partition.as_deref() {
                    Some(name) if name != DEFAULT_PARTITION => {
                        skipped("1008", &format!("Access denied to partition '{name}'"))
                    }
                    _ => sync_one(world, action, &lookup, record, now),
                })
                .collect(),
        )
    })?;
    Ok(envelope::lead_db(result, None))
}

fn sync_one(
    world: &mut World,
    action: Action,
    lookup: &str,
    mut record: Map<String, Value>,
    now: i64,
) -> Value {
    let key = match record.get(lookup) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let matches = match &key {
        Some(key) => world.leads_matching(lookup, key),
        None if action == Action::CreateDuplicate => Vec::new(),
        None => {
            return skipped(
                "1003",
                &format!("Value for lookup field '{lookup}' not found"),
            );
        }
    };
    if record
        .get("email")
        .and_then(Value::as_str)
        .is_some_and(|email| !email.is_ascii())
    {
        return skipped(
            "1003",
            "Invalid email address: only ASCII characters are allowed",
        );
    }
    // A lead's id is Marketo's to give: a record may name it only to update that lead.
    if action != Action::UpdateOnly && record.contains_key("id") {
        return skipped(
            "1003",
            "Field 'id' is allowed only with action 'updateOnly'",
        );
    }
    for typed in ["id", "createdAt", "updatedAt"] {
        record.remove(typed);
    }
    // A field the instance does not have is refused, not stored as a new one.
    if let Some(unknown) = record
        .keys()
        .find(|field| !super::exports_file::lead_field(world, field))
    {
        return skipped("1006", &format!("Field '{unknown}' not found"));
    }
    if let Some(field) = record
        .iter()
        .find_map(|(f, v)| (!typed_right(f, v)).then_some(f))
    {
        return skipped("1001", &format!("Invalid value/type for field '{field}'"));
    }
    match (action, matches.as_slice()) {
        (Action::CreateOnly, [_, ..]) => skipped("1005", "Lead already exists"),
        (Action::UpdateOnly, []) => skipped("1004", "Lead not found"),
        (Action::UpdateOnly | Action::CreateOrUpdate, [_, _, ..]) => {
            skipped("1007", "Multiple leads match the lookup criteria")
        }
        // Company fields are Sync Companies' to change, not Sync Leads'.
        (Action::UpdateOnly | Action::CreateOrUpdate, [_]) if record.contains_key("company") => {
            skipped("1021", "Company update not allowed")
        }
        (Action::UpdateOnly | Action::CreateOrUpdate, [id]) => {
            if let Some(lead) = world.leads.get_mut(id) {
                lead.fields.extend(record);
                lead.updated_at = now;
            }
            json!({ "id": id, "status": "updated" })
        }
        _ => {
            let id = world.insert_lead(record, now);
            json!({ "id": id, "status": "created" })
        }
    }
}

/// No lead field holds a list or an object, and the standard text fields hold text; custom
/// fields take any single value.
fn typed_right(field: &str, value: &Value) -> bool {
    match value {
        Value::Null | Value::String(_) => true,
        Value::Array(_) | Value::Object(_) => false,
        Value::Bool(_) | Value::Number(_) => !super::exports_file::standard_lead_field(field),
    }
}

fn skipped(code: &str, message: &str) -> Value {
    json!({ "status": "skipped", "reasons": envelope::reason(code, message) })
}
