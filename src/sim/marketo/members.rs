//! `GET /rest/v1/programs/{programId}/members.json`: program members filtered by `leadId`,
//! `statusName`, `reachedSuccess` or `updatedAt` (with `startAt`/`endAt`, at most 7 days), with
//! `fields`, `batchSize` and `nextPageToken` paging. Filters other than `leadId` stop at 100,000
//! members. `POST …?_method=GET` is the same query, its parameters in a form body.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::clock;
use super::envelope::{self, MktoError, Page};
use super::input::{self, Params};
use super::shared::{Shared, lock};
use super::world::{Member, World};

/// Fields every record carries, besides `seq`.
const DEFAULT_FIELDS: [&str; 5] = [
    "leadId",
    "reachedSuccess",
    "programId",
    "acquiredBy",
    "membershipDate",
];
const MAX_RANGE_MS: i64 = 7 * 24 * 3600 * 1000;

pub async fn query(
    State(shared): State<Arc<Shared>>,
    Path(program_id): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    input::params(query)
        .and_then(|params| find(&shared, &program_id, &params))
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST …/members.json?_method=GET`: the query, its parameters in a form-encoded body
/// (Marketo's way around the 8 KB URI limit). A plain POST (Sync Program Member Data) is not
/// simulated: 605.
pub async fn query_as_post(
    State(shared): State<Arc<Shared>>,
    Path(program_id): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
    request: Request,
) -> Response {
    if !input::read_as_post(&query) {
        return MktoError::MethodNotSupported.into_response();
    }
    input::form_params(request)
        .await
        .and_then(|params| find(&shared, &program_id, &params))
        .unwrap_or_else(IntoResponse::into_response)
}

/// The program id in a path, known to the simulator.
pub fn program_id(world: &World, raw: &str) -> Result<i64, MktoError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| world.programs.contains_key(id))
        .ok_or_else(|| MktoError::ObjectNotFound(format!("Program '{raw}' not found")))
}

fn find(shared: &Shared, raw_id: &str, params: &Params) -> Result<Response, MktoError> {
    let world = lock(&shared.world);
    let program_id = program_id(&world, raw_id)?;
    let filter = input::required(params, "filterType")?;
    let matches: Box<dyn Fn(&Member) -> bool> = match filter {
        "updatedAt" => {
            let (start, end) = range(params)?;
            Box::new(move |m| m.updated_at >= start && m.updated_at <= end)
        }
        "leadId" | "statusName" => {
            let values = input::csv(input::required(params, "filterValues")?);
            input::within_batch(values.len(), "filterValues")?;
            if filter == "leadId" {
                let ids: Vec<i64> = values.iter().filter_map(|v| v.parse().ok()).collect();
                Box::new(move |m| ids.contains(&m.lead_id))
            } else {
                Box::new(move |m| values.iter().any(|v| v == &m.status_name))
            }
        }
        // Searchable in the member describe, as `leadId` and `statusName` are.
        "reachedSuccess" => {
            let values = input::csv(input::required(params, "filterValues")?);
            let wanted = values
                .iter()
                .map(|v| match v.to_ascii_lowercase().as_str() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    _ => Err(MktoError::InvalidData(format!(
                        "Invalid value '{v}' for filter type 'reachedSuccess'"
                    ))),
                })
                .collect::<Result<Vec<bool>, MktoError>>()?;
            Box::new(move |m| wanted.contains(&m.reached_success))
        }
        other => {
            return Err(MktoError::InvalidData(format!(
                "Unsupported filter type '{other}'"
            )));
        }
    };
    let all = || {
        world
            .members
            .range((program_id, i64::MIN)..=(program_id, i64::MAX))
            .map(|(_, member)| member)
    };
    if filter != "leadId" {
        let cap = shared.member_filter_cap.load(Ordering::Relaxed);
        within_filter_cap(all().count(), cap)?;
    }
    let found: Vec<&Member> = all().filter(|m| matches(m)).collect();
    let fields = match params.get("fields") {
        Some(fields) => input::csv(fields),
        None => DEFAULT_FIELDS.iter().map(|f| (*f).to_string()).collect(),
    };
    let window = input::window(params, found.len())?;
    let program_name = world.programs.get(&program_id).map(|p| p.name.clone());
    let result = found[window.start..window.end]
        .iter()
        .enumerate()
        .map(|(i, member)| {
            let mut record = Map::new();
            record.insert("seq".to_string(), json!(window.start + i));
            record.insert("leadId".to_string(), json!(member.lead_id));
            for field in &fields {
                record.insert(
                    field.clone(),
                    field_value(member, field, program_name.as_deref()),
                );
            }
            Value::Object(record)
        })
        .collect();
    let page = Page {
        next_token: window.next_token,
        report_more: true,
    };
    Ok(envelope::lead_db(result, Some(page)))
}

/// Filters other than `leadId` look at the whole membership, which Marketo refuses past
/// 100,000 members (the caller is sent to the bulk extract instead).
fn within_filter_cap(total: usize, cap: usize) -> Result<(), MktoError> {
    if total > cap {
        return Err(MktoError::InvalidData(format!(
            "Total membership size: {} exceeds the limit allowed {} for the filter",
            grouped(total),
            grouped(cap)
        )));
    }
    Ok(())
}

/// `100001` as Marketo writes it in messages: `100,001`.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn range(params: &Params) -> Result<(i64, i64), MktoError> {
    let parse = |name: &'static str| {
        let text = input::required(params, name)?;
        clock::parse(text).ok_or_else(|| MktoError::InvalidData(format!("Invalid {name} '{text}'")))
    };
    let (start, end) = (parse("startAt")?, parse("endAt")?);
    if end < start || end - start > MAX_RANGE_MS {
        return Err(MktoError::InvalidData(
            "The date range must not be negative or exceed 7 days".to_string(),
        ));
    }
    Ok((start, end))
}

pub(super) fn field_value(member: &Member, field: &str, program_name: Option<&str>) -> Value {
    let date = |ms: i64| json!(clock::lead_db(ms));
    match field {
        "leadId" => json!(member.lead_id),
        "programId" => json!(member.program_id),
        "program" => json!(program_name),
        "statusName" => json!(member.status_name),
        "reachedSuccess" => json!(member.reached_success),
        "reachedSuccessDate" => member.reached_success_date.map_or(Value::Null, date),
        "acquiredBy" => json!(member.acquired_by),
        "membershipDate" => date(member.membership_date),
        "createdAt" => date(member.created_at),
        "updatedAt" => date(member.updated_at),
        "isExhausted" => json!(false),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_grouped_by_thousands() {
        let cases = [
            (3, "3"),
            (999, "999"),
            (1000, "1,000"),
            (100_001, "100,001"),
        ];
        for (n, text) in cases {
            assert_eq!(super::grouped(n), text);
        }
        let refused = super::within_filter_cap(100_001, 100_000).expect_err("over the cap");
        assert!(format!("{refused:?}").contains("100,001 exceeds the limit allowed 100,000"));
    }
}
