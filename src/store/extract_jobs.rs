//! The Marketo bulk extract jobs this service has open, each with its owner and when that owner
//! last showed it was alive: a job left by a killed process is found and cancelled later.

use sqlx::Row;

use super::{Store, StoreError};

/// A job written down as open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenExtract {
    pub export_id: String,
    pub program_id: i64,
    pub owner: String,
    pub touched_at: i64,
}

impl Store {
    /// Writes down a job `owner` just created.
    pub async fn open_extract(
        &self,
        export_id: &str,
        program_id: i64,
        owner: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO extract_jobs (export_id, program_id, owner, created_at, touched_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (export_id) DO UPDATE SET \
             owner = excluded.owner, touched_at = excluded.touched_at",
        )
        .bind(export_id)
        .bind(program_id)
        .bind(owner)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The job's owner is still waiting for it.
    pub async fn touch_extract(&self, export_id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE extract_jobs SET touched_at = $1 WHERE export_id = $2")
            .bind(now)
            .bind(export_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The job needs nothing more (read, failed or cancelled).
    pub async fn close_extract(&self, export_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM extract_jobs WHERE export_id = $1")
            .bind(export_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Open jobs whose owner last showed itself before `touched_before`, oldest first.
    pub async fn extracts_left(&self, touched_before: i64) -> Result<Vec<OpenExtract>, StoreError> {
        let rows = sqlx::query(
            "SELECT export_id, program_id, owner, touched_at FROM extract_jobs \
             WHERE touched_at < $1 ORDER BY touched_at, export_id",
        )
        .bind(touched_before)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(OpenExtract {
                    export_id: row.try_get("export_id")?,
                    program_id: row.try_get("program_id")?,
                    owner: row.try_get("owner")?,
                    touched_at: row.try_get("touched_at")?,
                })
            })
            .collect()
    }
}
