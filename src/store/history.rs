//! What happened: trigger events (the feed) and per-change outcomes (applied, skipped,
//! diverged, dead).

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::{IdentityRow, Store, StoreError};
use crate::kinds::{Action, Actor, Connector, OutcomeResult, TriggerKind};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct TriggerEvent {
    pub id: i64,
    pub kind: TriggerKind,
    pub mapping: Option<String>,
    pub person: String,
    pub campaign_id: Option<String>,
    pub program_id: Option<i64>,
    pub old_status: Option<String>,
    pub new_status: Option<String>,
    /// Who caused it.
    pub actor: Actor,
    pub occurred_at: i64,
    /// The program side of a Marketo flow action on a mapped campaign: subscribers get it, but
    /// Marketo is not sent it as a custom activity or campaign request, having the campaign
    /// event's already (one change, one trigger for a marketer). Not stored.
    #[serde(skip)]
    #[sqlx(skip)]
    pub marketo_twin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Outcome {
    pub id: i64,
    pub signal_id: Option<i64>,
    pub mapping: Option<String>,
    pub person: Option<String>,
    pub connector: Connector,
    pub action: Action,
    pub result: OutcomeResult,
    pub reason: Option<String>,
    pub recorded_at: i64,
}

impl Store {
    pub async fn record_trigger_event(&self, event: &TriggerEvent) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let who = super::outbox::identity_of(&mut conn, &event.person).await?;
        insert_trigger_event(&mut conn, event, who.as_ref()).await
    }

    /// Trigger events after `after_id`, oldest first: a feed a consumer can follow.
    pub async fn trigger_events(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<TriggerEvent>, StoreError> {
        Ok(sqlx::query_as::<_, TriggerEvent>(
            "SELECT id, kind, mapping, person, campaign_id, program_id, old_status, new_status, \
             actor, occurred_at FROM trigger_events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn record_outcome(&self, outcome: &Outcome) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_outcome(&mut conn, outcome).await
    }

    /// Whether the signal's own handling has already applied a Salesforce write (an earlier
    /// attempt of a flow action that wrote the campaign before it failed).
    pub async fn signal_wrote_salesforce(&self, signal_id: i64) -> Result<bool, StoreError> {
        let found = sqlx::query(
            "SELECT 1 FROM outcomes WHERE signal_id = $1 AND connector = $2 AND result = $3 \
             LIMIT 1",
        )
        .bind(signal_id)
        .bind(Connector::Salesforce.as_str())
        .bind(OutcomeResult::Applied.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Outcomes after `after_id`, optionally only those with one result.
    pub async fn outcomes(
        &self,
        result: Option<OutcomeResult>,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Outcome>, StoreError> {
        Ok(sqlx::query_as::<_, Outcome>(
            "SELECT id, signal_id, mapping, person, connector, action, result, reason, recorded_at \
             FROM outcomes WHERE id > $1 AND ($2 IS NULL OR result = $2) ORDER BY id LIMIT $3",
        )
        .bind(after_id)
        .bind(result.map(OutcomeResult::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Records a trigger event with its person named as `who` says (they are now), kept with it
/// (see `trigger_events_named`).
pub(super) async fn insert_trigger_event(
    conn: &mut AnyConnection,
    event: &TriggerEvent,
    who: Option<&IdentityRow>,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO trigger_events (kind, mapping, person, campaign_id, program_id, old_status, \
         new_status, actor, occurred_at, named, email, mkto_lead_id, sf_lead_id, sf_contact_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $12, $13) RETURNING id",
    )
    .bind(event.kind.as_str())
    .bind(&event.mapping)
    .bind(&event.person)
    .bind(&event.campaign_id)
    .bind(event.program_id)
    .bind(&event.old_status)
    .bind(&event.new_status)
    .bind(event.actor.as_str())
    .bind(event.occurred_at)
    .bind(who.and_then(|w| w.email.as_deref()))
    .bind(who.and_then(|w| w.mkto_lead_id))
    .bind(who.and_then(|w| w.sf_lead_id.as_deref()))
    .bind(who.and_then(|w| w.sf_contact_id.as_deref()))
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
    .bind(outcome.connector.as_str())
    .bind(outcome.action.as_str())
    .bind(outcome.result.as_str())
    .bind(&outcome.reason)
    .bind(outcome.recorded_at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}

impl Store {
    /// Whether any outcome names `mapping` (one since removed from the configuration keeps its
    /// history).
    pub async fn has_outcomes(&self, mapping: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT id FROM outcomes WHERE mapping = $1 LIMIT 1")
            .bind(mapping)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Whether a reconciliation of `mapping` recorded an outcome saying `reason` already (a
    /// warning it finds on every run is recorded once).
    pub async fn has_reconcile_outcome(
        &self,
        mapping: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT id FROM outcomes WHERE mapping = $1 AND action = 'reconcile' AND reason = $2 \
             LIMIT 1",
        )
        .bind(mapping)
        .bind(reason)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }
}
