//! Durable positions of the change feeds (Marketo activity paging token, Salesforce
//! `SystemModstamp` and deleted-records times), one row per feed, shared by every replica.

use sqlx::Row;

use super::{Store, StoreError};

/// Where the Marketo activity feed resumes: a paging token.
pub const MARKETO_ACTIVITIES: &str = "marketo:activities";
/// Where the Salesforce member-changes query resumes: a `SystemModstamp` (epoch ms).
pub const SALESFORCE_CHANGES: &str = "salesforce:member_changes";
/// Where the deleted-records poll resumes (epoch ms).
pub const SALESFORCE_DELETED: &str = "salesforce:deleted";

impl Store {
    /// The stored position of `name`, or `None` before the feed's first pass.
    pub async fn cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT position FROM cursors WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("position")).transpose()?)
    }

    /// Stores where `name` resumes; called only after what was read before it is recorded.
    pub async fn set_cursor(&self, name: &str, position: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cursors (name, position, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(position)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A time cursor (epoch ms); an unreadable value counts as absent, with a warning.
    pub async fn time_cursor(&self, name: &str) -> Result<Option<i64>, StoreError> {
        let stored = self.cursor(name).await?;
        Ok(stored.and_then(|text| {
            let parsed = text.parse().ok();
            if parsed.is_none() {
                tracing::warn!(cursor = name, %text, "unreadable cursor; starting over");
            }
            parsed
        }))
    }
}
