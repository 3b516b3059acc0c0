//! Read queries for operators (console and admin JSON): failing signals with the people they
//! name, change counts per mapping, the backlog, bulk replay.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Store, StoreError};

/// A signal that failed for good (`dead`) or is waiting to be retried (`retrying`), with the
/// people and records its payload names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailingSignal {
    pub id: i64,
    pub kind: String,
    /// `dead` or `retrying`.
    pub state: String,
    pub email: Option<String>,
    pub marketo_lead_id: Option<i64>,
    pub salesforce_person_id: Option<String>,
    pub campaign_member_id: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub next_attempt_at: Option<i64>,
    /// A dead letter whose person's later write in the same mapping landed since: replaying
    /// it changes nothing.
    pub superseded: bool,
}

/// Which failing signals to list: by state (`dead`, `rejected`, `retrying`, `postponed`,
/// `waiting` for the last two, or all) and text found in the payload or the error (an e-mail,
/// an id, words of the message).
#[derive(Debug, Clone, Default)]
pub struct FailingFilter {
    pub state: Option<String>,
    pub text: Option<String>,
    pub before: Option<i64>,
    pub limit: u32,
    /// The configured mappings, so a signal naming a campaign or program is shown with the
    /// person's member of that mapping only (none when no mapping covers it). Empty: any
    /// mapping's.
    pub scopes: Vec<MappingScope>,
}

/// A mapping as the failing list needs it: which campaign and program it pairs.
#[derive(Debug, Clone)]
pub struct MappingScope {
    pub name: String,
    pub campaign_id: String,
    pub program_id: i64,
}

/// The work waiting for the worker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Backlog {
    /// Pending signals whose time has come (first try or retry).
    pub due: i64,
    /// Pending signals that failed at least once and wait for a later try (not postponed).
    pub retrying: i64,
    /// Signals a worker holds now: a round in progress, e.g. waiting out Marketo's rate window.
    pub in_progress: i64,
    /// Signals waiting, without using an attempt, for their side's pause to end (daily quota,
    /// refused credentials) or their mapping to be switched on or released.
    #[serde(default)]
    pub postponed: i64,
    pub dead: i64,
    /// When the oldest pending signal was received.
    pub oldest_received_at: Option<i64>,
    /// When the next retrying signal is tried again (none retrying: `None`).
    #[serde(default)]
    pub next_retry_at: Option<i64>,
}

/// Counts of changes in one window: trigger events by kind, and failed/skipped outcomes.
pub type ChangeCounts = BTreeMap<String, BTreeMap<String, i64>>;

/// The columns a failing signal is read with, by the list and by its text search.
pub(super) const FAILING_COLUMNS: &str = "id, dedup_key, kind, state, payload, attempts, last_error, received_at, updated_at, \
     next_attempt_at, person";

/// The SQL condition of a failing-signal state: `dead`, `rejected`, `retrying` (failed at
/// least once, waiting for another try), `postponed` (waiting out a side's pause or a held or
/// switched-off mapping, without using an attempt), `waiting` (either of the last two), or
/// any of them.
fn state_condition(state: Option<&str>) -> String {
    let postponed = format!(
        "(state = 'pending' AND last_error LIKE '{}')",
        super::journal::POSTPONED_LIKE
    );
    let retrying = format!(
        "(state = 'pending' AND attempts > 0 AND COALESCE(last_error, '') NOT LIKE '{}')",
        super::journal::POSTPONED_LIKE
    );
    match state {
        Some("dead") => "state = 'dead'".into(),
        Some("rejected") => "state = 'rejected'".into(),
        Some("retrying") => retrying,
        Some("postponed") => postponed,
        Some("waiting") => format!("({retrying} OR {postponed})"),
        _ => format!("(state IN ('dead', 'rejected') OR {retrying} OR {postponed})"),
    }
}

impl Store {
    /// Dead, rejected (refused on arrival, never processed), retrying and postponed signals,
    /// newest first.
    pub async fn failing(&self, filter: &FailingFilter) -> Result<Vec<FailingSignal>, StoreError> {
        let state = &state_condition(filter.state.as_deref());
        let before = filter.before.unwrap_or(i64::MAX);
        let rows = match filter.text.as_deref() {
            Some(text) => {
                self.failing_matching(state, text, before, filter.limit)
                    .await?
            }
            None => {
                let sql = format!(
                    "SELECT {FAILING_COLUMNS} FROM signals WHERE {state} AND id < $1 \
                     ORDER BY id DESC LIMIT $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(before)
                    .bind(i64::from(filter.limit))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        let mut failing = Vec::with_capacity(rows.len());
        for r in &rows {
            let payload: String = r.try_get("payload")?;
            let payload = super::shown_payload(&payload);
            let state: String = r.try_get("state")?;
            let last_error: Option<String> = r.try_get("last_error")?;
            // Dead and rejected rows wait for nothing; a pending one is retrying, or
            // postponed without using an attempt.
            let dead = state == "dead" || state == "rejected";
            let state = if dead {
                state
            } else if super::journal::is_postponed(last_error.as_deref()) {
                "postponed".into()
            } else {
                "retrying".into()
            };
            // Who an earlier try found it to be about: a deletion's member may be gone from
            // the mirror since.
            let stored: Option<String> = r.try_get("person")?;
            let names = self
                .person_names(&payload, &filter.scopes, stored.as_deref())
                .await?;
            failing.push(FailingSignal {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                state,
                email: names.email,
                marketo_lead_id: names.marketo_lead_id,
                salesforce_person_id: names.salesforce_person_id,
                campaign_member_id: names.campaign_member_id,
                attempts: r.try_get("attempts")?,
                last_error,
                first_seen: r.try_get("received_at")?,
                last_seen: r.try_get("updated_at")?,
                next_attempt_at: Some(r.try_get::<i64, _>("next_attempt_at")?).filter(|_| !dead),
                superseded: false,
            });
        }
        let dead: Vec<i64> = failing
            .iter()
            .filter(|s| s.state == "dead")
            .map(|s| s.id)
            .collect();
        let superseded = self.superseded(&dead).await?;
        for signal in &mut failing {
            signal.superseded = superseded.contains(&signal.id);
        }
        Ok(failing)
    }

    /// Makes each of these dead signals due again; returns the ids that were dead.
    pub async fn replay_many(&self, ids: &[i64], now: i64) -> Result<Vec<i64>, StoreError> {
        let mut replayed = Vec::new();
        for &id in ids {
            if self.replay(id, now).await? {
                replayed.push(id);
            }
        }
        Ok(replayed)
    }

    pub async fn backlog(&self, now: i64) -> Result<Backlog, StoreError> {
        let row = sqlx::query(
            "SELECT \
             COALESCE(SUM(CASE WHEN state = 'pending' AND next_attempt_at <= $1 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN state = 'pending' AND attempts > 0 \
                 AND COALESCE(last_error, '') <> $2 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0), \
             MIN(CASE WHEN state IN ('pending', 'leased') THEN received_at END), \
             COALESCE(SUM(CASE WHEN state = 'leased' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN state = 'pending' AND last_error LIKE $2 \
                 AND next_attempt_at > $1 THEN 1 ELSE 0 END), 0), \
             MIN(CASE WHEN state = 'pending' AND attempts > 0 \
                 AND COALESCE(last_error, '') NOT LIKE $2 THEN next_attempt_at END) \
             FROM signals",
        )
        .bind(now)
        .bind(super::journal::POSTPONED_LIKE)
        .fetch_one(&self.pool)
        .await?;
        Ok(Backlog {
            due: row.try_get(0)?,
            retrying: row.try_get(1)?,
            dead: row.try_get(2)?,
            oldest_received_at: row.try_get(3)?,
            in_progress: row.try_get(4)?,
            postponed: row.try_get(5)?,
            next_retry_at: row.try_get(6)?,
        })
    }

    /// Members per mapping: mirror rows with a status on either side (a removed member's row
    /// stays, with no status, to remember who they were).
    pub async fn mirror_counts(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT mapping, COUNT(*) FROM mirror \
             WHERE sf_status IS NOT NULL OR mkto_status IS NOT NULL GROUP BY mapping",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}
