//! Jobs an admin queued through any replica, run by the leader: today, reconciliations. The
//! job row carries progress and the result, so every replica can report on it.

use serde_json::{Value, json};

use crate::store::{Job, StoreError, now_millis};

use super::context::Context;
use super::reconcile;

/// The kind of job `POST /admin/reconcile` queues.
pub const RECONCILE: &str = "reconcile";

pub async fn run_queued(ctx: &Context) -> Result<usize, StoreError> {
    let mut ran = 0;
    while let Some(job) = ctx.store.start_next_job(&ctx.owner, now_millis()).await? {
        tracing::info!(job.id = job.id, kind = %job.kind, "running a queued job");
        let result = run_one(ctx, &job).await?;
        let recorded = ctx
            .store
            .finish_job(
                job.id,
                &ctx.owner,
                result.as_ref().map_err(String::as_str),
                now_millis(),
            )
            .await?;
        if !recorded {
            tracing::warn!(
                job.id = job.id,
                "the job was handed to another leader while it ran; its result is left to that run"
            );
        }
        ran += 1;
    }
    Ok(ran)
}

async fn run_one(ctx: &Context, job: &Job) -> Result<Result<Value, String>, StoreError> {
    if job.kind != RECONCILE {
        return Ok(Err(format!("unknown job kind {:?}", job.kind)));
    }
    let dry_run = job.params["dry_run"].as_bool().unwrap_or(false);
    if let Some(why) = ctx.mappings.off_in_config(None).filter(|_| !dry_run) {
        return Ok(Err(format!("nothing would be repaired: {why}")));
    }
    if let Some(why) = ctx.mappings.switched_off().filter(|_| !dry_run) {
        return Ok(Err(format!(
            "nothing would be repaired: {why}; a preview (dryRun=true) lists the differences"
        )));
    }
    let mappings = if dry_run {
        // A preview lists what any enabled mapping would change, even with sync switched off.
        ctx.mappings
            .all()
            .iter()
            .filter(|m| m.is_enabled())
            .collect()
    } else {
        reconcile::to_reconcile(ctx)
    };
    // A run its replica stopped (a new leader requeued it) left the reports of the mappings it
    // finished: those are kept, not reconciled a second time, and the job says it restarted.
    let restarts = job
        .progress
        .as_ref()
        .map_or(0, |p| p["restarts"].as_u64().unwrap_or(0) + 1);
    let mut reports: Vec<Value> = job
        .progress
        .as_ref()
        .and_then(|p| p["reports"].as_array().cloned())
        .unwrap_or_default();
    let finished = |reports: &[Value], name: &str| reports.iter().any(|r| r["mapping"] == name);
    for (done, mapping) in mappings.iter().enumerate() {
        if finished(&reports, mapping.name()) {
            continue;
        }
        // Switched off since the job started (a long job: bulk extracts can take hours).
        let writes = ctx.mappings.sync_enabled() && mapping.is_enabled();
        if !writes && !dry_run {
            continue;
        }
        let now = Progress {
            done,
            total: mappings.len(),
            current: Some(mapping.name()),
            reports: &reports,
            restarts,
        };
        if !progress(ctx, job, now).await {
            // Requeued for another leader (this replica lost the lead): that run does the rest.
            return Ok(Err("handed to another leader before it ended".to_string()));
        }
        let result = if dry_run {
            // A preview: every change the run would make; nothing written or queued.
            reconcile::reconcile_one(ctx, mapping, true)
                .await
                .map_err(|e| (mapping.name().to_string(), e))
        } else {
            reconcile::reconcile_recorded(ctx, mapping).await
        };
        reports.push(match result {
            Ok(report) => json!(report),
            Err((mapping, error)) => json!({ "mapping": mapping, "error": error.to_string() }),
        });
    }
    let ended = Progress {
        done: mappings.len(),
        total: mappings.len(),
        current: None,
        reports: &reports,
        restarts,
    };
    progress(ctx, job, ended).await;
    // Nothing reconciled at all is a failed job, so one polling `state` does not read success.
    let failures: Vec<String> = reports
        .iter()
        .filter_map(|r| {
            Some(format!(
                "{}: {}",
                r["mapping"].as_str()?,
                r["error"].as_str()?
            ))
        })
        .collect();
    if !reports.is_empty() && failures.len() == reports.len() {
        return Ok(Err(format!(
            "every mapping failed: {}",
            failures.join("; ")
        )));
    }
    let mut result = json!({ "dry_run": dry_run, "reports": reports });
    if restarts > 0 {
        result["restarts"] = json!(restarts);
    }
    Ok(Ok(result))
}

/// How far a run has got: mappings done of the total, the one being reconciled, the reports
/// of those finished, and how many earlier runs stopped with their replica.
struct Progress<'a> {
    done: usize,
    total: usize,
    current: Option<&'a str>,
    reports: &'a [Value],
    restarts: u64,
}

/// Writes how far a job has got, for `GET /admin/jobs/{id}` on any replica (and for a run
/// that takes it over: the reports of the mappings finished). False when the job is no longer
/// this replica's. A store error here is only logged: the job goes on, and its end is recorded as
/// usual.
async fn progress(ctx: &Context, job: &Job, now: Progress<'_>) -> bool {
    let mut progress = json!({
        "mappings_done": now.done,
        "mappings_total": now.total,
        "current_mapping": now.current,
        "reports": now.reports,
    });
    if now.restarts > 0 {
        progress["restarts"] = json!(now.restarts);
    }
    match ctx.store.job_progress(job.id, &ctx.owner, &progress).await {
        Ok(ours) => ours,
        Err(error) => {
            tracing::warn!(job.id = job.id, %error, "could not record the job's progress");
            true
        }
    }
}
