//! `GET /rest/asset/v1/programs.json`: browse programs 200 at most per page (`maxReturn`,
//! `offset`), optionally only those updated between `earliestUpdatedAt` and `latestUpdatedAt`.

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
    let world = lock(&shared.world);
    let page = world
        .programs
        .values()
        .filter(|p| earliest.is_none_or(|t| p.updated_at >= t))
        .filter(|p| latest.is_none_or(|t| p.updated_at <= t))
        .skip(offset)
        .take(max);
    Ok(envelope::asset(page.map(browsed).collect()))
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
