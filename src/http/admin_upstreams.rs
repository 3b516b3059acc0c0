//! Lifting a side's pause before it would end: `POST /admin/upstreams/{system}/resume` and the
//! console's button share [`lift_pause`].

use axum::Json;
use axum::extract::{Path, State};

use super::AppState;
use super::admin::Admin;
use super::error::ApiError;
use super::query::{NoParams, Query};
use crate::store::{StoreError, now_millis};

/// `POST /admin/upstreams/{system}/resume`: lifts the side's pause (see [`lift_pause`]).
pub async fn resume(
    State(state): State<AppState>,
    _: Admin,
    Path(system): Path<String>,
    Query(NoParams {}): Query<NoParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let lifted = lift_pause(&state, &system).await?;
    Ok(Json(serde_json::json!({
        "system": system,
        "wasPaused": lifted.is_some(),
        "pausedUntil": lifted.as_ref().map(|p| p.until_ms),
        "reason": lifted.map(|p| p.reason),
    })))
}

/// Lifts `system`'s pause now, on every replica (the leader takes it on within its next share
/// of the daily counts, about 5 s), and makes the changes that waited for it due: for when the
/// cause is gone before the pause would end (the quota raised, the credentials fixed). A pause
/// met again afterwards holds as any other. Answers the pause lifted, if this replica held one
/// or the replica calling the side wrote down a credentials pause.
pub async fn lift_pause(
    state: &AppState,
    system: &str,
) -> Result<Option<crate::quota::Pause>, ApiError> {
    let quota = state.liveness().quota();
    let side = match system {
        "salesforce" => &quota.salesforce,
        "marketo" => &quota.marketo,
        other => {
            return Err(ApiError::NotFound(format!(
                "upstream {other:?} (salesforce or marketo)"
            )));
        }
    };
    let now = now_millis();
    // A spent budget of our own pauses the side again at its very next call: lifting the pause
    // would change nothing, and answering that it did would mislead.
    if let Some(budget) = side.budget().filter(|&budget| side.used(now) >= budget) {
        return Err(ApiError::Status {
            status: axum::http::StatusCode::CONFLICT,
            message: format!(
                "the {system} daily call budget of {budget} is still used up ({} calls counted \
                 today), so the next call would pause the side again until the budget's reset at \
                 {}: raise {system}.daily_call_budget (a restart takes it on) or wait for the reset",
                side.used(now),
                crate::sync::time::format_millis(side.next_reset(now))
            ),
        });
    }
    let endpoint = match system {
        "salesforce" => &state.config().salesforce.login_url,
        _ => &state.config().marketo.base_url,
    };
    // This replica's pause, else a credentials pause the replica calling the side met: the
    // lift reaches that one through the store all the same.
    let lifted = match side.paused(now) {
        Some(pause) => Some(pause),
        None => crate::upstream::shown(state.store(), side.system(), endpoint)
            .await
            .credentials_pause_at(now)
            .map(|p| crate::quota::Pause {
                system: side.system(),
                until_ms: p.until_ms,
                reason: p.reason.clone(),
            }),
    };
    let store_failed = |error: StoreError| {
        tracing::error!(%error, "lifting a pause: store failed");
        ApiError::Unavailable
    };
    state
        .store()
        .lift_pause(system, now)
        .await
        .map_err(store_failed)?;
    side.end_pause(now);
    // The changes that waited for the side are due now, as when a pause runs out.
    let due = state.store().catch_up(now).await.map_err(store_failed)?;
    tracing::info!(
        system,
        reason = lifted.as_ref().map(|p| p.reason.as_str()),
        due,
        "pause lifted by an admin; postponed changes are due"
    );
    Ok(lifted)
}
