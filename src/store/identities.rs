//! Identity writes as merging upserts: a person the table knows by any key is never given a
//! second row; when a new key links two rows, they become one (and their mirror rows follow).

use sqlx::{AnyConnection, Row};

use super::mirror::{IdentityRow, fold_email, identity_from_row};
use super::{Store, StoreError};

/// How many times a merge is retried when a concurrent writer took a key first.
const ATTEMPTS: usize = 3;

/// The transaction-level advisory lock that takes identity merges in turn on PostgreSQL (a key
/// of its own: the worker's session lock uses another).
const IDENTITY_MERGE_LOCK: i64 = 0x0063_736d_6572_6765;

impl Store {
    /// Finds the person holding any of these keys (Marketo lead, then Contact, then Lead, then
    /// e-mail), adds the keys it lacks and saves it merged: what every path (webhook, outbound
    /// message, reconciliation, flow action) does to learn who someone is.
    pub async fn link_identity(
        &self,
        mkto_lead: Option<i64>,
        sf_person: Option<&str>,
        email: Option<&str>,
        now: i64,
    ) -> Result<IdentityRow, StoreError> {
        let email = email.filter(|e| !e.trim().is_empty());
        let mut found = self.find_identity(mkto_lead, sf_person, email).await?;
        if found
            .as_ref()
            .is_some_and(|row| holds_other_keys(row, mkto_lead, sf_person))
        {
            // Found by the e-mail alone, holding another person's keys: someone else sharing
            // the address (Marketo allows duplicates). Joining them would make two people one
            // and send one's changes to the other; this person is found by their keys only.
            found = self.find_identity(mkto_lead, sf_person, None).await?;
        }
        let mut identity = found.clone().unwrap_or_default();
        if identity.mkto_lead_id.is_none() {
            identity.mkto_lead_id = mkto_lead;
        }
        if let Some(person) = sf_person {
            let slot = if person.starts_with("003") {
                &mut identity.sf_contact_id
            } else {
                &mut identity.sf_lead_id
            };
            slot.get_or_insert_with(|| person.to_string());
        }
        if identity.email.is_none() {
            identity.email = email.map(fold_email);
        }
        // A key this row lacked may be held by another row: the merge joins them.
        if found.as_ref() == Some(&identity) {
            return Ok(identity);
        }
        self.merge_identity(&identity, now).await
    }

    /// Saves `identity` (id 0 for "new") merged with every row holding its id or any of its
    /// keys, in one transaction. The surviving row is the given id when it exists, otherwise the
    /// lowest id; the given keys win over a merged row's different key of the same kind, the
    /// survivor's e-mail wins over the others'. Mirror rows of merged rows move to the survivor
    /// (where the survivor already has a row for that mapping, its own row is kept).
    pub async fn merge_identity(
        &self,
        identity: &IdentityRow,
        now: i64,
    ) -> Result<IdentityRow, StoreError> {
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let mut tx = self.begin_write().await?;
            // Merges read the rows they join and then rewrite them: two at once under READ
            // COMMITTED could each join a row the other deletes. PostgreSQL takes them in turn
            // (SQLite's BEGIN IMMEDIATE already does).
            if self.backend == super::Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(IDENTITY_MERGE_LOCK)
                    .execute(&mut *tx)
                    .await?;
            }
            match merge_in(&mut tx, identity, now).await {
                Ok(merged) => {
                    tx.commit().await?;
                    return Ok(merged);
                }
                // A concurrent insert of the same key: the next attempt sees it and merges.
                Err(StoreError::Database(error)) if is_unique_violation(&error) => {
                    last = Some(error);
                }
                Err(error) => return Err(error),
            }
        }
        Err(StoreError::Database(
            last.expect("at least one attempt failed"),
        ))
    }
}

impl Store {
    /// Drops a Marketo lead id Marketo no longer knows (merged away, deleted) from one identity.
    pub async fn forget_marketo_lead(
        &self,
        id: i64,
        lead: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE identities SET mkto_lead_id = NULL, updated_at = $3 \
             WHERE id = $1 AND mkto_lead_id = $2",
        )
        .bind(id)
        .bind(lead)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets the person's e-mail to the address a system has for them now (folded).
    pub async fn set_identity_email(
        &self,
        id: i64,
        email: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE identities SET email = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(fold_email(email))
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Drops a Lead or Contact id Salesforce says is gone (converted, merged, deleted) from one
    /// identity, so the next lookup finds the person again by e-mail.
    pub async fn forget_salesforce_person(
        &self,
        id: i64,
        person: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE identities SET \
             sf_lead_id = CASE WHEN sf_lead_id = $2 THEN NULL ELSE sf_lead_id END, \
             sf_contact_id = CASE WHEN sf_contact_id = $2 THEN NULL ELSE sf_contact_id END, \
             updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(person)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Keeps a Lead or Contact id Salesforce says was deleted or merged away as gone: Marketo's
    /// link naming it is not followed again.
    pub async fn salesforce_person_gone(&self, person: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO gone_salesforce_people (id, found_at) VALUES ($1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(person)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The ids among `ids` of Salesforce Leads or Contacts a write found gone.
    pub async fn gone_salesforce_people(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut gone = std::collections::HashSet::new();
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT id FROM gone_salesforce_people WHERE id IN ({})",
                placeholders.join(", ")
            );
            // Only the placeholders vary; every id is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                gone.insert(row.try_get::<String, _>(0)?);
            }
        }
        Ok(gone)
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// Whether `row`, found by e-mail, is not the person these keys name: it holds a Salesforce
/// Lead or Contact other than the given one of the same kind, or, when a Salesforce person is
/// given too, another Marketo lead. A Marketo lead given alone still joins the row its address
/// names (a duplicate lead is taken for the same person, as the identity rules have it).
fn holds_other_keys(row: &IdentityRow, mkto_lead: Option<i64>, sf_person: Option<&str>) -> bool {
    let other_lead = mkto_lead.is_some_and(|lead| row.mkto_lead_id.is_some_and(|l| l != lead));
    let other_person = sf_person.is_some_and(|person| {
        let held = if person.starts_with("003") {
            &row.sf_contact_id
        } else {
            &row.sf_lead_id
        };
        held.as_deref().is_some_and(|h| h != person)
    });
    other_person || (other_lead && sf_person.is_some())
}

async fn merge_in(
    conn: &mut AnyConnection,
    identity: &IdentityRow,
    now: i64,
) -> Result<IdentityRow, StoreError> {
    let rows = sqlx::query(
        "SELECT id, email, sf_lead_id, sf_contact_id, mkto_lead_id FROM identities \
         WHERE id = $1 OR mkto_lead_id = $2 OR sf_lead_id = $3 OR sf_contact_id = $4 ORDER BY id",
    )
    .bind(identity.id)
    .bind(identity.mkto_lead_id)
    .bind(&identity.sf_lead_id)
    .bind(&identity.sf_contact_id)
    .fetch_all(&mut *conn)
    .await?;
    let found: Vec<IdentityRow> = rows
        .iter()
        .map(identity_from_row)
        .collect::<Result<_, _>>()?;
    let survivor = found
        .iter()
        .find(|r| r.id == identity.id)
        .or(found.first())
        .cloned();
    let merged = merged(identity, survivor.as_ref(), &found);
    let Some(survivor) = survivor else {
        let row = sqlx::query(
            "INSERT INTO identities (email, sf_lead_id, sf_contact_id, mkto_lead_id, updated_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&merged.email)
        .bind(&merged.sf_lead_id)
        .bind(&merged.sf_contact_id)
        .bind(merged.mkto_lead_id)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        return Ok(IdentityRow {
            id: row.try_get(0)?,
            ..merged
        });
    };
    for loser in found.iter().filter(|r| r.id != survivor.id) {
        absorb(conn, survivor.id, loser.id).await?;
    }
    if merged != survivor {
        sqlx::query(
            "UPDATE identities SET email = $2, sf_lead_id = $3, sf_contact_id = $4, \
             mkto_lead_id = $5, updated_at = $6 WHERE id = $1",
        )
        .bind(survivor.id)
        .bind(&merged.email)
        .bind(&merged.sf_lead_id)
        .bind(&merged.sf_contact_id)
        .bind(merged.mkto_lead_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(merged)
}

/// The row after merging: the given keys first, then the survivor's, then the other rows' (in
/// id order); the e-mail of the survivor first, then the given one, then the others'.
fn merged(
    given: &IdentityRow,
    survivor: Option<&IdentityRow>,
    found: &[IdentityRow],
) -> IdentityRow {
    let others = || {
        found
            .iter()
            .filter(|r| Some(r.id) != survivor.map(|s| s.id))
    };
    let first = |pick: &dyn Fn(&IdentityRow) -> Option<String>| {
        pick(given)
            .or_else(|| survivor.and_then(pick))
            .or_else(|| others().find_map(pick))
    };
    let email = survivor
        .and_then(|s| s.email.clone())
        .or_else(|| given.email.clone())
        .or_else(|| others().find_map(|r| r.email.clone()))
        .map(|e| fold_email(&e));
    IdentityRow {
        id: survivor.map_or(0, |s| s.id),
        email,
        sf_lead_id: first(&|r| r.sf_lead_id.clone()),
        sf_contact_id: first(&|r| r.sf_contact_id.clone()),
        mkto_lead_id: given
            .mkto_lead_id
            .or_else(|| survivor.and_then(|s| s.mkto_lead_id))
            .or_else(|| others().find_map(|r| r.mkto_lead_id)),
    }
}

/// Moves `loser`'s mirror rows to `survivor` (keeping the survivor's own row per mapping) and
/// deletes the loser, freeing its keys.
async fn absorb(conn: &mut AnyConnection, survivor: i64, loser: i64) -> Result<(), StoreError> {
    let (survivor_key, loser_key) = (survivor.to_string(), loser.to_string());
    sqlx::query(
        "DELETE FROM mirror WHERE person = $2 AND mapping IN \
         (SELECT mapping FROM mirror WHERE person = $1)",
    )
    .bind(&survivor_key)
    .bind(&loser_key)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE mirror SET person = $1 WHERE person = $2")
        .bind(&survivor_key)
        .bind(&loser_key)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM identities WHERE id = $1")
        .bind(loser)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
