//! The dead-letter list (newest first, or the oldest-first feed) and the replay of one dead
//! letter, behind the admin token.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin::{Admin, unavailable};
use super::error::ApiError;
use super::query::{Cursor, Limit, NoParams, Query, path_id};
use crate::store::{DeadPage, now_millis};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLettersQuery {
    before: Option<Cursor>,
    /// Oldest first after this id (the feed form the list had before it went newest first).
    after: Option<Cursor>,
    /// Text in the change or its reason, or a person's e-mail or ids (newest first only).
    q: Option<String>,
    #[serde(default)]
    limit: Limit,
}

/// Dead and rejected signals newest first, paged with `before` as `/admin/retrying` and
/// `/admin/outcomes` are; with `after`, oldest first.
pub async fn dead_letters(
    State(state): State<AppState>,
    _: Admin,
    Query(q): Query<DeadLettersQuery>,
) -> Result<Json<Value>, ApiError> {
    let page = match (q.before, q.after) {
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "after",
                "give before (newest first) or after (oldest first), not both",
            ));
        }
        (before, None) => DeadPage::Before(before.map_or(i64::MAX, |Cursor(id)| id)),
        (None, Some(Cursor(after))) => DeadPage::After(after),
    };
    let limit = q.limit.0;
    let items = match (q.q.as_deref().map(str::trim), page) {
        (Some(""), _) => {
            return Err(ApiError::field(
                "q",
                "empty: give the text to find, or leave q out",
            ));
        }
        (Some(_), DeadPage::After(_)) => {
            return Err(ApiError::field(
                "q",
                "q cannot be given with after (the feed, oldest first, is not searched): page \
                 newest first with before",
            ));
        }
        (Some(text), DeadPage::Before(before)) => state
            .store()
            .dead_letters_matching(text, before, limit, &state.mapping_scopes())
            .await
            .map_err(unavailable)?,
        (None, page) => state
            .store()
            .dead_letters(page, limit, &state.mapping_scopes())
            .await
            .map_err(unavailable)?,
    };
    let body = match page {
        // The feed's cursor, as `/v1/trigger-events` gives it: the last id, or `after` again.
        DeadPage::After(after) => {
            let next = items.last().map_or(after, |d| d.id);
            json!({ "items": items, "next_after": next })
        }
        DeadPage::Before(_) => {
            json!({ "items": items, "next_before": next_before(&items, limit, |d| d.id) })
        }
    };
    Ok(Json(body))
}

/// The cursor of a newest-first page: its last id when the page is full (there may be older
/// items), else none.
pub(super) fn next_before<T>(items: &[T], limit: u32, id: impl Fn(&T) -> i64) -> Option<i64> {
    (items.len() == limit as usize)
        .then(|| items.last().map(id))
        .flatten()
}

pub async fn replay(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    Query(NoParams {}): Query<NoParams>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id, "dead letter")?;
    if state
        .store()
        .replay(id, now_millis())
        .await
        .map_err(unavailable)?
    {
        tracing::info!(signal.id = id, "dead signal replayed");
        Ok(Json(json!({ "id": id, "replayed": true })))
    } else {
        // Listed beside the dead ones, a rejected signal is found but cannot be replayed: say so.
        match rejected_on_arrival(&state, id).await? {
            Some(why) => Err(ApiError::Status {
                status: axum::http::StatusCode::NOT_FOUND,
                message: format!(
                    "signal {id} was rejected on arrival ({why}): there is nothing to replay; the change needs sending again, or a reconciliation repairs it"
                ),
            }),
            None => Err(ApiError::NotFound(format!("dead signal {id}"))),
        }
    }
}

/// Why signal `id` was refused at the edge, when it was (a `rejected` signal, listed beside the
/// dead ones but never replayable).
pub async fn rejected_on_arrival(state: &AppState, id: i64) -> Result<Option<String>, ApiError> {
    let listed = state
        .store()
        .dead(id.saturating_sub(1), 1)
        .await
        .map_err(unavailable)?;
    Ok(listed
        .into_iter()
        .find(|signal| signal.id == id && signal.state == "rejected")
        .map(|signal| {
            signal
                .last_error
                .unwrap_or_else(|| "no reason recorded".to_string())
        }))
}
