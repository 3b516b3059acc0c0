//! Admin JSON about people and failures: search, a person's timeline, outcomes filtered and
//! paged newest first, retrying signals, and replay of many dead letters at once.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin::Admin;
use super::error::ApiError;
use super::query::{Cursor, Limit, Millis, NoParams, Query, path_id};
use crate::kinds::OutcomeResult;
use crate::store::{FailingFilter, OutcomeFilter, StoreError, now_millis};

/// Most dead letters one bulk replay touches.
pub const MAX_REPLAY: u32 = 1000;

fn unavailable(error: StoreError) -> ApiError {
    tracing::error!(%error, "admin call failed on the store");
    ApiError::Unavailable
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    q: Option<String>,
}

pub async fn people(
    State(state): State<AppState>,
    _: Admin,
    Query(search): Query<Search>,
) -> Result<Json<Value>, ApiError> {
    let q = search.q.unwrap_or_default();
    if q.trim().is_empty() {
        return Err(ApiError::field(
            "q",
            "give an e-mail, a Marketo lead id, or a Salesforce Lead, Contact or CampaignMember id",
        ));
    }
    let items = state.store().search_people(&q).await.map_err(unavailable)?;
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    #[serde(default)]
    limit: Limit,
}

pub async fn timeline(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    Query(q): Query<TimelineQuery>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id, "person")?;
    let timeline = state
        .store()
        .timeline(id, q.limit.0)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("person {id}")))?;
    Ok(Json(json!(timeline)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OutcomeQuery {
    pub person: Option<String>,
    pub email: Option<String>,
    pub mapping: Option<String>,
    pub result: Option<String>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub before: Option<Cursor>,
    /// Oldest first after this id (the feed form kept from before the filters).
    pub after: Option<Cursor>,
    #[serde(default)]
    pub limit: Limit,
}

/// Outcomes newest first with filters, paged with `before`; with `after`, oldest first.
pub async fn outcomes(
    State(state): State<AppState>,
    _: Admin,
    Query(q): Query<OutcomeQuery>,
) -> Result<Json<Value>, ApiError> {
    if let Some(text) = &q.result
        && OutcomeResult::parse(text).is_none()
    {
        return Err(ApiError::field(
            "result",
            format!("{text:?} is not one of applied, skipped, diverged, dead"),
        ));
    }
    if let Some(person) = q.person.as_deref().filter(|p| p.parse::<u64>().is_err()) {
        return Err(ApiError::field(
            "person",
            format!("{person:?} is not a person's id (a whole number, as /admin/people gives it)"),
        ));
    }
    if q.email.as_deref().is_some_and(|e| e.trim().is_empty()) {
        return Err(ApiError::field(
            "email",
            "empty: give an address, or leave email out",
        ));
    }
    if let Some(name) = &q.mapping {
        known_mapping(&state, name).await?;
    }
    let limit = q.limit.0;
    // The feed form (`after`) takes `result` alone; a filter beside it would be dropped.
    let beside_after = [
        ("person", q.person.is_some()),
        ("email", q.email.is_some()),
        ("mapping", q.mapping.is_some()),
        ("since", q.since.is_some()),
        ("until", q.until.is_some()),
        ("before", q.before.is_some()),
    ];
    if q.after.is_some()
        && let Some((name, _)) = beside_after.iter().find(|(_, given)| *given)
    {
        return Err(ApiError::field(
            name,
            format!(
                "{name} cannot be given with after (the feed, oldest first, filters by result \
                 only): leave out after, and page newest first with before"
            ),
        ));
    }
    if let Some(Cursor(after)) = q.after {
        let result = q.result.as_deref().and_then(OutcomeResult::parse);
        let items = state
            .store()
            .outcomes(result, after, limit)
            .await
            .map_err(unavailable)?;
        // The feed's cursor, as `/v1/trigger-events` gives it: the last id, or `after` again.
        let next = items.last().map_or(after, |o| o.id);
        return Ok(Json(json!({ "items": items, "next_after": next })));
    }
    let items = state
        .store()
        .outcomes_named(&OutcomeFilter {
            person: q.person,
            email: q.email,
            mapping: q.mapping,
            result: q.result,
            since: q.since.map(|t| t.0),
            until: q.until.map(|t| t.0),
            before: q.before.map(|c| c.0),
            limit,
            ..OutcomeFilter::default()
        })
        .await
        .map_err(unavailable)?;
    let next = super::admin_dead_letters::next_before(&items, limit, |o| o.id);
    Ok(Json(json!({ "items": items, "next_before": next })))
}

/// A mapping name asked about: configured, or one since removed whose outcomes remain; else
/// 404 naming it, as `/admin/mappings/{name}/...` answers.
pub async fn known_mapping(state: &AppState, name: &str) -> Result<(), ApiError> {
    if state.mappings().by_name(name).is_some()
        || state
            .store()
            .has_outcomes(name)
            .await
            .map_err(unavailable)?
    {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("mapping {name:?}")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailingQuery {
    q: Option<String>,
    before: Option<Cursor>,
    #[serde(default)]
    limit: Limit,
}

/// Signals waiting to be tried again, with their last error, newest first (paged with `before`,
/// as the dead letters are): retrying ones and those postponed while a side is paused or their
/// mapping is held or off.
pub async fn retrying(
    State(state): State<AppState>,
    _: Admin,
    Query(q): Query<FailingQuery>,
) -> Result<Json<Value>, ApiError> {
    let items = state
        .store()
        .failing(&FailingFilter {
            state: Some("waiting".into()),
            text: q.q.filter(|t| !t.trim().is_empty()),
            before: q.before.map(|c| c.0),
            limit: q.limit.0,
            scopes: state.mapping_scopes(),
        })
        .await
        .map_err(unavailable)?;
    let next = super::admin_dead_letters::next_before(&items, q.limit.0, |s| s.id);
    Ok(Json(json!({ "items": items, "next_before": next })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkReplay {
    /// These dead letters.
    ids: Option<Vec<i64>>,
    /// Or every dead letter whose payload or error contains this text, or whose person's e-mail
    /// or ids do (`""`: all).
    filter: Option<String>,
}

pub async fn replay_many(
    State(state): State<AppState>,
    _: Admin,
    Query(NoParams {}): Query<NoParams>,
    Json(body): Json<BulkReplay>,
) -> Result<Json<Value>, ApiError> {
    let ids = match (body.ids, body.filter) {
        (Some(mut ids), None) => {
            if let Some(bad) = ids.iter().find(|&&id| id < 1) {
                return Err(ApiError::field(
                    "ids",
                    format!("ids: {bad} is not a dead letter's id (a positive whole number)"),
                ));
            }
            // An id listed twice is one dead letter, replayed or skipped once.
            let mut seen = std::collections::HashSet::new();
            ids.retain(|id| seen.insert(*id));
            ids
        }
        (None, Some(text)) => matching_dead(&state, &text).await?,
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "filter",
                "give either ids or filter, not both",
            ));
        }
        (None, None) => return Err(ApiError::field("ids", "give either ids or filter")),
    };
    let replayed = state
        .store()
        .replay_many(&ids, now_millis())
        .await
        .map_err(unavailable)?;
    tracing::info!(count = replayed.len(), "dead signals replayed in bulk");
    let skipped = skipped(&state, &ids, &replayed).await?;
    Ok(Json(
        json!({ "replayed": replayed, "count": replayed.len(), "skipped": skipped }),
    ))
}

/// Each id asked for and not replayed, with why: rejected on arrival (nothing to replay), or
/// not a dead letter (unknown, or not dead: waiting, done, or replayed already).
async fn skipped(state: &AppState, ids: &[i64], replayed: &[i64]) -> Result<Vec<Value>, ApiError> {
    let mut skipped = Vec::new();
    for &id in ids.iter().filter(|id| !replayed.contains(id)) {
        let reason = match super::admin_dead_letters::rejected_on_arrival(state, id).await? {
            Some(why) => format!("rejected on arrival ({why}): there is nothing to replay"),
            None => "not a dead letter: no such signal, or it is not dead (waiting, done, or \
                     replayed already)"
                .to_string(),
        };
        skipped.push(json!({ "id": id, "reason": reason }));
    }
    Ok(skipped)
}

/// Ids of the dead letters whose payload, error or person's e-mail and ids contain `text` (at
/// most [`MAX_REPLAY`]).
pub async fn matching_dead(state: &AppState, text: &str) -> Result<Vec<i64>, ApiError> {
    let dead = state
        .store()
        .failing(&FailingFilter {
            state: Some("dead".into()),
            text: Some(text.to_string()).filter(|t| !t.trim().is_empty()),
            before: None,
            limit: MAX_REPLAY,
            scopes: Vec::new(),
        })
        .await
        .map_err(unavailable)?;
    Ok(dead.into_iter().map(|d| d.id).collect())
}
