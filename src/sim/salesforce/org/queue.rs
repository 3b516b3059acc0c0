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
    pub in_flight: bool,
    /// Set once a notification has been kept for a second delivery, so it duplicates only once.
    pub redelivered: bool,
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
                in_flight: false,
                redelivered: false,
            });
        }
    }
}
