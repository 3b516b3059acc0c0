//! Console sessions ended by signing out. A session is a signed cookie any replica accepts, so
//! signing out records its id here until the cookie would have expired anyway.

use super::{Store, StoreError};

impl Store {
    /// Records that the session `id` (valid until `expires_at`) signed out, and forgets the
    /// signed-out sessions that have expired by `now`.
    pub async fn sign_out_session(
        &self,
        id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM console_signouts WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO console_signouts (session_id, expires_at) VALUES ($1, $2) \
             ON CONFLICT (session_id) DO NOTHING",
        )
        .bind(id)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the session `id` signed out.
    pub async fn session_signed_out(&self, id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM console_signouts WHERE session_id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}
