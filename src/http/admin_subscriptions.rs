//! Subscriptions of other systems to events, behind the admin token: create (the signing
//! secret is returned once), list, pause and resume, delete, and each one's deliveries with
//! replay of the dead ones; the same for Marketo's queues (custom activities, Request
//! Campaign).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin::Admin;
use super::error::ApiError;
use super::query::{Cursor, Limit, NoParams, Query, path_id};
use crate::kinds::{OperationalEvent, TriggerKind, is_event_type};
use crate::outbox::sign;
use crate::store::{Queue, TO_MARKETO_ACTIVITY, TO_MARKETO_REQUEST, now_millis};

const STATES: [&str; 4] = ["pending", "delivered", "dead", "skipped"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSubscription {
    url: String,
    event_types: Vec<String>,
    secret: Option<String>,
}

fn unavailable(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%error, "subscription call failed on the store");
    ApiError::Unavailable
}

pub(super) fn every_event_type() -> Vec<&'static str> {
    let triggers = TriggerKind::ALL.iter().map(|k| k.as_str());
    triggers
        .chain(OperationalEvent::ALL.iter().map(|k| k.as_str()))
        .collect()
}

/// Longest subscriber URL accepted (browsers and proxies balk well before 8 KiB).
const MAX_URL_LEN: usize = 2048;

/// A body must say it is JSON, as every other JSON endpoint asks (axum's `Json`): 415 otherwise.
pub(super) fn json_content(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    match super::shape::media_type(headers).as_deref() {
        Some("application/json") => Ok(()),
        Some(t) if t.starts_with("application/") && t.ends_with("+json") => Ok(()),
        _ => Err(ApiError::Status {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: "Expected request with `Content-Type: application/json`".into(),
        }),
    }
}

/// Checks a request body into (url, event types, secret, whether the secret was generated).
fn validate(body: &[u8]) -> Result<(String, Vec<String>, String, bool), ApiError> {
    // The path of a value of the wrong type (`url` a number) names the field too.
    let read = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(body));
    let new: NewSubscription = read.map_err(|e| {
        let path = e.path().to_string();
        let e = e.into_inner();
        let at = path.split(['.', '[']).next().unwrap_or_default();
        // A body that is not JSON at all names no field.
        let field = if e.is_syntax() || e.is_eof() {
            None
        } else {
            super::shape::quoted_field(&e.to_string())
                .or_else(|| (!at.is_empty() && at != "?").then(|| at.to_string()))
        };
        ApiError::BadRequest {
            field,
            message: format!("body is not a subscription: {e}"),
        }
    })?;
    let (url, types) = checked(&new.url, new.event_types)?;
    match new.secret {
        Some(secret) => {
            sign::secret_key(&secret).map_err(|e| ApiError::field("secret", e.to_string()))?;
            Ok((url, types, secret, false))
        }
        None => Ok((url, types, sign::generate_secret(), true)),
    }
}

/// Checks a subscriber URL and its event types (sorted, without repeats); the console's form
/// goes through the same checks as the API.
pub(super) fn checked(
    url: &str,
    event_types: Vec<String>,
) -> Result<(String, Vec<String>), ApiError> {
    // URL parsing drops tabs and line breaks silently; a URL holding one is a mistake (or an
    // attempt at a header), so it is refused rather than stored as given.
    if url.chars().any(char::is_control) || url.len() > MAX_URL_LEN {
        return Err(ApiError::field(
            "url",
            format!("must be at most {MAX_URL_LEN} characters, without control characters"),
        ));
    }
    // Spaces around it are a paste's; kept, they would be listed as typed.
    let url = url.trim();
    let parsed =
        reqwest::Url::parse(url).map_err(|e| ApiError::field("url", format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ApiError::field("url", "must be an http or https URL"));
    }
    // `http:///host` and `http:/host` parse with `host` as the host; as typed they name none
    // after `//`, a typo.
    if url
        .split_once("://")
        .is_none_or(|(_, rest)| rest.starts_with('/'))
    {
        return Err(ApiError::field(
            "url",
            "must be written scheme://host/… (a host right after the two slashes)",
        ));
    }
    if event_types.is_empty() {
        return Err(ApiError::field(
            "event_types",
            "name at least one event type",
        ));
    }
    if let Some(unknown) = event_types.iter().find(|t| !is_event_type(t)) {
        return Err(ApiError::field(
            "event_types",
            format!(
                "{unknown:?} is not one of {}",
                every_event_type().join(", ")
            ),
        ));
    }
    let mut types = event_types;
    types.sort();
    types.dedup();
    Ok((url.to_string(), types))
}

pub async fn create(
    State(state): State<AppState>,
    _: Admin,
    Query(NoParams {}): Query<NoParams>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    json_content(&headers)?;
    let (url, types, secret, generated) = validate(&body)?;
    let created = state
        .store()
        .create_subscription(&url, &types, &secret, now_millis())
        .await
        .map_err(unavailable)?;
    let shown = crate::outbox::shown_url(&url);
    tracing::info!(subscription.id = created.id, url = %shown, "subscription created");
    let mut answer = serde_json::to_value(&created).map_err(unavailable)?;
    // The secret is shown once, and only when we made it up.
    if generated {
        answer["secret"] = Value::String(secret);
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

pub async fn list(
    State(state): State<AppState>,
    _: Admin,
    Query(NoParams {}): Query<NoParams>,
) -> Result<Json<Value>, ApiError> {
    let items = state.store().subscriptions().await.map_err(unavailable)?;
    Ok(Json(json!({ "items": items })))
}

/// `POST /admin/subscriptions/{id}/{action}`: `pause`, `resume` or `replay` (every dead
/// delivery, or one with `?delivery=`).
pub async fn act(
    State(state): State<AppState>,
    _: Admin,
    Path((id, action)): Path<(String, String)>,
    Query(query): Query<ReplayQuery>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id, "subscription")?;
    let store = state.store();
    let now = now_millis();
    match action.as_str() {
        "pause" | "resume" if query.delivery.is_some() => Err(ApiError::field(
            "delivery",
            format!("`delivery` names a dead delivery to replay; {action} takes no parameter"),
        )),
        "pause" | "resume" => {
            let paused = action == "pause";
            if !store
                .set_subscription_paused(id, paused.then_some("paused through the admin API"), now)
                .await
                .map_err(unavailable)?
            {
                return Err(ApiError::NotFound(format!("subscription {id}")));
            }
            tracing::info!(subscription.id = id, paused, "subscription switched");
            Ok(Json(json!({ "id": id, "paused": paused })))
        }
        "replay" => {
            found(&state, id).await?;
            let replayed = store
                .replay_deliveries(Queue::subscription(id), query.delivery, now)
                .await
                .map_err(unavailable)?;
            if query.delivery.is_some() && replayed == 0 {
                return Err(ApiError::NotFound(format!(
                    "dead delivery {} of subscription {id}",
                    query.delivery.unwrap_or_default()
                )));
            }
            tracing::info!(subscription.id = id, replayed, "dead deliveries replayed");
            Ok(Json(json!({ "id": id, "replayed": replayed })))
        }
        other => Err(ApiError::NotFound(format!(
            "action {other:?} (pause, resume, replay or rotate-secret)"
        ))),
    }
}

/// `?delivery=ID`: replay that dead delivery only. Any other parameter is refused: a misspelt
/// `deliveryId=5` must not replay every dead delivery.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayQuery {
    delivery: Option<i64>,
}

pub async fn delete(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    Query(NoParams {}): Query<NoParams>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(&id, "subscription")?;
    if state
        .store()
        .delete_subscription(id)
        .await
        .map_err(unavailable)?
    {
        tracing::info!(subscription.id = id, "subscription deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("subscription {id}")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryPage {
    state: Option<String>,
    after: Option<Cursor>,
    #[serde(default)]
    limit: Limit,
}

impl DeliveryPage {
    fn after(&self) -> i64 {
        self.after.map_or(0, |Cursor(after)| after)
    }
}

pub async fn deliveries(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    Query(page): Query<DeliveryPage>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id, "subscription")?;
    check_state(page.state.as_deref())?;
    found(&state, id).await?;
    let limit = page.limit.0;
    let items = state
        .store()
        .deliveries(
            Queue::subscription(id),
            page.state.as_deref(),
            page.after(),
            limit,
        )
        .await
        .map_err(unavailable)?;
    let next = items.last().map_or(page.after(), |d| d.id);
    Ok(Json(json!({ "items": items, "next_after": next })))
}

fn check_state(wanted: Option<&str>) -> Result<(), ApiError> {
    match wanted {
        Some(wanted) if !STATES.contains(&wanted) => Err(ApiError::field(
            "state",
            format!("{wanted:?} is not one of {}", STATES.join(", ")),
        )),
        _ => Ok(()),
    }
}

async fn found(state: &AppState, id: i64) -> Result<(), ApiError> {
    match state.store().subscription(id).await.map_err(unavailable)? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound(format!("subscription {id}"))),
    }
}

/// The Marketo queue a path names.
fn marketo_queue(destination: &str) -> Result<Queue<'static>, ApiError> {
    let destination = [TO_MARKETO_ACTIVITY, TO_MARKETO_REQUEST]
        .into_iter()
        .find(|d| *d == destination)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "outbox {destination:?} ({TO_MARKETO_ACTIVITY} or {TO_MARKETO_REQUEST})"
            ))
        })?;
    Ok(Queue {
        destination,
        subscription_id: None,
    })
}

/// `GET /admin/outbox/{destination}`: Marketo deliveries, e.g. `?state=dead`.
pub async fn outbox(
    State(state): State<AppState>,
    _: Admin,
    Path(destination): Path<String>,
    Query(page): Query<DeliveryPage>,
) -> Result<Json<Value>, ApiError> {
    let queue = marketo_queue(&destination)?;
    check_state(page.state.as_deref())?;
    let limit = page.limit.0;
    let after = page.after();
    let items = state
        .store()
        .deliveries(queue, page.state.as_deref(), after, limit)
        .await
        .map_err(unavailable)?;
    let next = items.last().map_or(after, |d| d.id);
    Ok(Json(json!({ "items": items, "next_after": next })))
}

/// `POST /admin/outbox/{destination}/replay`: every dead delivery, or `?delivery=`.
pub async fn replay_outbox(
    State(state): State<AppState>,
    _: Admin,
    Path(destination): Path<String>,
    Query(query): Query<ReplayQuery>,
) -> Result<Json<Value>, ApiError> {
    let queue = marketo_queue(&destination)?;
    let replayed = state
        .store()
        .replay_deliveries(queue, query.delivery, now_millis())
        .await
        .map_err(unavailable)?;
    // As for a subscription's: a named delivery that is not dead here is not found.
    if let Some(delivery) = query.delivery
        && replayed == 0
    {
        return Err(ApiError::NotFound(format!(
            "dead delivery {delivery} of outbox {destination:?}"
        )));
    }
    tracing::info!(destination, replayed, "dead Marketo deliveries replayed");
    Ok(Json(
        json!({ "destination": destination, "replayed": replayed }),
    ))
}
