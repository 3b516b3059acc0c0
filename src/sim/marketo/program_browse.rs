//! `GET /rest/asset/v1/programs.json`: browse programs 200 at most per page (`maxReturn`,
//! `offset`), optionally only those updated between `earliestUpdatedAt` and `latestUpdatedAt`,
//! and only those a `filterType` (`id`, `programId`, `folderId`, `workspace`) with its
//! `filterValues` names.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;

use super::clock;
use super::envelope::{self, MktoError};
use super::input::{self, Params};
use super::programs::program_json;
use super::shared::{Shared, lock};
use super::world::Program;
use serde_json::Value;

pub async fn browse(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    input::params(query)
        .and_then(|params| page(&shared, &params))
        .unwrap_or_else(MktoError::asset_response)
}

fn time(params: &Params, name: &str) -> Result<Option<i64>, MktoError> {
    params
        .get(name)
        .map(|raw| {
            clock::parse(raw)
                .ok_or_else(|| MktoError::InvalidData(format!("Invalid {name} '{raw}'")))
        })
        .transpose()
}

fn page(shared: &Shared, params: &Params) -> Result<Response, MktoError> {
    let (max, offset) = input::asset_page(params)?;
    let (earliest, latest) = (
        time(params, "earliestUpdatedAt")?,
        time(params, "latestUpdatedAt")?,
    );
    let named = filter(params)?;
    let world = lock(&shared.world);
    let page = world
        .programs
        .values()
        .filter(|p| named.as_ref().is_none_or(|f| f.names(p)))
        .filter(|p| earliest.is_none_or(|t| p.updated_at >= t))
        .filter(|p| latest.is_none_or(|t| p.updated_at <= t))
        .skip(offset)
        .take(max);
    Ok(envelope::asset(page.map(browsed).collect()))
}

/// The browse filters the Swagger lists. Every simulated program is in folder 1 of the
/// `Default` workspace, as [`program_json`] describes it.
enum Filter {
    Ids(Vec<i64>),
    Folders(Vec<i64>),
    Workspaces(Vec<String>),
}

impl Filter {
    fn names(&self, program: &Program) -> bool {
        match self {
            Filter::Ids(ids) => ids.contains(&program.id),
            Filter::Folders(ids) => ids.contains(&PROGRAM_FOLDER),
            Filter::Workspaces(names) => names.iter().any(|n| n == PROGRAM_WORKSPACE),
        }
    }
}

const PROGRAM_FOLDER: i64 = 1;
const PROGRAM_WORKSPACE: &str = "Default";

/// `filterType` with its `filterValues` (701 without them); another type is 1003, as is a
/// value that is not a number where an id is wanted.
fn filter(params: &Params) -> Result<Option<Filter>, MktoError> {
    let Some(filter_type) = params.get("filterType") else {
        return Ok(None);
    };
    let values = input::csv(input::required(params, "filterValues")?);
    let ids = || {
        values
            .iter()
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| MktoError::InvalidData(format!("Invalid filterValues '{v}'")))
            })
            .collect::<Result<Vec<i64>, MktoError>>()
    };
    match filter_type.as_str() {
        "id" | "programId" => Ok(Some(Filter::Ids(ids()?))),
        "folderId" => Ok(Some(Filter::Folders(ids()?))),
        "workspace" => Ok(Some(Filter::Workspaces(values))),
        other => Err(MktoError::InvalidData(format!(
            "Invalid filterType '{other}': use id, programId, folderId or workspace"
        ))),
    }
}

/// A program as the browse lists it: without its tags (Adobe: "tags associated with a program
/// are not returned by this endpoint") or costs (absent from every documented browse item);
/// reading a program by id or name gives both.
fn browsed(program: &Program) -> Value {
    let mut value = program_json(program);
    if let Some(fields) = value.as_object_mut() {
        fields.remove("tags");
        fields.remove("costs");
    }
    value
}
