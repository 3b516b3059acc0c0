//! What the simulator saw and holds, for tests and the sandbox: the call log
//! (`GET /__sim/requests`) and a snapshot of the instance (`GET /__sim/state`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Value, json};

use super::shared::{Shared, lock};
use super::webhooks::WebhookCall;

/// One entry of the call log: an identity call, a REST call, or a webhook the simulator sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    pub seq: u64,
    pub at: String,
    /// `identity`, `rest` or `webhook`.
    pub kind: String,
    /// The client id behind the token (REST), the one asked for (identity); `None` when the
    /// token was not valid, and for webhooks.
    pub client: Option<String>,
    pub method: String,
    /// Path of the call, or URL of a webhook.
    pub path: String,
    /// HTTP status answered (or received, for a webhook); `None` when a webhook got no answer.
    pub status: Option<u16>,
    /// Marketo error code when `success` was false.
    pub code: Option<String>,
    /// Records in the reply's `result` (REST).
    pub records: usize,
    /// Transport error of a webhook call.
    pub error: Option<String>,
}

impl CallRecord {
    pub fn webhook(call: &WebhookCall) -> CallRecord {
        CallRecord {
            kind: "webhook".to_string(),
            method: "POST".to_string(),
            path: call.url.clone(),
            status: call.status,
            error: call.error.clone(),
            ..CallRecord::default()
        }
    }
}

pub async fn requests(State(shared): State<Arc<Shared>>) -> Json<Vec<CallRecord>> {
    Json(lock(&shared.log).clone())
}

pub async fn state(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(snapshot(&shared))
}

/// The whole instance as JSON.
pub fn snapshot(shared: &Shared) -> Value {
    let world = lock(&shared.world);
    let members: Vec<_> = world.members.values().collect();
    let leads: Vec<_> = world.leads.values().collect();
    let programs: Vec<_> = world.programs.values().collect();
    json!({
        "channels": world.channels,
        "programs": programs,
        "leads": leads,
        "members": members,
        "webhooks": world.webhooks.configs,
        "pendingWebhooks": world.webhooks.pending,
        "webhookCalls": *lock(&shared.webhook_calls),
        "tokensIssued": lock(&shared.tokens).count(),
        "callsToday": lock(&shared.limits).used_today(),
    })
}
