//! The Asset API parts the service reads and writes: program by id or name (channel, period
//! costs, linked SFDC campaign), the form-encoded program update that appends costs (or replaces
//! them with `costsDestructiveUpdate=true`), and channels with their progression statuses.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::clock;
use super::envelope::{self, MktoError};
use super::input::{self, Params};
use super::shared::{Shared, lock};
use super::world::{Channel, Cost, Program};

/// `GET /rest/asset/v1/program/{id}.json`.
pub async fn get(State(shared): State<Arc<Shared>>, Path(file): Path<String>) -> Response {
    let world = lock(&shared.world);
    let found = file
        .strip_suffix(".json")
        .and_then(|id| id.parse::<i64>().ok())
        .and_then(|id| world.programs.get(&id));
    envelope::asset(found.map(program_json).into_iter().collect())
}

/// `GET /rest/asset/v1/program/byName.json?name=[&includeCosts=true]`.
pub async fn by_name(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    let params = match input::params(query) {
        Ok(params) => params,
        Err(error) => return error.asset_response(),
    };
    let Ok(name) = input::required(&params, "name") else {
        return MktoError::Blank("name").asset_response();
    };
    // By name, costs come only when asked for; by id they always do.
    let with_costs = params.get("includeCosts").is_some_and(|v| v == "true");
    let world = lock(&shared.world);
    let found = world.programs.values().filter(|p| p.name == name);
    let programs = found.map(|program| {
        let mut value = program_json(program);
        if !with_costs {
            value["costs"] = Value::Null;
        }
        value
    });
    envelope::asset(programs.collect())
}

/// `POST /rest/asset/v1/program/{id}.json`, form-encoded. Only name (not blank: 701),
/// description and costs (each `startDate` a date: 704), checked before anything changes.
pub async fn update(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    apply_update(&shared, &file, form).unwrap_or_else(MktoError::asset_response)
}

fn apply_update(
    shared: &Shared,
    file: &str,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Result<Response, MktoError> {
    let Form(form) = form.map_err(|rejection| match rejection {
        FormRejection::InvalidFormContentType(_) => MktoError::ContentType,
        other => MktoError::InvalidData(other.body_text()),
    })?;
    let costs: Option<Vec<Cost>> = form
        .get("costs")
        .map(|text| serde_json::from_str(text))
        .transpose()
        .map_err(|e| MktoError::InvalidData(format!("Invalid costs: {e}")))?;
    if let Some(bad) = costs
        .iter()
        .flatten()
        .find(|c| !is_cost_date(&c.start_date))
    {
        return Err(MktoError::InvalidDate(format!(
            "Invalid date format: startDate '{}'",
            bad.start_date
        )));
    }
    if form.get("name").is_some_and(|name| name.trim().is_empty()) {
        return Err(MktoError::Blank("name"));
    }
    let destructive = form.get("costsDestructiveUpdate").map(String::as_str) == Some("true");
    // The path's last segment is `{id}.json`: the id is what comes before the suffix.
    let raw_id = file.strip_suffix(".json").unwrap_or(file);
    let mut world = lock(&shared.world);
    let program = raw_id
        .parse::<i64>()
        .ok()
        .and_then(|id| world.programs.get_mut(&id))
        .ok_or_else(|| MktoError::NoData(format!("Program '{raw_id}' not found")))?;
    if let Some(name) = form.get("name") {
        program.name = name.clone();
    }
    if let Some(description) = form.get("description") {
        program.description = description.clone();
    }
    if destructive {
        program.costs = costs.unwrap_or_default();
    } else if let Some(costs) = costs {
        program.costs.extend(costs);
    }
    program.updated_at = clock::now_ms();
    Ok(envelope::asset(vec![program_json(program)]))
}

/// A period cost's `startDate`: a date (`2016-01-01`, as the documentation writes it) or an
/// ISO-8601 datetime (the Swagger's `date-time`).
fn is_cost_date(text: &str) -> bool {
    if text.contains('T') {
        clock::parse(text).is_some()
    } else {
        clock::parse(&format!("{text}T00:00:00Z")).is_some()
    }
}

/// `GET /rest/asset/v1/channels.json?maxReturn=&offset=`.
pub async fn channels(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    let params = match input::params(query) {
        Ok(params) => params,
        Err(error) => return error.asset_response(),
    };
    let (max, offset) = match input::asset_page(&params) {
        Ok(page) => page,
        Err(error) => return error.asset_response(),
    };
    let world = lock(&shared.world);
    let page = world.channels.iter().skip(offset).take(max);
    envelope::asset(page.map(channel_json).collect())
}

/// `GET /rest/asset/v1/channel/byName.json?name=` (the spec spells the parameter `Name`).
pub async fn channel_by_name(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    let params = match input::params(query) {
        Ok(params) => params,
        Err(error) => return error.asset_response(),
    };
    // Only `name`, as the documentation spells it (the Swagger's `Name` is not taken).
    let Some(name) = params.get("name") else {
        return MktoError::Blank("name").asset_response();
    };
    let world = lock(&shared.world);
    envelope::asset(world.channel(name).map(channel_json).into_iter().collect())
}

pub fn program_json(program: &Program) -> Value {
    let mut value = json!({
        "id": program.id,
        "name": program.name,
        "description": program.description,
        "createdAt": clock::asset(program.created_at),
        "updatedAt": clock::asset(program.updated_at),
        "url": format!("https://app-sim.marketo.test/#PG{}A1", program.id),
        "type": "Default",
        "channel": program.channel,
        "folder": { "type": "Folder", "value": 1, "folderName": "Programs" },
        "status": "",
        "workspace": "Default",
        "tags": [],
        // The documented example has `null`, not `[]`, for a program without costs.
        "costs": if program.costs.is_empty() { Value::Null } else { json!(program.costs) },
        "headStart": false,
    });
    if let Some(sfdc_id) = &program.sfdc_id {
        value["sfdcId"] = json!(sfdc_id);
    }
    if let Some(sfdc_name) = &program.sfdc_name {
        value["sfdcName"] = json!(sfdc_name);
    }
    value
}

fn channel_json(channel: &Channel) -> Value {
    let statuses: Vec<Value> = channel
        .progression_statuses
        .iter()
        .map(|s| {
            json!({
                "name": s.name, "step": s.step, "description": null,
                "hidden": s.hidden, "success": s.success,
            })
        })
        .collect();
    json!({
        "id": channel.id,
        "name": channel.name,
        "applicableProgramType": channel.applicable_program_type,
        "progressionStatuses": statuses,
        "createdAt": clock::asset(channel.created_at),
        "updatedAt": clock::asset(channel.updated_at),
    })
}
