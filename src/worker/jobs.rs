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
    let mut results = Vec::with_capacity(mappings.len());
    for (done, mapping) in mappings.iter().enumerate() {
        // Switched off since the job started (a long job: bulk extracts can take hours).
        let writes = ctx.mappings.sync_enabled() && mapping.is_enabled();
        if !writes && !dry_run {
            continue;
        }
        if !progress(ctx, job, done, mappings.len(), Some(mapping.name())).await {
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
        results.push(result);
    }
    progress(ctx, job, mappings.len(), mappings.len(), None).await;
    // Nothing reconciled at all is a failed job, so one polling `state` does not read success.
    if !results.is_empty() && results.iter().all(Result::is_err) {
        let why: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|(mapping, error)| format!("{mapping}: {error}"))
            .collect();
        return Ok(Err(format!("every mapping failed: {}", why.join("; "))));
    }
    let reports: Vec<Value> = results
        .into_iter()
        .map(|r| match r {
            Ok(report) => json!(report),
            Err((mapping, error)) => json!({ "mapping": mapping, "error": error.to_string() }),
        })
        .collect();
    Ok(Ok(json!({ "dry_run": dry_run, "reports": reports })))
}

/// Writes how far a job has got, for `GET /admin/jobs/{id}` on any replica: mappings done of
/// the total, and the one being reconciled now. False when the job is no longer this
/// replica's. A store error here is only logged: the job goes on, and its end is recorded as
/// usual.
async fn progress(
    ctx: &Context,
    job: &Job,
    done: usize,
    total: usize,
    current: Option<&str>,
) -> bool {
    let progress =
        json!({ "mappings_done": done, "mappings_total": total, "current_mapping": current });
    match ctx.store.job_progress(job.id, &ctx.owner, &progress).await {
        Ok(ours) => ours,
        Err(error) => {
            tracing::warn!(job.id = job.id, %error, "could not record the job's progress");
            true
        }
    }
}
