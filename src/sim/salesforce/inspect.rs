//! The simulator's own window, outside Salesforce's API: `GET /__sim/requests` (the call log)
//! and `GET /__sim/state` (every record, the delete log, the outbound queue and the
//! acknowledged notifications a test may have delivered again).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use super::org::Org;
use super::schema::Kind;
use super::state::{CallRecord, Shared, lock};
use super::view;

pub async fn requests(State(shared): State<Arc<Shared>>) -> Json<Vec<CallRecord>> {
    Json(lock(&shared.log).clone())
}

pub async fn state(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let usage = shared.api_usage.used(shared.now());
    let mut body = snapshot(&lock(&shared.org));
    body["organizationId"] = json!(shared.config.organization_id);
    body["apiUsage"] = json!({"used": usage, "limit": shared.config.daily_api_limit});
    Json(body)
}

/// Records grouped by sObject type, each as a GET would show its fields.
pub fn snapshot(org: &Org) -> Value {
    let mut objects = Map::new();
    for kind in Kind::ALL {
        let rows: Vec<Value> = org
            .records_of(kind)
            .map(|r| Value::Object(view::fields(org, r)))
            .collect();
        objects.insert(kind.name().to_owned(), Value::Array(rows));
    }
    json!({
        "objects": objects,
        "deleted": org.deletions(),
        "outboundQueue": org.queue,
        "outboundAcknowledged": org.acknowledged,
    })
}
