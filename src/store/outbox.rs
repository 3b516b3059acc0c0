//! The outbox: one row per event and destination (a subscription, or the person's custom
//! activity in Marketo), written in the same transaction as the event and delivered at least
//! once, in order per person and destination, retried, dead with a reason, replayable.

use serde::Serialize;
use serde_json::Value;
use sqlx::{AnyConnection, Row};

use super::{IdentityRow, Store, StoreError, TriggerEvent};
use crate::kinds::OperationalEvent;

/// Outbox `destination` of a subscription's deliveries.
pub const TO_SUBSCRIPTION: &str = "subscription";
/// Outbox `destination` of custom activities posted on the person in Marketo.
pub const TO_MARKETO_ACTIVITY: &str = "marketo_activity";
/// Outbox `destination` of Request Campaign calls a mapping asks for.
pub const TO_MARKETO_REQUEST: &str = "marketo_request";

/// One queued delivery, as the delivery task claims it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub destination: String,
    pub subscription_id: Option<i64>,
    /// The subscription's URL and signing secret (subscriptions only).
    pub url: Option<String>,
    pub secret: Option<String>,
    /// The secret a rotation replaced, while it still signs beside the new one.
    pub previous_secret: Option<String>,
    pub event_type: String,
    pub person: String,
    pub payload: Value,
    /// Including this attempt.
    pub attempts: i64,
    /// When this claim's lease ends: also the claim's token, so only its holder records the
    /// attempt (a replica that took an expired lease over makes the older claim's result moot).
    pub lease_expires_at: i64,
}

/// One destination's deliveries: a subscription's, or Marketo's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queue<'a> {
    pub destination: &'a str,
    pub subscription_id: Option<i64>,
}

impl Queue<'_> {
    pub fn subscription(id: i64) -> Queue<'static> {
        Queue {
            destination: TO_SUBSCRIPTION,
            subscription_id: Some(id),
        }
    }
}

/// What a delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    Retry {
        at: i64,
        error: String,
    },
    Dead {
        reason: String,
    },
    /// Nothing to send (the configuration does not ask for it), with the reason.
    Skipped {
        reason: String,
    },
    /// Not tried: the side it goes to is paused (its daily quota, refused credentials) until
    /// `until`; it waits without using an attempt, as a postponed signal does, and resuming
    /// the side makes it due at once.
    Postponed {
        until: i64,
        reason: String,
    },
}

/// One destination's deliveries waiting and given up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutboxCounts {
    pub pending: i64,
    pub dead: i64,
}

/// A delivery as operators list it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub event_type: String,
    pub person: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub payload: Value,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An operational event for subscribers; `key` orders it like a person does a trigger event
/// (e.g. `mapping:webinar`, `signal:42`).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: OperationalEvent,
    pub key: String,
    pub data: Value,
    pub at: i64,
}

/// Queues a trigger event, its person named as `who` says, for its subscribers (in the event's
/// transaction).
pub(super) async fn enqueue_event(
    conn: &mut AnyConnection,
    id: i64,
    event: &TriggerEvent,
    who: Option<&IdentityRow>,
    now: i64,
) -> Result<(), StoreError> {
    let payload = trigger_payload(id, event, who);
    enqueue_for_subscribers(conn, event.kind.as_str(), &event.person, &payload, now).await?;
    // Whether Marketo gets it is the delivery task's decision, from the configuration; a
    // flow action's program twin it never gets.
    if event.marketo_twin {
        return Ok(());
    }
    for destination in [TO_MARKETO_ACTIVITY, TO_MARKETO_REQUEST] {
        sqlx::query(
            "INSERT INTO outbox (destination, event_type, person, payload, state, attempts, \
             next_attempt_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $5)",
        )
        .bind(destination)
        .bind(event.kind.as_str())
        .bind(&event.person)
        .bind(payload.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Queues an operational event for its subscribers (in the caller's transaction).
pub(super) async fn enqueue_notice(
    conn: &mut AnyConnection,
    notice: &Notice,
    now: i64,
) -> Result<(), StoreError> {
    let kind = notice.kind.as_str();
    let payload = envelope(kind, notice.at, notice.data.clone());
    enqueue_for_subscribers(conn, kind, &notice.key, &payload, now).await?;
    Ok(())
}

/// The person an event is about, as the event's transaction sees them.
pub(super) async fn identity_of(
    conn: &mut AnyConnection,
    person: &str,
) -> Result<Option<IdentityRow>, StoreError> {
    let Ok(id) = person.parse::<i64>() else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT id, email, sf_lead_id, sf_contact_id, mkto_lead_id FROM identities WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref()
        .map(super::mirror::identity_from_row)
        .transpose()
}

/// The body every destination receives for a trigger event, in the Standard Webhooks shape:
/// the person by their internal key and, so a subscriber need not ask, by e-mail and by the
/// ids each system knows them by (null where not known).
pub fn trigger_payload(id: i64, event: &TriggerEvent, who: Option<&IdentityRow>) -> Value {
    let data = serde_json::json!({
        "event_id": id,
        "mapping": event.mapping,
        "person": event.person,
        "email": who.and_then(|w| w.email.clone()),
        "marketo_lead_id": who.and_then(|w| w.mkto_lead_id),
        "salesforce_lead_id": who.and_then(|w| w.sf_lead_id.clone()),
        "salesforce_contact_id": who.and_then(|w| w.sf_contact_id.clone()),
        "campaign_id": event.campaign_id,
        "program_id": event.program_id,
        "old_status": event.old_status,
        "new_status": event.new_status,
        "actor": event.actor,
        "occurred_at": event.occurred_at,
    });
    envelope(event.kind.as_str(), event.occurred_at, data)
}

/// `{type, timestamp, data}`: the Standard Webhooks payload structure.
pub fn envelope(event_type: &str, at_millis: i64, data: Value) -> Value {
    let timestamp = chrono::DateTime::from_timestamp_millis(at_millis)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    serde_json::json!({ "type": event_type, "timestamp": timestamp, "data": data })
}

/// Queues `payload` for every subscription that wants `event_type` (paused ones too: they get
/// it when resumed). Runs inside the caller's transaction.
pub(super) async fn enqueue_for_subscribers(
    conn: &mut AnyConnection,
    event_type: &str,
    person: &str,
    payload: &Value,
    now: i64,
) -> Result<u64, StoreError> {
    let result = sqlx::query(
        "INSERT INTO outbox (destination, subscription_id, event_type, person, payload, state, \
         attempts, next_attempt_at, created_at, updated_at) \
         SELECT $1, id, $2, $3, $4, 'pending', 0, $5, $5, $5 FROM subscriptions \
         WHERE event_types LIKE $6 ORDER BY id",
    )
    .bind(TO_SUBSCRIPTION)
    .bind(event_type)
    .bind(person)
    .bind(payload.to_string())
    .bind(now)
    .bind(format!("%,{event_type},%"))
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}

impl Store {
    /// Queues an operational event for its subscribers on its own (a pass outside a round,
    /// e.g. a side paused on quota).
    pub async fn record_notice(&self, notice: &Notice, now: i64) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        enqueue_notice(&mut conn, notice, now).await
    }

    /// Deletes deliveries that ended (delivered, or skipped with their reason) before `before`,
    /// so the outbox does not grow without bound; dead ones stay until replayed.
    pub async fn purge_delivered(&self, before: i64) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "DELETE FROM outbox WHERE state IN ('delivered', 'skipped') AND updated_at < $1",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Deliveries waiting (`pending`) and given up (`dead`), per destination
    /// (`marketo_activity`, `marketo_request`, `subscription`); a destination with neither is
    /// left out.
    pub async fn outbox_counts(
        &self,
    ) -> Result<std::collections::BTreeMap<String, OutboxCounts>, StoreError> {
        let rows = sqlx::query(
            "SELECT destination, state, COUNT(*) AS n FROM outbox              WHERE state IN ('pending', 'dead') GROUP BY destination, state",
        )
        .fetch_all(&self.pool)
        .await?;
        // Every destination, with zeros when none waits or died: a dashboard reads one shape.
        let mut counts: std::collections::BTreeMap<String, OutboxCounts> =
            [TO_MARKETO_ACTIVITY, TO_MARKETO_REQUEST, TO_SUBSCRIPTION]
                .into_iter()
                .map(|d| (d.to_string(), OutboxCounts::default()))
                .collect();
        for row in rows {
            let destination: String = row.try_get("destination")?;
            let state: String = row.try_get("state")?;
            let n: i64 = row.try_get("n")?;
            let entry = counts.entry(destination).or_default();
            match state.as_str() {
                "dead" => entry.dead = n,
                _ => entry.pending = n,
            }
        }
        Ok(counts)
    }

    /// A queue's deliveries after `after_id`, optionally in one state.
    pub async fn deliveries(
        &self,
        queue: Queue<'_>,
        state: Option<&str>,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, event_type, person, state, attempts, last_error, payload, created_at, \
             updated_at FROM outbox WHERE destination = $5 \
             AND ($1 IS NULL OR subscription_id = $1) \
             AND ($2 IS NULL OR state = $2) AND id > $3 ORDER BY id LIMIT $4",
        )
        .bind(queue.subscription_id)
        .bind(state)
        .bind(after_id)
        .bind(i64::from(limit))
        .bind(queue.destination)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let payload: String = r.try_get("payload")?;
                Ok(DeliveryRow {
                    id: r.try_get("id")?,
                    event_type: r.try_get("event_type")?,
                    person: r.try_get("person")?,
                    state: r.try_get("state")?,
                    attempts: r.try_get("attempts")?,
                    last_error: r.try_get("last_error")?,
                    payload: serde_json::from_str(&payload)?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Makes a queue's dead deliveries (or the one given) due now with a fresh retry
    /// schedule; returns how many.
    pub async fn replay_deliveries(
        &self,
        queue: Queue<'_>,
        only: Option<i64>,
        now: i64,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $3, \
             last_error = NULL, updated_at = $3 WHERE ($1 IS NULL OR subscription_id = $1) \
             AND ($2 IS NULL OR id = $2) AND destination = $4 AND state = 'dead'",
        )
        .bind(queue.subscription_id)
        .bind(only)
        .bind(now)
        .bind(queue.destination)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }
}
