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
    /// A webhook call: its URL's path and query, like the calls the simulator answers.
    pub fn webhook(call: &WebhookCall) -> CallRecord {
        let url = reqwest::Url::parse(&call.url).ok();
        CallRecord {
            kind: "webhook".to_string(),
            method: "POST".to_string(),
            path: url
                .as_ref()
                .map_or_else(|| call.url.clone(), |u| u.path().to_string()),
            query: crate::sim::calls::redacted_query(url.as_ref().and_then(|u| u.query())),
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
