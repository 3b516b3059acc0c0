//! What the simulator saw and holds, for tests and the sandbox: the call log
//! (`GET /__sim/requests`) and a snapshot of the instance (`GET /__sim/state`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::shared::{Shared, lock};
use super::webhooks::WebhookCall;
pub use crate::sim::calls::CallRecord;

impl CallRecord {
    pub fn webhook(call: &WebhookCall) -> CallRecord {
        CallRecord {
            kind: "webhook".to_string(),
            method: "POST".to_string(),
            path: call.url.clone(),
            status: call.status,
            body: Some(call.body.clone()),
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
    let custom = lock(&shared.custom_activities);
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
        "customActivityTypes": custom.types.iter().map(|t| t.view(true)).collect::<Vec<_>>(),
        "customActivities": custom.posted,
        "smartCampaigns": custom.campaigns,
        "campaignRequests": custom.requests,
    })
}
