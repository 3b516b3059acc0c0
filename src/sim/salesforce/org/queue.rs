//! The outbound queue's entries, and the rule that fills it: a CampaignMember written by a
//! client allowed to send outbound messages queues one notification.

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

impl Org {
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
