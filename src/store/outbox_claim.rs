//! Claiming and ending outbox deliveries: a round's leases taken in one transaction, each
//! destination in its own batch size, and each attempt's end fenced by the lease that claimed it.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::outbox::{Attempt, Delivery};
use super::outbox_share::SubscriberShare;
use super::{Store, StoreError};

impl Store {
    /// Leases up to `limit` due deliveries until `now + lease_ms`: only the oldest pending one
    /// of each (destination, person), so a person's deliveries go out in order; none of a
    /// paused subscription.
    pub async fn claim_deliveries(
        &self,
        now: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.claim_deliveries_to(None, now, lease_ms, limit).await
    }

    /// As [`Store::claim_deliveries`], of one destination only when `destination` is given.
    /// The leases are taken in one transaction: one commit for the batch, not one per delivery.
    pub async fn claim_deliveries_to(
        &self,
        destination: Option<&str>,
        now: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut batches = self
            .claim_batches(&[(destination, limit, lease_ms)], now)
            .await?;
        Ok(batches.pop().unwrap_or_default())
    }

    /// Claims several batches at once, each `(destination, limit, lease_ms)` in its own size
    /// and lease (the delivery task's round: subscribers, custom activities, campaign
    /// requests), and leases them all in one transaction: either every batch is claimed or none
    /// is, so a failure part-way never leaves an earlier batch leased and unattempted until its
    /// lease runs out.
    pub async fn claim_batches(
        &self,
        batches: &[(Option<&str>, u32, i64)],
        now: i64,
    ) -> Result<Vec<Vec<Delivery>>, StoreError> {
        self.claim_round(batches, None, now).await
    }

    /// [`Store::claim_batches`], the subscribers' batch taken as `share` allows: no
    /// subscription past its share of the delivery slots (see [`SubscriberShare`]).
    pub async fn claim_round(
        &self,
        batches: &[(Option<&str>, u32, i64)],
        share: Option<&SubscriberShare>,
        now: i64,
    ) -> Result<Vec<Vec<Delivery>>, StoreError> {
        let mut found = Vec::with_capacity(batches.len());
        for (destination, limit, _) in batches {
            let share = share.filter(|_| *destination == Some(super::TO_SUBSCRIPTION));
            let Some(share) = share else {
                found.push(self.due_for_claim(*destination, now, *limit, None).await?);
                continue;
            };
            // Each subscription's oldest due, as many as the slots: one with a long queue does
            // not keep the others' out of the rows a round looks at.
            let slots = u32::try_from(share.slots).unwrap_or(u32::MAX);
            let rows = self
                .due_for_claim(*destination, now, *limit, Some(slots))
                .await?;
            let subscriptions = rows
                .iter()
                .map(|r| Ok(r.try_get::<Option<i64>, _>("subscription_id")?.unwrap_or(0)))
                .collect::<Result<Vec<i64>, StoreError>>()?;
            let mut rows: Vec<Option<AnyRow>> = rows.into_iter().map(Some).collect();
            let picked = share.pick(&subscriptions);
            found.push(picked.into_iter().filter_map(|i| rows[i].take()).collect());
        }
        if found.iter().all(Vec::is_empty) {
            return Ok(found.into_iter().map(|_| Vec::new()).collect());
        }
        let mut tx = self.begin_write().await?;
        let mut claimed = Vec::with_capacity(found.len());
        for (rows, (_, _, lease_ms)) in found.iter().zip(batches) {
            let lease_ms = *lease_ms;
            let mut batch = Vec::with_capacity(rows.len());
            for row in rows {
                if let Some(delivery) = lease(&mut tx, row, now, lease_ms).await? {
                    batch.push(delivery);
                }
            }
            claimed.push(batch);
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// The deliveries a claim would take now, oldest first, at most `each` of a subscription
    /// when given (read outside the leasing transaction, which then takes only those still
    /// unleased).
    async fn due_for_claim(
        &self,
        destination: Option<&str>,
        now: i64,
        limit: u32,
        each: Option<u32>,
    ) -> Result<Vec<AnyRow>, StoreError> {
        // Numbering each subscription's rows costs a pass over every due row: only the
        // subscribers' claim, which shares the slots, needs it.
        let (numbered, kept) = match each {
            Some(_) => (
                ", ROW_NUMBER() OVER (PARTITION BY o.subscription_id ORDER BY o.id) AS nth",
                "nth <= $4",
            ),
            None => ("", "$4 IS NULL"),
        };
        let sql = format!(
            "SELECT * FROM (SELECT o.id, o.destination, o.subscription_id, s.url, s.secret, \
             CASE WHEN s.previous_secret_until > $1 THEN s.previous_secret END AS previous_secret, \
             o.event_type, o.person, o.payload, o.attempts{numbered} FROM outbox o \
             LEFT JOIN subscriptions s ON s.id = o.subscription_id \
             WHERE o.state = 'pending' AND o.next_attempt_at <= $1 \
             AND ($3 IS NULL OR o.destination = $3) \
             AND (o.lease_expires_at IS NULL OR o.lease_expires_at <= $1) \
             AND (o.destination <> 'subscription' OR (s.paused = 0 \
             AND (s.throttled_until IS NULL OR s.throttled_until <= $1))) \
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.destination = o.destination \
               AND COALESCE(p.subscription_id, 0) = COALESCE(o.subscription_id, 0) \
               AND p.person = o.person AND p.state = 'pending' AND p.id < o.id)) due \
             WHERE {kept} ORDER BY id LIMIT $2"
        );
        // Only the two static fragments vary; every value is bound.
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(i64::from(limit))
            .bind(destination)
            .bind(each.map(i64::from))
            .fetch_all(&self.pool)
            .await?)
    }

    /// Whether `destination`'s due deliveries are ready to go together: the earliest has been
    /// due for `gather_ms`, or `full` of them are due (a whole call's worth).
    pub async fn gathered(
        &self,
        destination: &str,
        now: i64,
        gather_ms: i64,
        full: u32,
    ) -> Result<bool, StoreError> {
        // Only rows a claim could take: the head of each person's queue (a later change of a
        // person whose earlier one waits for its retry is not ready, whatever its age).
        let row = sqlx::query(
            "SELECT COUNT(*) AS due, MIN(next_attempt_at) AS earliest FROM (SELECT o.next_attempt_at \
             FROM outbox o WHERE o.destination = $1 AND o.state = 'pending' \
             AND o.next_attempt_at <= $2 \
             AND (o.lease_expires_at IS NULL OR o.lease_expires_at <= $2) \
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.destination = o.destination \
               AND COALESCE(p.subscription_id, 0) = COALESCE(o.subscription_id, 0) \
               AND p.person = o.person AND p.state = 'pending' AND p.id < o.id) \
             ORDER BY o.next_attempt_at LIMIT $3) due",
        )
        .bind(destination)
        .bind(now)
        .bind(i64::from(full))
        .fetch_one(&self.pool)
        .await?;
        let due: i64 = row.try_get("due")?;
        let earliest: Option<i64> = row.try_get("earliest")?;
        Ok(due >= i64::from(full) || earliest.is_some_and(|at| at <= now - gather_ms))
    }

    /// Whether any delivery to `destination` could be claimed now.
    pub async fn deliveries_due_to(&self, destination: &str, now: i64) -> Result<bool, StoreError> {
        let found = sqlx::query(
            "SELECT o.id FROM outbox o LEFT JOIN subscriptions s ON s.id = o.subscription_id \
             WHERE o.state = 'pending' AND o.next_attempt_at <= $1 AND o.destination = $2 \
             AND (o.lease_expires_at IS NULL OR o.lease_expires_at <= $1) \
             AND (o.destination <> 'subscription' OR (s.paused = 0 \
             AND (s.throttled_until IS NULL OR s.throttled_until <= $1))) LIMIT 1",
        )
        .bind(now)
        .bind(destination)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Records what an attempt came to and hands the lease back; `false` when the claim's
    /// lease had run out and another claim took the delivery (its result stands instead).
    pub async fn finish_delivery(
        &self,
        delivery: &Delivery,
        attempt: &Attempt,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        finish(&mut conn, delivery, attempt, now).await
    }

    /// [`Store::finish_delivery`] for a round's attempts, in one transaction (one commit, not
    /// one per delivery); whether each was recorded, in order.
    pub async fn finish_deliveries(
        &self,
        attempts: &[(&Delivery, Attempt)],
        now: i64,
    ) -> Result<Vec<bool>, StoreError> {
        if attempts.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let mut recorded = Vec::with_capacity(attempts.len());
        for (delivery, attempt) in attempts {
            recorded.push(finish(&mut tx, delivery, attempt, now).await?);
        }
        tx.commit().await?;
        Ok(recorded)
    }
}

/// Leases one found delivery until `now + lease_ms`; `None` when another replica took it
/// between the read and the lease.
async fn lease(
    conn: &mut AnyConnection,
    row: &AnyRow,
    now: i64,
    lease_ms: i64,
) -> Result<Option<Delivery>, StoreError> {
    let id: i64 = row.try_get("id")?;
    // Checked again as the read found it: another replica may have claimed, attempted and
    // rescheduled it since, and its attempt count is the one to go on from.
    let leased = sqlx::query(
        "UPDATE outbox SET lease_expires_at = $2, attempts = attempts + 1, updated_at = $3 \
         WHERE id = $1 AND state = 'pending' AND next_attempt_at <= $3 \
         AND (lease_expires_at IS NULL OR lease_expires_at <= $3) RETURNING attempts",
    )
    .bind(id)
    .bind(now + lease_ms)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(leased) = leased else {
        return Ok(None);
    };
    let payload: String = row.try_get("payload")?;
    let attempts: i64 = leased.try_get("attempts")?;
    Ok(Some(Delivery {
        id,
        destination: row.try_get("destination")?,
        subscription_id: row.try_get("subscription_id")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        previous_secret: row.try_get("previous_secret")?,
        event_type: row.try_get("event_type")?,
        person: row.try_get("person")?,
        payload: serde_json::from_str(&payload)?,
        attempts,
        lease_expires_at: now + lease_ms,
    }))
}

/// One attempt's end, fenced by the claim's lease.
async fn finish(
    conn: &mut AnyConnection,
    delivery: &Delivery,
    attempt: &Attempt,
    now: i64,
) -> Result<bool, StoreError> {
    let (state, at, error, untried) = match attempt {
        Attempt::Delivered => ("delivered", None, None, 0_i32),
        Attempt::Retry { at, error } => ("pending", Some(*at), Some(error.clone()), 0),
        Attempt::Dead { reason } => ("dead", None, Some(reason.clone()), 0),
        Attempt::Skipped { reason } => ("skipped", None, Some(reason.clone()), 1),
        Attempt::Postponed { until, reason } => (
            "pending",
            Some(*until),
            Some(format!("{}: {reason}", super::journal::POSTPONED)),
            1,
        ),
    };
    // A skip or a postponement is decided before any call reaches the destination: the
    // claim's count of it is taken back, so the row shows only the tries that were made.
    let result = sqlx::query(
        "UPDATE outbox SET state = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
         last_error = $4, lease_expires_at = NULL, updated_at = $5, \
         attempts = CASE WHEN attempts >= $7 THEN attempts - $7 ELSE attempts END \
         WHERE id = $1 AND state = 'pending' AND lease_expires_at = $6",
    )
    .bind(delivery.id)
    .bind(state)
    .bind(at)
    .bind(error)
    .bind(now)
    .bind(delivery.lease_expires_at)
    .bind(i64::from(untried))
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}
