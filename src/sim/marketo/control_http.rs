//! The sandbox user's controls over HTTP (`/__sim/…`): change a member's status as a Marketo
//! user would (firing the webhooks), expire or revoke tokens, deliver queued webhooks now.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::control::{SimError, set_status_as_user};
use super::shared::{Shared, lock};
use super::webhooks::WebhookCall;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserStatusChange {
    lead_id: i64,
    status: String,
}

/// `POST /__sim/programs/{id}/members/status` `{"leadId":…,"status":"…"}`, as a Marketo user.
pub async fn set_status(
    State(shared): State<Arc<Shared>>,
    Path(program_id): Path<i64>,
    Json(change): Json<UserStatusChange>,
) -> Response {
    match set_status_as_user(&shared, program_id, change.lead_id, &change.status) {
        Ok(done) => Json(json!({ "result": format!("{done:?}").to_lowercase() })).into_response(),
        Err(SimError::UnknownProgram(id)) => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no program {id}") })),
        )
            .into_response(),
        Err(error) => (
            StatusCode::CONFLICT,
            Json(json!({ "error": error.to_string() })),
        )
            .into_response(),
    }
}

pub async fn expire_tokens(State(shared): State<Arc<Shared>>) -> StatusCode {
    lock(&shared.tokens).expire_all(Instant::now());
    StatusCode::NO_CONTENT
}

pub async fn revoke_tokens(State(shared): State<Arc<Shared>>) -> StatusCode {
    lock(&shared.tokens).revoke_all();
    StatusCode::NO_CONTENT
}

pub async fn deliver(State(shared): State<Arc<Shared>>) -> Json<Vec<WebhookCall>> {
    Json(shared.deliver_pending().await)
}
