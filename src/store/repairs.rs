//! How the signals one reconciliation queued stand now: waiting for the worker, or dead.

use sqlx::Row;

use super::{Store, StoreError};

/// The repairs of one reconciliation still in the inbox, by state. Signals that ended well
/// are `done` until the history retention prunes them, so a caller counts them as the rest
/// of those queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepairStates {
    /// Pending or being processed, a retry among them.
    pub waiting: u64,
    pub dead: u64,
}

impl Store {
    /// The states of the signals whose dedup key starts with `prefix` (which must end with
    /// `:`): a range over the key's unique index, on both backends.
    pub async fn repair_states(&self, prefix: &str) -> Result<RepairStates, StoreError> {
        debug_assert!(prefix.ends_with(':'));
        // `;` is the character after `:`: every key with the prefix sorts before the bound.
        let bound = format!("{};", &prefix[..prefix.len() - 1]);
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM signals \
             WHERE dedup_key >= $1 AND dedup_key < $2 AND state <> 'done' GROUP BY state",
        )
        .bind(prefix)
        .bind(&bound)
        .fetch_all(&self.pool)
        .await?;
        let mut states = RepairStates::default();
        for row in rows {
            let count = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
            match row.try_get::<String, _>("state")?.as_str() {
                "dead" => states.dead += count,
                _ => states.waiting += count,
            }
        }
        Ok(states)
    }
}
