//! Queued jobs through the admin API: `POST /admin/reconcile` queues (or joins) a
//! reconciliation for the replica that runs the worker, `GET /admin/jobs/{id}` follows it, and
//! both say when no worker runs to take it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin::{Admin, unavailable};
use super::error::ApiError;
use super::query::{NoParams, Query, path_id};
use crate::store::now_millis;

/// Why no worker could ever run a queued reconciliation, when none could: on SQLite the
/// process that holds the file is the only one, and one started without either side's API
/// credentials runs no worker.
pub fn no_worker_for_jobs(state: &AppState) -> Option<String> {
    let sqlite = state.store().backend() == crate::store::Backend::Sqlite;
    if !sqlite {
        return None;
    }
    (!state.config().apis_configured()).then(|| {
        "no worker can run a reconciliation: this service was started without the API \
         credentials it needs (see `unconfigured` in /admin/status); set them and restart"
            .to_string()
    })
}

/// Said with a queued job when no worker runs now: on SQLite this process runs with its worker
/// off; on PostgreSQL no replica holds the worker lock. The job waits until one runs.
pub(crate) async fn worker_warning(state: &AppState) -> Option<String> {
    if state.store().backend() == crate::store::Backend::Sqlite {
        return (!state.config().worker.enabled).then(|| {
            "this service runs with `worker.enabled = false`: the job waits until the service \
             runs on this database with its worker"
                .to_string()
        });
    }
    match state.store().worker_leader().await {
        // The `reconcile` command holds the lock: it runs no queued job.
        Ok(Some(holder)) if holder.starts_with("reconcile command") => Some(format!(
            "the worker lock is held by the `campaign-sync reconcile` command ({holder}), which \
             runs no queued job: the job waits until it ends and a replica leads"
        )),
        Ok(Some(_)) => None,
        Ok(None) => Some(
            "no replica runs the worker right now (none holds the worker lock): the job waits \
             until one does; check that a replica runs with `worker.enabled` and the API \
             credentials"
                .to_string(),
        ),
        Err(error) => {
            tracing::warn!(%error, "could not tell whether a replica runs the worker");
            None
        }
    }
}

/// Queues a reconciliation of every enabled mapping for the replica that runs the worker and
/// answers at once with the job; `GET /admin/jobs/{id}` follows it. The queued repairs then go
/// through the worker like any signal.
pub async fn reconcile(
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<ReconcileQuery>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<Value>), ApiError> {
    if let Some(message) = no_worker_for_jobs(&state) {
        return Err(ApiError::Status {
            status: StatusCode::CONFLICT,
            message,
        });
    }
    let dry_run = query.dry_run.unwrap_or(false);
    let (id, joined) = state
        .store()
        .queue_reconcile(dry_run, None, now_millis())
        .await
        .map_err(unavailable)?;
    if joined {
        tracing::info!(
            job.id = id,
            "reconciliation asked for by an admin joins the one queued"
        );
    } else {
        tracing::info!(job.id = id, "reconciliation queued by an admin");
    }
    let href = format!("/admin/jobs/{id}");
    let mut body = json!({
        "id": id, "kind": "reconcile", "state": "queued", "href": href, "joined": joined,
    });
    if let Some(warning) = worker_warning(&state).await {
        tracing::warn!(job.id = id, %warning, "reconciliation queued with no worker running");
        body["warning"] = json!(warning);
    }
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, href)], Json(body)))
}

/// `?dryRun=true`: only list, per mapping, the changes a reconciliation would make. Any other
/// parameter is refused: a misspelt `dryrun=true` must not start a real reconciliation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileQuery {
    #[serde(rename = "dryRun")]
    dry_run: Option<bool>,
}

/// A queued job: its state, progress and result.
pub async fn job(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    Query(NoParams {}): Query<NoParams>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id, "job")?;
    let job = state
        .store()
        .job(id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("job {id}")))?;
    let queued = job.state == "queued";
    let mut body = json!(job);
    // The finished mappings' reports travel in the progress for a run that takes the job over;
    // the answer gives them once, in the result.
    if let Some(progress) = body["progress"].as_object_mut() {
        progress.remove("reports");
    }
    add_repairs(state.store(), &mut body["result"])
        .await
        .map_err(unavailable)?;
    if queued && let Some(warning) = worker_warning(&state).await {
        body["warning"] = json!(warning);
    }
    Ok(Json(body))
}

/// Adds to each report of a finished reconciliation how its queued repairs stand now:
/// `repairs: {"done", "waiting", "dead"}` (done: ended with a write or nothing left to write;
/// waiting: pending or retrying; dead: in the dead letters), read from the inbox each time.
pub(crate) async fn add_repairs(
    store: &crate::store::Store,
    result: &mut Value,
) -> Result<(), crate::store::StoreError> {
    if result["dry_run"].as_bool().unwrap_or(true) {
        return Ok(());
    }
    let Some(reports) = result["reports"].as_array_mut() else {
        return Ok(());
    };
    for report in reports {
        let queued = report["signals_queued"].as_u64().unwrap_or(0);
        let Some(run) = report["run"].as_i64().filter(|_| queued > 0) else {
            continue;
        };
        let prefix = format!("{}{run}:", crate::worker::REPAIR_PREFIX);
        let now = store.repair_states(&prefix).await?;
        report["repairs"] = json!({
            "done": queued.saturating_sub(now.waiting + now.dead),
            "waiting": now.waiting,
            "dead": now.dead,
        });
    }
    Ok(())
}
