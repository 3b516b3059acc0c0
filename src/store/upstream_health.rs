//! Each side's health as the replica calling it last saw it (`upstream_health`), so every
//! replica's admin status shows the same.

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// Keeps `health` (JSON) as what a replica saw of `system` at `now`.
    pub async fn save_upstream_health(
        &self,
        system: &str,
        health: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO upstream_health (system, health, written_at) VALUES ($1, $2, $3) \
             ON CONFLICT (system) DO UPDATE SET health = excluded.health, \
             written_at = excluded.written_at",
        )
        .bind(system)
        .bind(health)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The health last kept for `system` and when, if any replica kept one.
    pub async fn upstream_health(&self, system: &str) -> Result<Option<(String, i64)>, StoreError> {
        let row = sqlx::query("SELECT health, written_at FROM upstream_health WHERE system = $1")
            .bind(system)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }
}
