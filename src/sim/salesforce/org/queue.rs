//! The outbound queue's entries, and the rule that fills it: a CampaignMember written by a
//! client allowed to send outbound messages queues one notification. Acknowledged
//! notifications are remembered for a while, so a test can have one delivered again.

use serde::Serialize;

use super::Org;
use crate::sim::salesforce::ids::prefix;
use crate::sim::salesforce::schema::Kind;

/// A notification waiting for delivery. It names the record, not its state: the state is read
/// when the message is sent, as Salesforce does.
#[derive(Debug, Clone, Serialize)]
pub struct Queued {
    pub notification_id: String,
    pub record_id: String,
    pub queued_ms: i64,
    pub attempts: u32,
    pub next_attempt_ms: i64,
    /// When a delivery round took it; `None` while it waits.
    pub sending_since_ms: Option<i64>,
    /// Set once a notification has been kept for a second delivery, so it duplicates only once.
    pub redelivered: bool,
}

/// A round that took a notification longer ago than this was abandoned (its task dropped
/// mid-send); the notification is free again. Twice the 60-second listener timeout.
const ABANDONED_AFTER_MS: i64 = 120_000;

impl Queued {
    /// Whether a delivery round is sending it now.
    pub fn is_sending(&self, now_ms: i64) -> bool {
        self.sending_since_ms
            .is_some_and(|since| now_ms - since < ABANDONED_AFTER_MS)
    }
}

/// A notification the listener acknowledged. Salesforce's delivery is at least once: it may
/// send an acknowledged notification again, with the same notification id.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Acknowledged {
    pub notification_id: String,
    pub record_id: String,
    /// When it was first queued: a redelivery still ends with the notification's 24 hours.
    #[serde(skip)]
    pub queued_ms: i64,
    pub acknowledged_at: String,
}

/// At most this many acknowledged notifications are remembered (the oldest go first), so a
/// benchmark's millions of deliveries do not grow the simulator without bound.
const ACKNOWLEDGED_KEPT: usize = 10_000;

impl Org {
    /// Remembers an acknowledged notification, forgetting those past `max_age_ms`.
    pub fn remember_acknowledged(&mut self, queued: &Queued, max_age_ms: i64) {
        let now = self.clock.now();
        self.acknowledged.retain(|a| {
            now - a.queued_ms <= max_age_ms && a.notification_id != queued.notification_id
        });
        if self.acknowledged.len() >= ACKNOWLEDGED_KEPT {
            self.acknowledged.remove(0);
        }
        self.acknowledged.push(Acknowledged {
            notification_id: queued.notification_id.clone(),
            record_id: queued.record_id.clone(),
            queued_ms: queued.queued_ms,
            acknowledged_at: crate::sim::salesforce::clock::format_z(now),
        });
    }

    /// Queues acknowledged notifications again, due now, with their own notification ids: the
    /// given ones (each must be remembered, else `Err` names the first that is not), or every
    /// remembered one when `ids` is empty. Answers the ids queued.
    pub fn redeliver(&mut self, ids: &[String]) -> Result<Vec<String>, String> {
        if let Some(unknown) = ids
            .iter()
            .find(|id| !self.acknowledged.iter().any(|a| &a.notification_id == *id))
        {
            return Err(unknown.clone());
        }
        let now = self.clock.now();
        let (again, kept): (Vec<Acknowledged>, Vec<Acknowledged>) =
            std::mem::take(&mut self.acknowledged)
                .into_iter()
                .partition(|a| ids.is_empty() || ids.contains(&a.notification_id));
        self.acknowledged = kept;
        let requeued = again.iter().map(|a| a.notification_id.clone()).collect();
        self.queue.extend(again.into_iter().map(|a| Queued {
            notification_id: a.notification_id,
            record_id: a.record_id,
            queued_ms: a.queued_ms,
            attempts: 0,
            next_attempt_ms: now,
            sending_since_ms: None,
            // Not duplicated once more by `duplicate_probability`: one repeat was asked for.
            redelivered: true,
        }));
        Ok(requeued)
    }

    pub(super) fn after_write(&mut self, kind: Kind, id: &str, sends: bool) {
        if kind == Kind::CampaignMember && sends && self.outbound_enabled {
            let notification_id = self.next_id(prefix::OUTBOUND_NOTIFICATION);
            let now = self.clock.now();
            self.queue.push(Queued {
                notification_id,
                record_id: id.to_owned(),
                queued_ms: now,
                attempts: 0,
                next_attempt_ms: now,
                sending_since_ms: None,
                redelivered: false,
            });
        }
    }
}
