//! How many changes of each kind each mapping saw since a time: added, status changed and
//! removed (from the trigger events), and failed, skipped, echoed, overruled and diverged (from the
//! outcomes, each failure counted once and not after the person moved on).

use sqlx::Row;

use super::queries::ChangeCounts;
use super::{Store, StoreError};

impl Store {
    /// Changes since `since` per mapping: `added`, `status_changed`, `removed` (trigger events
    /// on either side), `failed`, `skipped`, `echoed` (skipped as an echo of our own write or a
    /// repeat), `overruled` (a change the other side's, changed too, won over) and `diverged`
    /// (outcomes). A change that ended dead and was then replayed (any
    /// later outcome of its signal: applied, skipped, diverged, or dead again, which counts in
    /// its place) no longer counts as failed, nor does a campaign settings write a later pass
    /// applied or found in sync (one that keeps failing counts once, its last pass); a person's
    /// failed or diverged change no longer counts once a later write for the same person and
    /// mapping applied or found both sides in sync, or Marketo already had the status (the
    /// person has moved on: a second signal of the same change, such as the feed's beside the
    /// webhook's, stays dead without anything left to do).
    pub async fn change_counts(&self, since: i64) -> Result<ChangeCounts, StoreError> {
        let mut counts = ChangeCounts::new();
        // A flow action on a mapped campaign writes both sides: one change, two events. Its
        // program event is the only one Marketo is the actor of on the program side (Marketo's
        // own changes are written to the campaign), so the campaign's counts it.
        let events = sqlx::query(
            "SELECT COALESCE(mapping, ''), kind, COUNT(*) FROM trigger_events \
             WHERE occurred_at >= $1 AND NOT (kind LIKE '%program%' AND actor = 'marketo') \
             GROUP BY mapping, kind",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        for r in &events {
            let kind: String = r.try_get(1)?;
            let bucket = if kind.starts_with("added") {
                "added"
            } else if kind.starts_with("removed") {
                "removed"
            } else {
                "status_changed"
            };
            *counts
                .entry(r.try_get(0)?)
                .or_default()
                .entry(bucket.into())
                .or_default() += r.try_get::<i64, _>(2)?;
        }
        // An echo (our own write coming back, or a repeat) is the sync working, not a change
        // that was skipped: it gets its own count. A failure counts once: not when a later try
        // of the same signal ended otherwise, nor when the same write for the same person failed
        // the same way again (one change brought by two signals: an outbound message and the
        // change feed), nor once the person's later write landed.
        let outcomes = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COALESCE(mapping, ''), \
             CASE WHEN result = 'skipped' AND reason IN ($2, $3) THEN 'echoed' \
             WHEN result = 'skipped' AND reason LIKE $4 THEN 'overruled' ELSE result END, \
             COUNT(*) FROM \
             (SELECT o.result, o.reason, o.recorded_at, {} WHERE o.recorded_at >= $1 \
             AND o.result IN ('dead', 'skipped', 'diverged') \
             AND NOT (o.result = 'dead' AND o.signal_id IS NOT NULL AND EXISTS \
               (SELECT 1 FROM outcomes l WHERE l.signal_id = o.signal_id AND l.id > o.id)) \
             AND NOT (o.result = 'dead' AND o.action = 'campaign_settings' AND EXISTS \
               (SELECT 1 FROM outcomes l WHERE l.mapping = o.mapping \
                AND l.action = 'campaign_settings' AND l.id > o.id \
                AND l.result IN ('applied', 'dead'))) \
             AND NOT (o.result = 'dead' AND o.person IS NOT NULL AND EXISTS \
               (SELECT 1 FROM outcomes l WHERE l.person = o.person AND l.mapping = o.mapping \
                AND l.connector = o.connector AND l.action = o.action AND l.result = 'dead' \
                AND l.reason = o.reason AND l.id > o.id)) \
             AND NOT (o.result IN ('dead', 'diverged') AND o.person IS NOT NULL AND EXISTS \
               (SELECT 1 FROM outcomes l WHERE l.person = o.person AND l.mapping = o.mapping \
                AND l.id > o.id AND {}))) \
             named GROUP BY 1, 2",
            super::people::NAMED,
            super::superseded::landed("l")
        )))
        .bind(since)
        .bind(crate::sync::ECHO)
        .bind(crate::sync::ECHO_BEFORE)
        .bind(format!("{}:%", crate::sync::OVERRULED))
        .fetch_all(&self.pool)
        .await?;
        for r in &outcomes {
            let result: String = r.try_get(1)?;
            let bucket = match result.as_str() {
                "dead" => "failed",
                "diverged" => "diverged",
                "echoed" => "echoed",
                "overruled" => "overruled",
                _ => "skipped",
            };
            *counts
                .entry(r.try_get(0)?)
                .or_default()
                .entry(bucket.into())
                .or_default() += r.try_get::<i64, _>(2)?;
        }
        Ok(counts)
    }
}
