//! A reconciliation's repairs in the inbox: how one run's stand now (waiting for the worker,
//! or dead), and which records an earlier run's untried repairs still wait for, which a new run
//! leaves to them.

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
        let bound = key_bound(prefix);
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
    /// Which of `keys` (the repairs a new reconciliation is about to queue) name a record an
    /// earlier run's repair waits for untried (waiting out a held mapping or a paused side): the
    /// new run leaves those to it, so each difference waits once and the earlier job's repairs
    /// keep their state. A key is `<prefix><run>:<record>`; the record part is compared.
    pub async fn untried_repairs(
        &self,
        prefix: &str,
        keys: &[&str],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let wanted: std::collections::HashSet<String> = keys
            .iter()
            .filter_map(|k| repair_record(prefix, k))
            .collect();
        let mut waiting = std::collections::HashSet::new();
        if wanted.is_empty() {
            return Ok(waiting);
        }
        let bound = key_bound(prefix);
        let rows = sqlx::query(
            "SELECT dedup_key FROM signals \
             WHERE dedup_key >= $1 AND dedup_key < $2 AND state = 'pending' AND attempts = 0",
        )
        .bind(prefix)
        .bind(&bound)
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let key: String = row.try_get("dedup_key")?;
            if let Some(record) = repair_record(prefix, &key).filter(|r| wanted.contains(r)) {
                waiting.insert(record);
            }
        }
        Ok(waiting)
    }
}

/// The first key past every key starting with `prefix` (which ends with `:`): `;` is the
/// character after `:`, so `key >= prefix AND key < bound` is a range over the unique index.
fn key_bound(prefix: &str) -> String {
    debug_assert!(prefix.ends_with(':'));
    format!("{};", &prefix[..prefix.len() - 1])
}

/// The record a repair's key names: what follows `<prefix><run>:`.
pub fn repair_record(prefix: &str, key: &str) -> Option<String> {
    let rest = key.strip_prefix(prefix)?;
    Some(rest.split_once(':')?.1.to_string())
}
