//! `query?q=` and its continuation `query/{locator}-{offset}`: rows in pages of 2,000 with
//! `nextRecordsUrl` until `done`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::error::SfError;
use super::ids::prefix;
use super::rest::{check_version, touched};
use super::soql;
use super::state::{Shared, lock};
use super::view;

pub const PAGE_SIZE: usize = 2000;

pub async fn first_page(
    State(shared): State<Arc<Shared>>,
    Path(version): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let result = (|| {
        check_version(&shared, &version)?;
        let text = params
            .get("q")
            .ok_or_else(|| SfError::bad_request("MALFORMED_QUERY", "q is required"))?;
        let query = soql::parse(text)?;
        let mut org = lock(&shared.org);
        let mut rows: Vec<Map<String, Value>> = org
            .records_of(query.kind)
            .map(|r| (r, view::fields(&org, r)))
            .filter(|(_, fields)| query.matches(fields))
            .map(|(record, fields)| {
                let mut row = Map::new();
                row.insert("attributes".to_owned(), view::attributes(record, &version));
                for field in &query.fields {
                    row.insert(
                        (*field).to_owned(),
                        fields.get(*field).cloned().unwrap_or(Value::Null),
                    );
                }
                view::rest_datetimes(&mut row);
                row
            })
            .collect();
        query.order_rows(&mut rows);
        rows.truncate(query.limit.unwrap_or(usize::MAX));
        let rows: Vec<Value> = rows.into_iter().map(Value::Object).collect();
        let locator = (rows.len() > PAGE_SIZE).then(|| org.next_id(prefix::QUERY_LOCATOR));
        drop(org);
        if let Some(locator) = &locator {
            lock(&shared.cursors).insert(locator.clone(), rows.clone());
        }
        Ok(page(&version, locator.as_deref(), &rows, 0))
    })();
    respond(result)
}

pub async fn next_page(
    State(shared): State<Arc<Shared>>,
    Path((version, locator)): Path<(String, String)>,
) -> Response {
    let result = (|| {
        check_version(&shared, &version)?;
        let invalid = || SfError::bad_request("INVALID_QUERY_LOCATOR", "invalid query locator");
        let (cursor, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
        let offset: usize = offset.parse().map_err(|_| invalid())?;
        let cursors = lock(&shared.cursors);
        let rows = cursors.get(cursor).ok_or_else(invalid)?;
        if offset >= rows.len() {
            return Err(invalid());
        }
        Ok(page(&version, Some(cursor), rows, offset))
    })();
    respond(result)
}

fn page(
    version: &str,
    locator: Option<&str>,
    rows: &[Value],
    offset: usize,
) -> (Value, Vec<String>) {
    let end = (offset + PAGE_SIZE).min(rows.len());
    let records = &rows[offset..end];
    let mut body = json!({"totalSize": rows.len(), "done": end == rows.len(), "records": records});
    if let (Some(locator), false) = (locator, end == rows.len()) {
        body["nextRecordsUrl"] = json!(format!("/services/data/{version}/query/{locator}-{end}"));
    }
    let ids = records
        .iter()
        .filter_map(|r| {
            r.get("attributes")?
                .get("url")?
                .as_str()?
                .rsplit('/')
                .next()
                .map(str::to_owned)
        })
        .collect();
    (body, ids)
}

fn respond(result: Result<(Value, Vec<String>), SfError>) -> Response {
    match result {
        Ok((body, ids)) => touched(Json(body), ids),
        Err(error) => error.into_response(),
    }
}
