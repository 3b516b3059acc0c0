//! The controls over HTTP (`/__sim/…`): change a member's status as a Marketo user would (firing
//! the webhooks), expire or revoke tokens, revoke or restore credentials, deliver queued
//! webhooks now, point the webhooks at a URL, and inject faults.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::TokenEncoding;
use super::control::{SimError, set_status_as_user};
use super::faults;
use super::shared::{Shared, lock};
use super::webhooks::{DOCUMENTED_TEMPLATE, WebhookCall, WebhookConfig};
use crate::sim::fault_rules::{self, bad_request};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserStatusChange {
    lead_id: i64,
    status: String,
}

/// `POST /__sim/programs/{id}/members/status` `{"leadId":…,"status":"…"}`, as a Marketo user.
/// A program id that is not a number or a body that is not that object gets 400 `{"error"}`.
pub async fn set_status(
    State(shared): State<Arc<Shared>>,
    Path(program_id): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(program_id) = program_id.parse::<i64>() else {
        return bad_request(&format!("program id {program_id:?} is not a number"));
    };
    let change: UserStatusChange = match serde_json::from_slice(&body) {
        Ok(change) => change,
        Err(error) => {
            return bad_request(&format!(
                "expected {{\"leadId\": <number>, \"status\": \"<status>\"}}: {error}"
            ));
        }
    };
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

/// `POST /__sim/credentials/revoke` `{"clientId": …}` or no body (every client): identity
/// refuses the credentials (401, as bad ones) and their tokens answer 601, until restored.
pub async fn revoke_credentials(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    credentials(&shared, &body, |clients| {
        lock(&shared.tokens).revoke_credentials(clients)
    })
}

/// `POST /__sim/credentials/restore`: identity issues tokens to these clients again.
pub async fn restore_credentials(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    credentials(&shared, &body, |clients| {
        lock(&shared.tokens).restore_credentials(clients)
    })
}

fn credentials(shared: &Shared, body: &Bytes, apply: impl FnOnce(&[String])) -> Response {
    crate::sim::credentials::control(
        body,
        shared.config.clients.iter().map(|c| c.client_id.as_str()),
        apply,
    )
}

pub async fn deliver(State(shared): State<Arc<Shared>>) -> Json<Vec<WebhookCall>> {
    Json(shared.deliver_pending().await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    url: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
}

/// `POST /__sim/webhook-target` `{"url": …, "headers": [[name, value], …]}`: from now on every
/// status change in any program calls this webhook with the documented template (JSON token
/// encoding) and these headers; it replaces the webhooks configured before.
pub async fn webhook_target(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let target: WebhookTarget = match serde_json::from_slice(&body) {
        Ok(target) => target,
        Err(error) => {
            return bad_request(&format!(
                "expected {{\"url\": …, \"headers\": [[name, value], …]}}: {error}"
            ));
        }
    };
    let url_ok = reqwest::Url::parse(&target.url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if !url_ok {
        return bad_request(&format!(
            "url {:?} is not an http(s) URL with a host",
            target.url
        ));
    }
    for (name, value) in &target.headers {
        let valid = axum::http::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && axum::http::HeaderValue::from_str(value).is_ok();
        if !valid {
            return bad_request(&format!("header {name:?} is not a valid HTTP header"));
        }
    }
    let config = WebhookConfig {
        program_id: None,
        url: target.url,
        template: DOCUMENTED_TEMPLATE.to_string(),
        headers: target.headers,
        token_encoding: TokenEncoding::Json,
    };
    lock(&shared.world).webhooks.configs = vec![config.clone()];
    Json(json!({ "webhook": config })).into_response()
}

/// `POST /__sim/faults`.
pub async fn add_fault(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request = match fault_rules::parse(&body) {
        Ok(request) => request,
        Err(reason) => return fault_rules::bad_request(&reason),
    };
    let now = Instant::now();
    let mut rules = lock(&shared.fault_rules);
    match rules.add(request, |code| faults::by_code(&shared.config, code), now) {
        Ok(()) => Json(json!({ "active": rules.describe(now) })).into_response(),
        Err(reason) => bad_request(&reason),
    }
}

/// `GET /__sim/faults`.
pub async fn list_faults(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    Json(json!({ "active": lock(&shared.fault_rules).describe(Instant::now()) }))
}

/// `DELETE /__sim/faults`.
pub async fn clear_faults(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    Json(json!({ "cleared": lock(&shared.fault_rules).clear(Instant::now()) }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmartCampaign {
    id: i64,
    name: String,
}

/// `POST /__sim/smart-campaigns` `{"id": 5001, "name": "…"}`: a smart campaign whose trigger is
/// "Campaign is Requested" (source Web Service API), which Request Campaign may then request,
/// as a Marketo user would build one; the same id again renames it. Answers every such
/// campaign by id.
pub async fn add_smart_campaign(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let campaign: SmartCampaign = match serde_json::from_slice(&body) {
        Ok(campaign) => campaign,
        Err(error) => {
            return bad_request(&format!(
                "expected {{\"id\": <positive number>, \"name\": \"<name>\"}}: {error}"
            ));
        }
    };
    if campaign.id <= 0 || campaign.name.trim().is_empty() {
        return bad_request("a smart campaign needs a positive id and a name");
    }
    let mut custom = lock(&shared.custom_activities);
    custom.campaigns.insert(campaign.id, campaign.name);
    Json(json!({ "smartCampaigns": custom.campaigns })).into_response()
}
