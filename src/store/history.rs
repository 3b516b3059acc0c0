//! What happened: trigger events (the feed) and per-change outcomes (applied, skipped,
//! diverged, dead).

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TriggerEvent {
    pub id: i64,
    /// `added_to_campaign`, `removed_from_campaign`, `campaign_status_changed`,
    /// `added_to_program`, `removed_from_program`, `program_status_changed`.
    pub kind: String,
    pub mapping: Option<String>,
    pub person: String,
    pub campaign_id: Option<String>,
    pub program_id: Option<i64>,
    pub old_status: Option<String>,
    pub new_status: Option<String>,
    /// Who caused it: `salesforce`, `marketo`, `reconciliation`, `admin`.
    pub actor: String,
    pub occurred_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeResult {
    Applied,
    Skipped,
    Diverged,
    Dead,
}

impl OutcomeResult {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeResult::Applied => "applied",
            OutcomeResult::Skipped => "skipped",
            OutcomeResult::Diverged => "diverged",
            OutcomeResult::Dead => "dead",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub id: i64,
    pub signal_id: Option<i64>,
    pub mapping: Option<String>,
    pub person: Option<String>,
    pub connector: String,
    pub action: String,
    pub result: String,
    pub reason: Option<String>,
    pub recorded_at: i64,
}

impl Store {
    pub async fn record_trigger_event(&self, event: &TriggerEvent) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_trigger_event(&mut conn, event).await
    }

    /// Trigger events after `after_id`, oldest first: a feed a consumer can follow.
    pub async fn trigger_events(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<TriggerEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, mapping, person, campaign_id, program_id, old_status, new_status, \
             actor, occurred_at FROM trigger_events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TriggerEvent {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    mapping: r.try_get("mapping")?,
                    person: r.try_get("person")?,
                    campaign_id: r.try_get("campaign_id")?,
                    program_id: r.try_get("program_id")?,
                    old_status: r.try_get("old_status")?,
                    new_status: r.try_get("new_status")?,
                    actor: r.try_get("actor")?,
                    occurred_at: r.try_get("occurred_at")?,
                })
            })
            .collect()
    }

    pub async fn record_outcome(&self, outcome: &Outcome) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_outcome(&mut conn, outcome).await
    }

    /// Outcomes after `after_id`, optionally only those with one result.
    pub async fn outcomes(
        &self,
        result: Option<OutcomeResult>,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Outcome>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, signal_id, mapping, person, connector, action, result, reason, recorded_at \
             FROM outcomes WHERE id > $1 AND ($2 IS NULL OR result = $2) ORDER BY id LIMIT $3",
        )
        .bind(after_id)
        .bind(result.map(OutcomeResult::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Outcome {
                    id: r.try_get("id")?,
                    signal_id: r.try_get("signal_id")?,
                    mapping: r.try_get("mapping")?,
                    person: r.try_get("person")?,
                    connector: r.try_get("connector")?,
                    action: r.try_get("action")?,
                    result: r.try_get("result")?,
                    reason: r.try_get("reason")?,
                    recorded_at: r.try_get("recorded_at")?,
                })
            })
            .collect()
    }
}

pub(super) async fn insert_trigger_event(
    conn: &mut AnyConnection,
    event: &TriggerEvent,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO trigger_events (kind, mapping, person, campaign_id, program_id, old_status, \
         new_status, actor, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(&event.kind)
    .bind(&event.mapping)
    .bind(&event.person)
    .bind(&event.campaign_id)
    .bind(event.program_id)
    .bind(&event.old_status)
    .bind(&event.new_status)
    .bind(&event.actor)
    .bind(event.occurred_at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}

pub(super) async fn insert_outcome(
    conn: &mut AnyConnection,
    outcome: &Outcome,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO outcomes (signal_id, mapping, person, connector, action, result, reason, \
         recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(outcome.signal_id)
    .bind(&outcome.mapping)
    .bind(&outcome.person)
    .bind(&outcome.connector)
    .bind(&outcome.action)
    .bind(&outcome.result)
    .bind(&outcome.reason)
    .bind(outcome.recorded_at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}
