//! The signals inbox: record (deduplicated), claim with a lease, complete, retry, bury, replay.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};

use super::{Backend, Claimed, DeadSignal, Recorded, SignalEnd, Store, StoreError};
use crate::signal::{Dedup, NewSignal, RejectedInput, Signal};

/// [`Dedup::Once`]: a stored key absorbs the new signal.
const ON_CONFLICT_KEEP: &str = "ON CONFLICT (dedup_key) DO NOTHING";

/// [`Dedup::WhilePending`]: a stored signal that already ran (or is running, or died) is made
/// due again with the new payload; one still waiting absorbs the new one.
const ON_CONFLICT_REVIVE: &str = "ON CONFLICT (dedup_key) DO UPDATE SET state = 'pending', \
    attempts = 0, payload = excluded.payload, next_attempt_at = excluded.next_attempt_at, \
    lease_owner = NULL, lease_expires_at = NULL, last_error = NULL, updated_at = excluded.updated_at \
    WHERE signals.state <> 'pending'";

/// Due: pending and its time has come, or leased by a claimer whose lease ran out.
const DUE: &str = "(state = 'pending' AND next_attempt_at <= $3) \
    OR (state = 'leased' AND lease_expires_at <= $3)";

/// Rows per multi-row INSERT (five parameters each, far below either database's limit).
const ROWS_PER_STATEMENT: usize = 200;

/// Inserts each signal unless its dedup key is already stored, inside the caller's transaction.
/// Signals go in multi-row statements (the group commit's many small requests cost a few
/// statements, not one each); results keep the input order.
pub(super) async fn insert_signals(
    conn: &mut AnyConnection,
    signals: &[NewSignal],
    now: i64,
) -> Result<Vec<Recorded>, StoreError> {
    let mut recorded: Vec<Option<Recorded>> = vec![None; signals.len()];
    // A key repeated within the call is a duplicate of its first occurrence; each statement then
    // touches a row at most once, as PostgreSQL requires of ON CONFLICT DO UPDATE.
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut repeats = Vec::new();
    let (mut once, mut reviving) = (Vec::new(), Vec::new());
    for (index, new) in signals.iter().enumerate() {
        match first.get(new.dedup_key.as_str()) {
            Some(&earlier) => repeats.push((index, earlier)),
            None => {
                first.insert(&new.dedup_key, index);
                match new.dedup {
                    Dedup::Once => once.push(index),
                    Dedup::WhilePending => reviving.push(index),
                }
            }
        }
    }
    for chunk in once.chunks(ROWS_PER_STATEMENT) {
        insert_batch(conn, signals, chunk, ON_CONFLICT_KEEP, now, &mut recorded).await?;
    }
    for chunk in reviving.chunks(ROWS_PER_STATEMENT) {
        insert_batch(conn, signals, chunk, ON_CONFLICT_REVIVE, now, &mut recorded).await?;
    }
    for (index, earlier) in repeats {
        let id = recorded[earlier].map_or(0, |r| r.id);
        recorded[index] = Some(Recorded {
            id,
            duplicate: true,
        });
    }
    Ok(recorded.into_iter().flatten().collect())
}

/// Inserts one chunk of distinct keys; a key the statement did not insert (or revive) is
/// looked up and reported as a duplicate.
async fn insert_batch(
    conn: &mut AnyConnection,
    signals: &[NewSignal],
    chunk: &[usize],
    on_conflict: &str,
    now: i64,
    recorded: &mut [Option<Recorded>],
) -> Result<(), StoreError> {
    let rows: Vec<String> = (0..chunk.len())
        .map(|i| {
            let p = 5 * i;
            format!(
                "(${}, ${}, ${}, ${}, 'pending', 0, ${}, ${}, ${})",
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5,
                p + 5,
                p + 5
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO signals (dedup_key, source, kind, payload, state, attempts, \
         next_attempt_at, received_at, updated_at) VALUES {} {on_conflict} RETURNING id, dedup_key",
        rows.join(", ")
    );
    // Only placeholders and a fixed clause vary; every value is bound.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for &index in chunk {
        let new = &signals[index];
        query = query
            .bind(new.dedup_key.clone())
            .bind(new.signal.source())
            .bind(new.signal.kind())
            .bind(serde_json::to_string(&new.signal)?)
            .bind(now);
    }
    let written: HashMap<String, i64> = query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| Ok((row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    for &index in chunk {
        let key = &signals[index].dedup_key;
        recorded[index] = Some(match written.get(key) {
            Some(&id) => Recorded {
                id,
                duplicate: false,
            },
            None => {
                let row = sqlx::query("SELECT id FROM signals WHERE dedup_key = $1")
                    .bind(key)
                    .fetch_one(&mut *conn)
                    .await?;
                Recorded {
                    id: row.try_get(0)?,
                    duplicate: true,
                }
            }
        });
    }
    Ok(())
}

/// Stores refused inputs as `rejected` rows, a terminal state nothing claims; a key already
/// stored (a redelivery of the same refused notification) is kept once.
pub(super) async fn insert_rejected(
    conn: &mut AnyConnection,
    rejected: &[RejectedInput],
    now: i64,
) -> Result<(), StoreError> {
    for input in rejected {
        let payload = serde_json::json!({ "source": input.source, "raw": input.raw });
        sqlx::query(
            "INSERT INTO signals (dedup_key, source, kind, payload, state, attempts, \
             next_attempt_at, last_error, received_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'rejected', 0, $5, $6, $5, $5) \
             ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(&input.dedup_key)
        .bind(input.source)
        .bind(input.kind)
        .bind(payload.to_string())
        .bind(now)
        .bind(&input.reason)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
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
        let recorded = match &self.writer {
            Some(writer) => writer.record(signals, rejected, now).await?,
            None => {
                let mut tx = self.pool.begin().await?;
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

    /// Leases up to `limit` due signals to `owner` until `now + lease_ms`, oldest first.
    /// Two concurrent claimers never receive the same signal.
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
             attempts = attempts + 1, updated_at = $3 \
             WHERE id IN (SELECT id FROM signals WHERE {DUE} ORDER BY id LIMIT $4{lock}) \
             RETURNING id, dedup_key, payload, attempts, received_at"
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
        super::journal::end_signal(&mut conn, owner, end, now).await
    }

    /// Makes a dead signal due again with a fresh attempt count. False when it is not dead.
    pub async fn replay(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE signals SET state = 'pending', attempts = 0, next_attempt_at = $2, \
             updated_at = $2 WHERE id = $1 AND state = 'dead'",
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
                    payload: serde_json::from_str(&payload)?,
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
