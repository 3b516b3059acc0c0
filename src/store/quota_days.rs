//! Each side's daily call count and pause as every replica reported them (`quota_days`), so
//! the daily budget and a pause hold across replicas and restarts.

use sqlx::Row;

use super::{Store, StoreError};

/// What one replica reports of a side, and what the shared row says back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaDay {
    /// The end of the quota day the count belongs to (epoch ms).
    pub day_ends_ms: i64,
    /// Reported: calls made since the last report. Answered: the day's total, every replica's.
    pub used: i64,
    /// 0 when not paused.
    pub paused_until_ms: i64,
    pub reason: Option<String>,
    /// When the pause was met (epoch ms; 0 when not paused or not known).
    pub paused_at_ms: i64,
    /// Answered: when an admin last lifted a pause of the side (0: never). A report of a pause
    /// met before then is not taken.
    pub lifted_at_ms: i64,
}

impl QuotaDay {
    /// A report of `used` calls and no pause, for the day ending at `day_ends_ms`.
    pub fn calls(day_ends_ms: i64, used: i64) -> Self {
        QuotaDay {
            day_ends_ms,
            used,
            paused_until_ms: 0,
            reason: None,
            paused_at_ms: 0,
            lifted_at_ms: 0,
        }
    }
}

impl Store {
    /// Adds `report.used` to the side's count for its day (a later day starts it afresh), keeps
    /// the later of the two pauses (a reported one only if it was met after the last lift), and
    /// answers the row as it now stands.
    pub async fn share_quota_day(
        &self,
        system: &str,
        report: &QuotaDay,
    ) -> Result<QuotaDay, StoreError> {
        // The reported pause wins when it ends later and was met after the last lift (a side
        // never lifted takes any, as from a replica from before lifts, which reports no time).
        let wins = "excluded.paused_until_ms > quota_days.paused_until_ms \
                    AND (quota_days.lifted_at_ms = 0 \
                         OR excluded.paused_at_ms > quota_days.lifted_at_ms)";
        let sql = format!(
            "INSERT INTO quota_days (system, day_ends_ms, used, paused_until_ms, reason, \
             paused_at_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (system) DO UPDATE SET \
             used = CASE WHEN quota_days.day_ends_ms >= excluded.day_ends_ms \
                 THEN quota_days.used + excluded.used ELSE excluded.used END, \
             day_ends_ms = CASE WHEN quota_days.day_ends_ms >= excluded.day_ends_ms \
                 THEN quota_days.day_ends_ms ELSE excluded.day_ends_ms END, \
             reason = CASE WHEN {wins} THEN excluded.reason ELSE quota_days.reason END, \
             paused_at_ms = CASE WHEN {wins} \
                 THEN excluded.paused_at_ms ELSE quota_days.paused_at_ms END, \
             paused_until_ms = CASE WHEN {wins} \
                 THEN excluded.paused_until_ms ELSE quota_days.paused_until_ms END"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(system)
            .bind(report.day_ends_ms)
            .bind(report.used)
            .bind(report.paused_until_ms)
            .bind(&report.reason)
            .bind(report.paused_at_ms)
            .execute(&self.pool)
            .await?;
        let row = sqlx::query(
            "SELECT day_ends_ms, used, paused_until_ms, reason, paused_at_ms, lifted_at_ms \
             FROM quota_days WHERE system = $1",
        )
        .bind(system)
        .fetch_one(&self.pool)
        .await?;
        Ok(QuotaDay {
            day_ends_ms: row.try_get(0)?,
            used: row.try_get(1)?,
            paused_until_ms: row.try_get(2)?,
            reason: row.try_get(3)?,
            paused_at_ms: row.try_get(4)?,
            lifted_at_ms: row.try_get(5)?,
        })
    }

    /// Lifts the side's pause at `now`: the shared row no longer holds it, and pauses replicas
    /// met before `now` are not taken from their reports again.
    pub async fn lift_pause(&self, system: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO quota_days (system, day_ends_ms, used, paused_until_ms, reason, \
             paused_at_ms, lifted_at_ms) VALUES ($1, 0, 0, 0, NULL, 0, $2) \
             ON CONFLICT (system) DO UPDATE SET paused_until_ms = 0, reason = NULL, \
             paused_at_ms = 0, lifted_at_ms = excluded.lifted_at_ms",
        )
        .bind(system)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
