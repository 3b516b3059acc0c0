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
}

impl Store {
    /// Adds `report.used` to the side's count for its day (a later day starts it afresh), keeps
    /// the later of the two pauses, and answers the row as it now stands.
    pub async fn share_quota_day(
        &self,
        system: &str,
        report: &QuotaDay,
    ) -> Result<QuotaDay, StoreError> {
        sqlx::query(
            "INSERT INTO quota_days (system, day_ends_ms, used, paused_until_ms, reason) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (system) DO UPDATE SET \
             used = CASE WHEN quota_days.day_ends_ms >= excluded.day_ends_ms \
                 THEN quota_days.used + excluded.used ELSE excluded.used END, \
             day_ends_ms = CASE WHEN quota_days.day_ends_ms >= excluded.day_ends_ms \
                 THEN quota_days.day_ends_ms ELSE excluded.day_ends_ms END, \
             reason = CASE WHEN excluded.paused_until_ms > quota_days.paused_until_ms \
                 THEN excluded.reason ELSE quota_days.reason END, \
             paused_until_ms = CASE WHEN excluded.paused_until_ms > quota_days.paused_until_ms \
                 THEN excluded.paused_until_ms ELSE quota_days.paused_until_ms END",
        )
        .bind(system)
        .bind(report.day_ends_ms)
        .bind(report.used)
        .bind(report.paused_until_ms)
        .bind(&report.reason)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(
            "SELECT day_ends_ms, used, paused_until_ms, reason FROM quota_days WHERE system = $1",
        )
        .bind(system)
        .fetch_one(&self.pool)
        .await?;
        Ok(QuotaDay {
            day_ends_ms: row.try_get(0)?,
            used: row.try_get(1)?,
            paused_until_ms: row.try_get(2)?,
            reason: row.try_get(3)?,
        })
    }
}
