//! Signal leases across workers: a round renewing its own, a leader taking over those another
//! worker stopped renewing, and a new leader waiting for the ones still held.

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// Signals another owner leases but stopped renewing become due now: called by the leader,
    /// so the work a dead leader had claimed does not wait out its lease. A lease that runs
    /// until `renewed_after` or later was renewed recently (a round renews every two seconds):
    /// its holder is alive, perhaps a leader that lost the lock mid-round, and taking
    /// its signals would write them twice; it is left to end or expire.
    pub async fn release_leases_of_others(
        &self,
        owner: &str,
        renewed_after: i64,
        now: i64,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE signals SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, \
             next_attempt_at = $2, updated_at = $2 WHERE state = 'leased' AND lease_owner <> $1 \
             AND lease_expires_at < $3",
        )
        .bind(owner)
        .bind(now)
        .bind(renewed_after)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Signals another worker holds leases on now (a replica that led before this one, still
    /// ending its round or cut off from the database).
    pub async fn leased_by_others(&self, owner: &str) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM signals WHERE state = 'leased' AND lease_owner <> $1",
        )
        .bind(owner)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Extends `owner`'s leases on these signals to `until` (a round still working on them);
    /// returns how many it still held.
    pub async fn extend_leases(
        &self,
        owner: &str,
        ids: &[i64],
        until: i64,
    ) -> Result<u64, StoreError> {
        let mut extended = 0;
        for chunk in ids.chunks(500) {
            let list: Vec<String> = (3..chunk.len() + 3).map(|i| format!("${i}")).collect();
            let sql = format!(
                "UPDATE signals SET lease_expires_at = $2 WHERE state = 'leased' AND lease_owner = $1 \
                 AND id IN ({})",
                list.join(", ")
            );
            // Only placeholders vary; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(owner)
                .bind(until);
            for id in chunk {
                query = query.bind(*id);
            }
            extended += query.execute(&self.pool).await?.rows_affected();
        }
        Ok(extended)
    }

    /// Hands back this owner's leases (a worker stopping before its round ended, or a round
    /// stopped by a lost lock or an error: nothing of it acts on them any more).
    pub async fn release_own_leases(&self, owner: &str, now: i64) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE signals SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, \
             next_attempt_at = $2, updated_at = $2 WHERE state = 'leased' AND lease_owner = $1",
        )
        .bind(owner)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }
}
