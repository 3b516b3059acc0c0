//! Run-time state shared by every replica: mapping and sync switches, the problems that hold a
//! mapping, and jobs an admin queues for the leader. Kept here so a switch flipped through one
//! replica holds on all of them and across restarts.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use super::{Backend, Store, StoreError};

/// The first half of the PostgreSQL advisory lock under which a job is queued or joined (the
/// second is the kind's hash): "cs j" as a number, apart from the single-key locks.
const JOB_QUEUE_LOCK: i32 = 0x6373_206a;

/// The switch of campaign sync as a whole; mapping switches are `mapping:<name>`.
pub const SYNC_SWITCH: &str = "sync";

/// A queued piece of work for the leader, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    pub params: serde_json::Value,
    pub progress: Option<serde_json::Value>,
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    pub requested_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl Store {
    /// Every stored switch (`sync`, `mapping:<name>`); absent ones keep their configured value.
    pub async fn switches(&self) -> Result<BTreeMap<String, bool>, StoreError> {
        let rows = sqlx::query("SELECT name, enabled FROM switches")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get::<i64, _>("enabled")? != 0)))
            .collect()
    }

    pub async fn set_switch(&self, name: &str, enabled: bool, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO switches (name, enabled, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(i64::from(enabled))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The problems of each checked mapping (empty: compatible).
    pub async fn mapping_problems(&self) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
        let rows = sqlx::query("SELECT mapping, problems FROM mapping_problems")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("problems")?;
                Ok((r.try_get("mapping")?, serde_json::from_str(&text)?))
            })
            .collect()
    }

    pub async fn set_mapping_problems(
        &self,
        mapping: &str,
        problems: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        let stored = serde_json::to_string(problems)?;
        let mut tx = self.begin_write().await?;
        let before: Option<String> =
            sqlx::query_scalar("SELECT problems FROM mapping_problems WHERE mapping = $1")
                .bind(mapping)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO mapping_problems (mapping, problems, checked_at) VALUES ($1, $2, $3) \
             ON CONFLICT (mapping) DO UPDATE SET problems = excluded.problems, checked_at = excluded.checked_at",
        )
        .bind(mapping)
        .bind(&stored)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // Subscribers hear of a hold once, when it starts or its problems change.
        if !problems.is_empty() && before.as_deref() != Some(stored.as_str()) {
            let notice = super::Notice {
                kind: crate::kinds::OperationalEvent::MappingHeld,
                key: format!("mapping:{mapping}"),
                data: serde_json::json!({ "mapping": mapping, "problems": problems }),
                at: now,
            };
            super::outbox::enqueue_notice(&mut tx, &notice, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest campaign-settings outcome of a mapping: when it was recorded and what it says
    /// (what was written, or why the pass failed).
    pub async fn last_settings_outcome(
        &self,
        mapping: &str,
    ) -> Result<Option<(i64, String, Option<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT recorded_at, result, reason FROM outcomes \
             WHERE mapping = $1 AND action = 'campaign_settings' ORDER BY id DESC LIMIT 1",
        )
        .bind(mapping)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()
    }

    /// Queues a job for the leader; returns its id.
    pub async fn queue_job(
        &self,
        kind: &str,
        params: &serde_json::Value,
        now: i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO jobs (kind, state, params, requested_at) VALUES ($1, 'queued', $2, $3) RETURNING id",
        )
        .bind(kind)
        .bind(params.to_string())
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Queues a reconciliation (a preview when `dry_run`), or joins the one of the same kind
    /// still queued (see [`Store::queue_job_joining`]); `reason` says why when it was not asked
    /// for by a person. Returns the job's id and whether the request joined it.
    pub async fn queue_reconcile(
        &self,
        dry_run: bool,
        reason: Option<&str>,
        now: i64,
    ) -> Result<(i64, bool), StoreError> {
        let mut params = serde_json::json!({ "dry_run": dry_run });
        if let Some(reason) = reason {
            params["reason"] = serde_json::Value::String(reason.to_string());
        }
        self.queue_job_joining("reconcile", &params, "dry_run", now)
            .await
    }

    /// Queues a job unless one of `kind` with the same `params[key]` is still queued (not yet
    /// started): then that one is the answer, and `true` says the request joined it. Asking
    /// for a reconciliation three times while one waits runs one pass, not three, each of which
    /// would read every member of both sides. A `reason` the request gives is added to the
    /// queued job's. The look and the insert are one transaction, taken as a write (and, on
    /// PostgreSQL, under a lock for `kind`), so two requests at once queue one job.
    pub async fn queue_job_joining(
        &self,
        kind: &str,
        params: &serde_json::Value,
        key: &str,
        now: i64,
    ) -> Result<(i64, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind(JOB_QUEUE_LOCK)
                .bind(kind)
                .execute(&mut *tx)
                .await?;
        }
        let waiting = sqlx::query(
            "SELECT id, params FROM jobs WHERE kind = $1 AND state = 'queued' ORDER BY id",
        )
        .bind(kind)
        .fetch_all(&mut *tx)
        .await?;
        for row in &waiting {
            let queued: String = row.try_get("params")?;
            let mut queued: serde_json::Value = serde_json::from_str(&queued)?;
            if queued.get(key) != params.get(key) {
                continue;
            }
            let id: i64 = row.try_get("id")?;
            if let Some(reason) = params.get("reason").and_then(|r| r.as_str()) {
                let joined = match queued.get("reason").and_then(|r| r.as_str()) {
                    Some(before) if before.split("; ").any(|r| r == reason) => before.to_string(),
                    Some(before) => format!("{before}; {reason}"),
                    None => reason.to_string(),
                };
                queued["reason"] = serde_json::Value::String(joined);
            }
            // Joined only while still queued: on PostgreSQL the worker may have started it
            // since the read (this waits for its row lock, then sees it running).
            let still_queued =
                sqlx::query("UPDATE jobs SET params = $2 WHERE id = $1 AND state = 'queued'")
                    .bind(id)
                    .bind(queued.to_string())
                    .execute(&mut *tx)
                    .await?;
            if still_queued.rows_affected() == 1 {
                tx.commit().await?;
                return Ok((id, true));
            }
        }
        let row = sqlx::query(
            "INSERT INTO jobs (kind, state, params, requested_at) VALUES ($1, 'queued', $2, $3) RETURNING id",
        )
        .bind(kind)
        .bind(params.to_string())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get(0)?;
        tx.commit().await?;
        Ok((id, false))
    }

    pub async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(
            "SELECT id, kind, state, params, progress, result, error, requested_at, started_at, \
             finished_at FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Takes the oldest queued job (`queued` → `running`) for `runner`; `None` when none waits.
    /// Only the leader calls it, so no two replicas race for one job.
    pub async fn start_next_job(&self, runner: &str, now: i64) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', started_at = $1, runner = $2 \
             WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1) \
             AND state = 'queued' \
             RETURNING id, kind, state, params, progress, result, error, requested_at, started_at, finished_at",
        )
        .bind(now)
        .bind(runner)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Writes how far `runner`'s run of a job has got. False when the job is no longer
    /// `runner`'s (requeued for a new leader), which then writes nothing.
    pub async fn job_progress(
        &self,
        id: i64,
        runner: &str,
        progress: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET progress = $3 WHERE id = $1 AND runner = $2 AND state = 'running'",
        )
        .bind(id)
        .bind(runner)
        .bind(progress.to_string())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Ends `runner`'s run of a job as `done` with its result, or `failed` with the error.
    /// False when the job is no longer `runner`'s (a replica that lost the lead mid-job, its job
    /// requeued for the new leader): the state the new run writes is left alone.
    pub async fn finish_job(
        &self,
        id: i64,
        runner: &str,
        result: Result<&serde_json::Value, &str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (state, result, error) = match result {
            Ok(value) => ("done", Some(value.to_string()), None),
            Err(error) => ("failed", None, Some(error.to_string())),
        };
        let written = sqlx::query(
            "UPDATE jobs SET state = $3, result = $4, error = $5, finished_at = $6 \
             WHERE id = $1 AND runner = $2 AND state = 'running'",
        )
        .bind(id)
        .bind(runner)
        .bind(state)
        .bind(result)
        .bind(error)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(written.rows_affected() == 1)
    }

    /// Jobs a replica was running when it stopped go back to the queue for the new leader.
    pub async fn requeue_running_jobs(&self) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET state = 'queued', started_at = NULL, runner = NULL \
             WHERE state = 'running'",
        )
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }
}

fn job_from_row(r: &sqlx::any::AnyRow) -> Result<Job, StoreError> {
    let json = |column: &str| -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<String> = r.try_get(column)?;
        Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
    };
    Ok(Job {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        state: r.try_get("state")?,
        params: json("params")?.unwrap_or_default(),
        progress: json("progress")?,
        result: json("result")?,
        error: r.try_get("error")?,
        requested_at: r.try_get("requested_at")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}
