//! Subscriptions of other systems to events: a URL, the event types it wants, its signing
//! secret and whether its deliveries are paused. Deliveries themselves are in the outbox.

use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscription {
    pub id: i64,
    pub url: String,
    pub event_types: Vec<String>,
    pub paused: bool,
    /// Why it is paused, when it is: the subscriber answered 410 Gone, or an operator paused it.
    pub pause_reason: Option<String>,
    /// Until when the subscriber asked to be left alone (429 or 503 with `Retry-After`);
    /// none of its deliveries goes before then.
    pub throttled_until: Option<i64>,
    /// Until when the secret a rotation replaced still signs beside the new one (none once
    /// that time has passed, or when the rotation kept no overlap).
    pub previous_secret_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a console form's rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The secret was replaced by the one given.
    Rotated,
    /// This form rotated the secret already: the secret it set, and until when the one it
    /// replaced signs beside it.
    Already {
        secret: String,
        previous_until: Option<i64>,
    },
    /// No such subscription.
    Missing,
}

/// A subscription's URL as listings show it: a password in it (basic auth for the
/// subscriber) is masked; deliveries use the stored URL.
fn shown_url(stored: &str) -> String {
    match reqwest::Url::parse(stored) {
        Ok(mut url) if url.password().is_some() => {
            // Only a URL that cannot hold a password refuses one, and this one holds one.
            let _ = url.set_password(Some("****"));
            url.to_string()
        }
        _ => stored.to_string(),
    }
}

/// `,a,b,`: one `LIKE '%,type,%'` finds a type's subscribers on both databases.
fn joined(types: &[String]) -> String {
    format!(",{},", types.join(","))
}

fn split(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// The columns a subscription is read with (never its secrets).
macro_rules! columns {
    () => {
        "id, url, event_types, paused, pause_reason, throttled_until, previous_secret_until, \
         created_at, updated_at"
    };
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<Subscription, StoreError> {
    let types: String = row.try_get("event_types")?;
    let paused: i64 = row.try_get("paused")?;
    Ok(Subscription {
        id: row.try_get("id")?,
        url: shown_url(&row.try_get::<String, _>("url")?),
        event_types: split(&types),
        paused: paused != 0,
        pause_reason: row
            .try_get::<Option<String>, _>("pause_reason")?
            .filter(|_| paused != 0),
        // A wait the subscriber asked for that has passed holds nothing back any more.
        throttled_until: row
            .try_get::<Option<i64>, _>("throttled_until")?
            .filter(|&until| until > super::now_millis()),
        previous_secret_until: row
            .try_get::<Option<i64>, _>("previous_secret_until")?
            .filter(|&until| until > super::now_millis()),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// Stores a subscription; the event types are checked by the caller.
    pub async fn create_subscription(
        &self,
        url: &str,
        event_types: &[String],
        secret: &str,
        now: i64,
    ) -> Result<Subscription, StoreError> {
        let row = sqlx::query(concat!(
            "INSERT INTO subscriptions (url, event_types, secret, paused, created_at, \
                 updated_at) VALUES ($1, $2, $3, 0, $4, $4) RETURNING ",
            columns!()
        ))
        .bind(url)
        .bind(joined(event_types))
        .bind(secret)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        from_row(&row)
    }

    /// As [`Store::create_subscription`], once per `form_id`: a form sent again answers the
    /// subscription it created, and `false`.
    pub async fn create_subscription_once(
        &self,
        url: &str,
        event_types: &[String],
        secret: &str,
        form_id: &str,
        now: i64,
    ) -> Result<(Subscription, bool), StoreError> {
        let row = sqlx::query(concat!(
            "INSERT INTO subscriptions \
                 (url, event_types, secret, paused, created_at, updated_at, form_id) \
                 VALUES ($1, $2, $3, 0, $4, $4, $5) ON CONFLICT DO NOTHING RETURNING ",
            columns!()
        ))
        .bind(url)
        .bind(joined(event_types))
        .bind(secret)
        .bind(now)
        .bind(form_id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            return Ok((from_row(&row)?, true));
        }
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM subscriptions WHERE form_id = $1"
        ))
        .bind(form_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((from_row(&row)?, false))
    }

    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM subscriptions ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn subscription(&self, id: i64) -> Result<Option<Subscription>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM subscriptions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Pauses a subscription's deliveries, saying why (`Some`), or resumes them (`None`);
    /// events keep being queued meanwhile. False when there is no such subscription. Resuming
    /// also lifts a wait the subscriber asked for (`Retry-After`, up to an hour): an operator
    /// resuming it says it is ready, so its queue is due at once.
    pub async fn set_subscription_paused(
        &self,
        id: i64,
        pause: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let paused = pause.is_some();
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "UPDATE subscriptions SET paused = $2, updated_at = $3, \
             throttled_until = CASE WHEN $2 = 0 THEN NULL ELSE throttled_until END, \
             pause_reason = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(i64::from(paused))
        .bind(now)
        .bind(pause)
        .execute(&mut *tx)
        .await?;
        if !paused {
            sqlx::query(
                "UPDATE outbox SET next_attempt_at = $2 WHERE subscription_id = $1 \
                 AND state = 'pending' AND next_attempt_at > $2",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(result.rows_affected() == 1)
    }

    /// Signs with `secret` from now on; the secret it replaces keeps signing beside it until
    /// `previous_until` (none: at once no more). False when there is no such subscription.
    pub async fn rotate_subscription_secret(
        &self,
        id: i64,
        secret: &str,
        previous_until: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE subscriptions SET \
             previous_secret = CASE WHEN $3 IS NULL THEN NULL ELSE secret END, \
             previous_secret_until = $3, secret = $2, rotation_form_id = NULL, updated_at = $4 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(secret)
        .bind(previous_until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// [`Store::rotate_subscription_secret`] for the console form `form_id`: the form sent
    /// again rotates nothing more and answers the secret its first sending set, as long as no
    /// other rotation replaced it.
    pub async fn rotate_subscription_secret_once(
        &self,
        id: i64,
        secret: &str,
        previous_until: i64,
        form_id: &str,
        now: i64,
    ) -> Result<Rotation, StoreError> {
        let result = sqlx::query(
            "UPDATE subscriptions SET previous_secret = secret, previous_secret_until = $3, \
             secret = $2, rotation_form_id = $5, updated_at = $4 \
             WHERE id = $1 AND (rotation_form_id IS NULL OR rotation_form_id <> $5)",
        )
        .bind(id)
        .bind(secret)
        .bind(previous_until)
        .bind(now)
        .bind(form_id)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 1 {
            return Ok(Rotation::Rotated);
        }
        let row = sqlx::query(
            "SELECT secret, previous_secret_until FROM subscriptions \
             WHERE id = $1 AND rotation_form_id = $2",
        )
        .bind(id)
        .bind(form_id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Rotation::Already {
                secret: row.try_get(0)?,
                previous_until: row.try_get(1)?,
            }),
            None => Ok(Rotation::Missing),
        }
    }

    /// Deletes a subscription and every delivery queued for it; false when there was none.
    pub async fn delete_subscription(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM outbox WHERE destination = 'subscription' AND subscription_id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let result = sqlx::query("DELETE FROM subscriptions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(result.rows_affected() == 1)
    }
}

impl Store {
    /// Claims none of a subscription's deliveries before `until` (a subscriber that answered
    /// 429 or 503 with `Retry-After`), using no attempt; a later `until` wins.
    pub async fn throttle_subscription(
        &self,
        subscription: i64,
        until: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE subscriptions SET throttled_until = $2, updated_at = $3 \
             WHERE id = $1 AND (throttled_until IS NULL OR throttled_until < $2)",
        )
        .bind(subscription)
        .bind(until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_survive_the_stored_form() {
        let types = vec!["added_to_campaign".to_string(), "signal_dead".to_string()];
        assert_eq!(joined(&types), ",added_to_campaign,signal_dead,");
        assert_eq!(split(&joined(&types)), types);
    }
}
