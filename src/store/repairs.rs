//! A reconciliation's repairs in the inbox: how one run's stand now (waiting for the worker,
//! or dead), and the untried ones an earlier run left waiting, which a new run replaces.

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

impl Store {
    /// Deletes the repairs earlier reconciliations queued that no attempt has taken yet (waiting
    /// out a held mapping or a paused side) for the same records as `keys`, the repairs a new
    /// run is about to queue: each difference then waits once, with the newest reading, rather
    /// than once per pass. A key is `<prefix><run>:<record>`; the record part is compared.
    pub async fn drop_untried_repairs(
        &self,
        prefix: &str,
        keys: &[&str],
    ) -> Result<u64, StoreError> {
        let record = |key: &str| -> Option<String> {
            let rest = key.strip_prefix(prefix)?;
            Some(rest.split_once(':')?.1.to_string())
        };
        let wanted: std::collections::HashSet<String> =
            keys.iter().filter_map(|k| record(k)).collect();
        if wanted.is_empty() {
            return Ok(0);
        }
        let bound = format!("{};", &prefix[..prefix.len() - 1]);
        let rows = sqlx::query(
            "SELECT id, dedup_key FROM signals \
             WHERE dedup_key >= $1 AND dedup_key < $2 AND state = 'pending' AND attempts = 0",
        )
        .bind(prefix)
        .bind(&bound)
        .fetch_all(&self.pool)
        .await?;
        let mut dropped = 0;
        for row in rows {
            let key: String = row.try_get("dedup_key")?;
            if !record(&key).is_some_and(|r| wanted.contains(&r)) {
                continue;
            }
            let id: i64 = row.try_get("id")?;
            // Still untried: a worker may have taken it since.
            dropped += sqlx::query(
                "DELETE FROM signals WHERE id = $1 AND state = 'pending' AND attempts = 0",
            )
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(dropped)
    }
}
