//! One lead at a time, as the Lead Database API has it: `GET /rest/v1/lead/{id}.json` (the
//! lead, or an empty result), `POST /rest/v1/leads/delete.json` (≤300 ids in the body's
//! `input` or the `id` query parameter; the lead's program memberships go with it) and
//! `POST /rest/v1/leads/{id}/merge.json?leadId=|leadIds=` (the losers' blank-filling field
//! values and program memberships move to the winner, then the losers are gone).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::clock;
use super::envelope::{self, MktoError};
use super::input::{self, Params};
use super::shared::{Shared, lock};
use super::world::World;

/// What `fields` defaults to, as the Swagger lists it.
const DEFAULT_FIELDS: [&str; 5] = ["email", "updatedAt", "createdAt", "lastName", "firstName"];

/// `GET /rest/v1/lead/{id}.json?fields=…`: the lead in `result[0]`, or an empty `result` for an
/// id no lead has (deleted or merged away included).
pub async fn get(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    input::params(query)
        .and_then(|params| read(&shared, &file, &params))
        .unwrap_or_else(IntoResponse::into_response)
}

fn read(shared: &Shared, file: &str, params: &Params) -> Result<Response, MktoError> {
    let id = lead_id(file.strip_suffix(".json").unwrap_or(file))?;
    let fields = params.get("fields").map_or_else(
        || DEFAULT_FIELDS.iter().map(|f| (*f).to_string()).collect(),
        |f| input::csv(f),
    );
    let world = lock(&shared.world);
    let result = world.leads.get(&id).map(|lead| {
        let mut record = Map::new();
        record.insert("id".to_string(), json!(lead.id));
        for field in &fields {
            record.insert(field.clone(), lead.field(field));
        }
        Value::Object(record)
    });
    Ok(envelope::lead_db(result.into_iter().collect(), None))
}

fn lead_id(raw: &str) -> Result<i64, MktoError> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| MktoError::InvalidData(format!("Invalid lead id '{raw}'")))
}

#[derive(Deserialize)]
struct DeleteRequest {
    #[serde(default)]
    input: Vec<LeadRef>,
}

#[derive(Deserialize)]
struct LeadRef {
    id: i64,
}

/// `POST /rest/v1/leads/delete.json` `{"input": [{"id": …}]}`, or with an empty body the
/// `id=1,2,3` query parameter: each lead `deleted` with its program memberships, or `skipped`
/// with 1004 "Lead not found".
pub async fn delete(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<Params>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    input::params(query)
        .and_then(|params| delete_leads(&shared, &params, &headers, &body))
        .unwrap_or_else(IntoResponse::into_response)
}

fn delete_leads(
    shared: &Shared,
    params: &Params,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, MktoError> {
    let ids: Vec<i64> = if body.iter().all(u8::is_ascii_whitespace) {
        input::csv(params.get("id").map_or("", String::as_str))
            .iter()
            .map(|raw| lead_id(raw))
            .collect::<Result<_, _>>()?
    } else {
        let request: DeleteRequest = input::json_body(headers, body)?;
        request.input.iter().map(|lead| lead.id).collect()
    };
    if ids.is_empty() {
        return Err(MktoError::Blank("input"));
    }
    input::within_batch(ids.len(), "input records")?;
    let mut world = lock(&shared.world);
    let result = ids
        .iter()
        .enumerate()
        .map(|(seq, id)| {
            if world.remove_lead(*id) {
                json!({ "seq": seq, "id": id, "status": "deleted" })
            } else {
                json!({ "seq": seq, "id": id, "status": "skipped",
                    "reasons": envelope::reason("1004", "Lead not found") })
            }
        })
        .collect();
    Ok(envelope::lead_db(result, None))
}

/// `POST /rest/v1/leads/{id}/merge.json?leadId=…` or `?leadIds=a,b`: the winner keeps its
/// values and takes a loser's where its own is blank (the first loser listed first); it takes
/// the losers' program memberships where it is not a member already; the losers are gone. Answers the envelope without `result`. An unknown lead, winner or loser,
/// is 1004 "Lead not found" and nothing changes; the winner among the losers is 1003.
pub async fn merge(
    State(shared): State<Arc<Shared>>,
    Path(winner): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    input::params(query)
        .and_then(|params| merge_leads(&shared, &winner, &params))
        .unwrap_or_else(IntoResponse::into_response)
}

fn merge_leads(shared: &Shared, winner: &str, params: &Params) -> Result<Response, MktoError> {
    let winner = lead_id(winner)?;
    let raw = params
        .get("leadIds")
        .or_else(|| params.get("leadId"))
        .map_or("", String::as_str);
    let losers: Vec<i64> = input::csv(raw)
        .iter()
        .map(|raw| lead_id(raw))
        .collect::<Result<_, _>>()?;
    if losers.is_empty() {
        return Err(MktoError::Blank("leadId"));
    }
    if losers.contains(&winner) {
        return Err(MktoError::InvalidData(format!(
            "Lead {winner} cannot be merged into itself"
        )));
    }
    let mut world = lock(&shared.world);
    if let Some(unknown) = std::iter::once(&winner)
        .chain(&losers)
        .find(|id| !world.leads.contains_key(*id))
    {
        return Err(MktoError::LeadNotFound(*unknown));
    }
    for loser in losers {
        world.merge_lead(winner, loser, clock::now_ms());
    }
    Ok(envelope::without_result())
}

impl World {
    /// Deletes a lead and its program memberships; whether it was there.
    pub fn remove_lead(&mut self, id: i64) -> bool {
        self.members.retain(|(_, lead), _| *lead != id);
        self.leads.remove(&id).is_some()
    }

    /// Merges `loser` into `winner` (both present).
    fn merge_lead(&mut self, winner: i64, loser: i64, now: i64) {
        let Some(gone) = self.leads.remove(&loser) else {
            return;
        };
        if let Some(kept) = self.leads.get_mut(&winner) {
            for (name, value) in gone.fields {
                let blank = kept
                    .fields
                    .get(&name)
                    .is_none_or(|v| v.is_null() || v.as_str() == Some(""));
                if blank && !value.is_null() {
                    kept.fields.insert(name, value);
                }
            }
            kept.updated_at = now;
        }
        self.move_memberships(winner, loser);
    }

    /// Gives the winner the loser's program memberships where it is not a member already (the
    /// winner's own membership stays as it is).
    pub fn move_memberships(&mut self, winner: i64, loser: i64) {
        let moved: Vec<_> = self
            .members
            .keys()
            .filter(|(_, lead)| *lead == loser)
            .copied()
            .collect();
        for key in moved {
            if let Some(mut member) = self.members.remove(&key) {
                member.lead_id = winner;
                self.members.entry((key.0, winner)).or_insert(member);
            }
        }
    }
}
