//! Refused webhooks in the log: the first of each second with its reason, the others of that
//! second counted on the next line told, so a template sending thousands of bad calls a minute
//! leaves a readable log (and costs each request no log line).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::http::error::ApiError;
use crate::store::now_millis;

/// When the last refusal was told (epoch ms).
static TOLD_AT: AtomicI64 = AtomicI64::new(i64::MIN);
/// Refusals since then that were not told.
static UNTOLD: AtomicU64 = AtomicU64::new(0);

/// At most one line a second.
const EVERY_MS: i64 = 1_000;

/// Logs `error` at WARN unless a refusal was told less than a second ago (then counted).
pub fn told(error: &ApiError) {
    let now = now_millis();
    let last = TOLD_AT.load(Ordering::Relaxed);
    let due = now.saturating_sub(last) >= EVERY_MS;
    if !due
        || TOLD_AT
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        UNTOLD.fetch_add(1, Ordering::Relaxed);
        return;
    }
    match UNTOLD.swap(0, Ordering::Relaxed) {
        0 => tracing::warn!(%error, "marketo webhook refused"),
        more => {
            tracing::warn!(%error, refused_untold = more, "marketo webhook refused (and {more} more since the last told)")
        }
    }
}
