//! Operational events for subscribers about the sides: each pause announced once.

use crate::kinds::OperationalEvent;
use crate::store::{Journal, Notice, now_millis};

/// Tells subscribers (`side_paused`) of each side's pause, once per pause.
pub fn announce_pauses<'a>(
    journal: &mut Journal,
    sides: impl IntoIterator<Item = &'a crate::quota::SideQuota>,
) {
    let now = now_millis();
    for pause in sides.into_iter().filter_map(|side| side.unannounced(now)) {
        journal.notices.push(Notice {
            kind: OperationalEvent::SidePaused,
            key: format!("side:{}", pause.system),
            data: serde_json::json!({
                // `system`, as `/readyz` and the resume path name a side; `side` kept for
                // subscribers that read it already.
                "system": pause.system,
                "side": pause.system,
                "until_ms": pause.until_ms,
                "reason": pause.reason,
            }),
            at: now,
        });
    }
}
