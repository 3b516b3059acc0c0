//! Liveness and readiness for the load balancer.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;

/// How long readiness waits for the store before calling it unreachable.
const STORE_PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The process answers and its worker is not crash-looping; nothing else is checked, so a slow
/// database never restarts the pod.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let liveness = state.liveness();
    if liveness.is_healthy() {
        return (StatusCode::OK, Json(json!({ "status": "ok" })));
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "status": "failing",
            "reason": "the worker crashed repeatedly",
            "last_error": liveness.last_error(),
        })),
    )
}

/// Ready when the store answers and the service is not draining.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if state.readiness().is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "draining", "reason": "shutting down" })),
        );
    }
    match tokio::time::timeout(STORE_PING_TIMEOUT, state.store().ping()).await {
        Ok(Ok(())) => {
            // Held mappings are reported but do not fail readiness: the others keep syncing.
            let held: Vec<Value> = state
                .shared_mappings()
                .await
                .all()
                .iter()
                .filter(|m| m.is_held())
                .map(|m| json!({ "name": m.name(), "problems": m.problems() }))
                .collect();
            let mut body = json!({ "status": "ready" });
            // Keys `serve` started without: it answers, but syncs or receives less.
            let unset = &state.config().unset;
            if !unset.is_empty() {
                body["unconfigured"] = json!(unset);
            }
            if !held.is_empty() {
                body["held_mappings"] = json!(held);
            }
            // A quota pause is reported too; the service still receives, so it stays ready.
            let paused = state.liveness().quota().pauses(crate::store::now_millis());
            if !paused.is_empty() {
                body["paused"] = json!(paused);
            }
            (StatusCode::OK, Json(body))
        }
        Ok(Err(error)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": format!("store: {error}") })),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": "store: no answer within 2 s" })),
        ),
    }
}
