//! The signals inbox: record (deduplicated), claim with a lease, complete, retry, bury, replay.

use sqlx::{AnyConnection, Row};

use super::insert::{Prepared, insert_signals};
use super::{Backend, Claimed, DeadSignal, Recorded, SignalEnd, Store, StoreError};
use crate::signal::{NewSignal, RejectedInput, Signal};

/// Due: pending and its time has come, or leased by a claimer whose lease ran out.
const DUE: &str = "(state = 'pending' AND next_attempt_at <= $3) \
    OR (state = 'leased' AND lease_expires_at <= $3)";

/// Stores refused inputs as `rejected` rows, a terminal state nothing claims; a key already
/// stored (a redelivery of the same refused notification) is kept once.
pub(super) async fn insert_rejected(
    conn: &mut AnyConnection,
    rejected: &[RejectedInput],
    now: i64,
) -> Result<(), StoreError> {
    for input in rejected {
        let payload = rejected_payload(input);
        sqlx::query(
            "INSERT INTO signals (dedup_key, source, kind, payload, state, attempts, \
             next_attempt_at, last_error, received_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'rejected', 0, $5, $6, $5, $5) \
             ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(&input.dedup_key)
        .bind(input.source)
        .bind(input.kind)
        .bind(payload)
        .bind(now)
        .bind(&input.reason)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// What a `rejected` row keeps: where the input came from and the input itself.
/// The records it names sit beside it, under the keys a signal's payload uses for them, so the
/// errors list and its search find them alike.
pub(super) fn rejected_payload(input: &RejectedInput) -> String {
    let mut payload = serde_json::json!({ "source": input.source, "raw": input.raw });
    let names = &input.names;
    for (key, value) in [
        ("member_id", &names.member_id),
        ("lead_id", &names.lead_id),
        ("contact_id", &names.contact_id),
        ("email", &names.email),
    ] {
        if let Some(value) = value {
            payload[key] = serde_json::Value::String(value.clone());
        }
    }
    payload.to_string()
}

impl Store {
    /// Stores the signals in one transaction; a signal whose dedup key is already stored is
    /// kept once. Returns only after the rows are durable.
    pub async fn record(
        &self,
        signals: Vec<NewSignal>,
        now: i64,
    ) -> Result<Vec<Recorded>, StoreError> {
        self.record_with_rejected(signals, Vec::new(), now).await
    }

    /// Like [`Store::record`], with inputs refused at the edge stored in the same transaction
    /// as `rejected` (listed with the dead letters, never claimed, never replayed).
    pub async fn record_with_rejected(
        &self,
        signals: Vec<NewSignal>,
        rejected: Vec<RejectedInput>,
        now: i64,
    ) -> Result<Vec<Recorded>, StoreError> {
        if signals.is_empty() && rejected.is_empty() {
            return Ok(Vec::new());
        }
        let signals = Prepared::all(signals)?;
        let recorded = match &self.writer {
            Some(writer) => writer.record(signals, rejected, now).await?,
            None => {
                let signals: Vec<&Prepared> = signals.iter().collect();
                let mut tx = self.begin_write().await?;
                let recorded = insert_signals(&mut tx, &signals, now).await?;
                insert_rejected(&mut tx, &rejected, now).await?;
                tx.commit().await?;
                recorded
            }
        };
        if recorded.iter().any(|r| !r.duplicate) {
            self.recorded.notify_one();
        }
        Ok(recorded)
    }

    /// Leases up to `limit` due signals to `owner` until `now + lease_ms`: live changes first,
    /// then reconciliation's repairs, oldest first within each, so a large repair never holds
    /// up a change made now. Two concurrent claimers never receive the same signal.
    pub async fn claim(
        &self,
        owner: &str,
        limit: u32,
        lease_ms: i64,
        now: i64,
    ) -> Result<Vec<Claimed>, StoreError> {
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE signals SET state = 'leased', lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1, redo = 0, updated_at = $3 \
             WHERE id IN (SELECT id FROM signals WHERE {DUE} \
             ORDER BY CASE WHEN dedup_key LIKE 'reconcile:%' THEN 1 ELSE 0 END, id \
             LIMIT $4{lock}) \
             RETURNING id, dedup_key, payload, attempts, received_at, person"
        );
        // Only the static lock clause varies; every value is bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let payload: String = row.try_get("payload")?;
            // A payload this version cannot read (stored by another version, or damaged) must
            // not stop every claim after it: it ends dead with the reason, the rest go on.
            let signal = match serde_json::from_str::<Signal>(&payload) {
                Ok(signal) => signal,
                Err(error) => {
                    let reason =
                        format!("stored payload is not a signal this version reads: {error}");
                    tracing::error!(signal.id = id, %reason, "dead");
                    let end = SignalEnd::Dead { id, reason };
                    self.end(owner, &end, now).await?;
                    continue;
                }
            };
            claimed.push(Claimed {
                id,
                dedup_key: row.try_get("dedup_key")?,
                signal,
                attempts: row.try_get("attempts")?,
                received_at: row.try_get("received_at")?,
                person: row.try_get("person")?,
            });
        }
        claimed.sort_by_key(|c| c.id);
        Ok(claimed)
    }

    /// Marks a leased signal done. False when `owner` no longer holds the lease.
    pub async fn complete(&self, id: i64, owner: &str, now: i64) -> Result<bool, StoreError> {
        self.end(owner, &SignalEnd::Done(id), now).await
    }

    /// Puts a leased signal back to be claimed again at `at`, keeping the error for operators.
    pub async fn retry_at(
        &self,
        id: i64,
        owner: &str,
        at: i64,
        error: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let end = SignalEnd::Retry {
            id,
            at,
            error: error.to_string(),
        };
        self.end(owner, &end, now).await
    }

    /// Ends a leased signal as dead with its reason; it stays listed until replayed.
    pub async fn bury(
        &self,
        id: i64,
        owner: &str,
        reason: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let end = SignalEnd::Dead {
            id,
            reason: reason.to_string(),
        };
        self.end(owner, &end, now).await
    }

    async fn end(&self, owner: &str, end: &SignalEnd, now: i64) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        super::journal::end_signal(&mut conn, owner, end, None, now).await
    }

    /// Makes a dead signal due again with a fresh attempt count. False when it is not dead.
    pub async fn replay(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE signals SET state = 'pending', attempts = 0, next_attempt_at = $2, \
             last_error = NULL, updated_at = $2 WHERE id = $1 AND state = 'dead'",
        )
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Dead and rejected signals, oldest first, starting after `after_id`.
    pub async fn dead(&self, after_id: i64, limit: u32) -> Result<Vec<DeadSignal>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, dedup_key, kind, state, payload, attempts, last_error, updated_at \
             FROM signals WHERE state IN ('dead', 'rejected') AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let payload: String = row.try_get("payload")?;
                Ok(DeadSignal {
                    id: row.try_get("id")?,
                    dedup_key: row.try_get("dedup_key")?,
                    kind: row.try_get("kind")?,
                    state: row.try_get("state")?,
                    payload: super::shown_payload(&payload),
                    attempts: row.try_get("attempts")?,
                    last_error: row.try_get("last_error")?,
                    updated_at: row.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Deletes done signals last touched before `before`, so the inbox does not grow without
    /// bound. Dead signals stay until replayed; outcomes and trigger events are kept.
    pub async fn purge_done(&self, before: i64) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM signals WHERE state = 'done' AND updated_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }

    /// Number of signals in each state (`pending`, `leased`, `done`, `dead`, `rejected`).
    pub async fn inbox_depth(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) FROM signals GROUP BY state ORDER BY state")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    /// Looks one signal up by id, whatever its state: `(state, attempts, last_error)`.
    pub async fn signal_state(
        &self,
        id: i64,
    ) -> Result<Option<(String, i64, Option<String>)>, StoreError> {
        let row = sqlx::query("SELECT state, attempts, last_error FROM signals WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()
    }
}

impl Store {
    /// How many signals are due now (the idle worker's cheap check).
    pub async fn claim_count_due(&self, now: i64) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM signals WHERE (state = 'pending' AND next_attempt_at <= $1) \
             OR (state = 'leased' AND lease_expires_at <= $1)",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }
}
