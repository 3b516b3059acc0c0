//! The mirror table (last state seen and written on each side, per mapping and person) and the
//! identity table (who is who across both systems).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, FromRow};

use super::{Store, StoreError};

/// The last state seen and written on each side for one person in one mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MirrorRow {
    pub mapping: String,
    /// Stable person key (see the identity table).
    pub person: String,
    pub sf_member_id: Option<String>,
    /// The Lead or Contact id of the member.
    pub sf_person_id: Option<String>,
    pub sf_status: Option<String>,
    pub sf_modstamp: Option<i64>,
    pub mkto_lead_id: Option<i64>,
    pub mkto_status: Option<String>,
    pub mkto_updated_at: Option<i64>,
    pub synced_at: i64,
}

/// One person as known on both sides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct IdentityRow {
    pub id: i64,
    /// Case-folded e-mail.
    pub email: Option<String>,
    pub sf_lead_id: Option<String>,
    pub sf_contact_id: Option<String>,
    pub mkto_lead_id: Option<i64>,
}

impl Store {
    pub async fn mirror(
        &self,
        mapping: &str,
        person: &str,
    ) -> Result<Option<MirrorRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM mirror WHERE mapping = $1 AND person = $2")
            .bind(mapping)
            .bind(person)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(mirror_from_row).transpose()
    }

    /// The mirror rows of these people in one mapping, by person (one query per 500 people).
    pub async fn mirrors(
        &self,
        mapping: &str,
        people: &[String],
    ) -> Result<HashMap<String, MirrorRow>, StoreError> {
        let rows = self
            .mirror_rows_where(mapping, Column::Person, people)
            .await?;
        Ok(rows.into_iter().map(|r| (r.person.clone(), r)).collect())
    }

    /// The mirror rows of these Marketo leads in one mapping, by lead (one query per 500).
    pub async fn mirrors_by_lead(
        &self,
        mapping: &str,
        leads: &[i64],
    ) -> Result<HashMap<i64, MirrorRow>, StoreError> {
        let rows = self.mirror_rows_where(mapping, Column::Lead, leads).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((r.mkto_lead_id?, r)))
            .collect())
    }

    /// One mapping's mirror rows whose `column` is one of `values`, 500 values a query.
    async fn mirror_rows_where<V>(
        &self,
        mapping: &str,
        column: Column,
        values: &[V],
    ) -> Result<Vec<MirrorRow>, StoreError>
    where
        V: Clone + Send + for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + 'static,
    {
        let column = match column {
            Column::Person => "person",
            Column::Lead => "mkto_lead_id",
        };
        let mut rows = Vec::with_capacity(values.len());
        for chunk in values.chunks(500) {
            let placeholders: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT * FROM mirror WHERE mapping = $1 AND {column} IN ({})",
                placeholders.join(", ")
            );
            // Only the column (one of two names) and placeholders vary; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(mapping.to_string());
            for value in chunk {
                query = query.bind(value.clone());
            }
            for row in query.fetch_all(&self.pool).await? {
                rows.push(mirror_from_row(&row)?);
            }
        }
        Ok(rows)
    }

    /// Up to `limit` mirror rows of one mapping whose person key comes after `after`, in
    /// person order: reconciliation reads the mirror a page at a time with these.
    pub async fn mirror_page(
        &self,
        mapping: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MirrorRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT * FROM mirror WHERE mapping = $1 AND person > $2 ORDER BY person LIMIT $3",
        )
        .bind(mapping)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(mirror_from_row).collect()
    }

    /// All mirror rows of one mapping.
    pub async fn mirror_rows(&self, mapping: &str) -> Result<Vec<MirrorRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM mirror WHERE mapping = $1 ORDER BY person")
            .bind(mapping)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(mirror_from_row).collect()
    }

    pub async fn mirror_by_member(&self, sf_member_id: &str) -> Result<Vec<MirrorRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM mirror WHERE sf_member_id = $1")
            .bind(sf_member_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(mirror_from_row).collect()
    }

    pub async fn upsert_mirror(&self, row: &MirrorRow) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        upsert_mirror(&mut conn, row).await
    }

    pub async fn delete_mirror(&self, mapping: &str, person: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mirror WHERE mapping = $1 AND person = $2")
            .bind(mapping)
            .bind(person)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Finds the identity holding any of the given keys (first match by Marketo id, then
    /// Salesforce ids, then e-mail).
    pub async fn find_identity(
        &self,
        mkto_lead_id: Option<i64>,
        sf_person_id: Option<&str>,
        email: Option<&str>,
    ) -> Result<Option<IdentityRow>, StoreError> {
        let email = email.map(fold_email);
        let row = sqlx::query(
            "SELECT id, email, sf_lead_id, sf_contact_id, mkto_lead_id FROM identities \
             WHERE mkto_lead_id = $1 OR sf_lead_id = $2 OR sf_contact_id = $2 OR email = $3 \
             ORDER BY CASE WHEN mkto_lead_id = $1 THEN 0 WHEN sf_contact_id = $2 THEN 1 \
             WHEN sf_lead_id = $2 THEN 2 ELSE 3 END, id LIMIT 1",
        )
        .bind(mkto_lead_id)
        .bind(sf_person_id)
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(identity_from_row).transpose()
    }

    pub async fn identity(&self, id: i64) -> Result<Option<IdentityRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, sf_lead_id, sf_contact_id, mkto_lead_id FROM identities WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(identity_from_row).transpose()
    }

    /// The identities holding any of these Marketo lead ids or Salesforce Lead/Contact ids (one
    /// query per 500 keys of each kind).
    pub async fn identities_by_keys(
        &self,
        mkto_lead_ids: &[i64],
        sf_person_ids: &[String],
    ) -> Result<Vec<IdentityRow>, StoreError> {
        let mut found = Vec::new();
        let select =
            "SELECT id, email, sf_lead_id, sf_contact_id, mkto_lead_id FROM identities WHERE";
        for chunk in mkto_lead_ids.chunks(500) {
            let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("{select} mkto_lead_id IN ({})", list.join(", "));
            // Only placeholders vary; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                found.push(identity_from_row(&row)?);
            }
        }
        for chunk in sf_person_ids.chunks(500) {
            let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "{select} sf_lead_id IN ({0}) OR sf_contact_id IN ({0})",
                list.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.clone());
            }
            for row in query.fetch_all(&self.pool).await? {
                found.push(identity_from_row(&row)?);
            }
        }
        Ok(found)
    }

    /// The identities holding any of these e-mail addresses, folded as stored (one query per
    /// 500 addresses).
    pub async fn identities_by_emails(
        &self,
        emails: &[String],
    ) -> Result<Vec<IdentityRow>, StoreError> {
        let mut found = Vec::new();
        for chunk in emails.chunks(500) {
            let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT id, email, sf_lead_id, sf_contact_id, mkto_lead_id FROM identities \
                 WHERE email IN ({})",
                list.join(", ")
            );
            // Only placeholders vary; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for email in chunk {
                query = query.bind(fold_email(email));
            }
            for row in query.fetch_all(&self.pool).await? {
                found.push(identity_from_row(&row)?);
            }
        }
        Ok(found)
    }

    /// Saves an identity as a merging upsert; returns the id it lives under. See
    /// [`super::identities`]: rows holding any of its keys are merged into one.
    pub async fn save_identity(&self, identity: &IdentityRow, now: i64) -> Result<i64, StoreError> {
        Ok(self.merge_identity(identity, now).await?.id)
    }
}

/// E-mail addresses match case-insensitively across both systems.
pub fn fold_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Whether `text` looks like an e-mail address: one `@` with text on both sides, the domain
/// neither starting nor ending with a dot, no whitespace or `%` (a URL-encoded value whose
/// encoding was not declared). A domain without a dot (`bob@localhost`) is an address Marketo
/// keeps; whether Salesforce takes it is Salesforce's to say.
pub fn is_email_address(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !text.contains(|c: char| c.is_whitespace() || c == '%')
        }
        None => false,
    }
}

fn mirror_from_row(r: &AnyRow) -> Result<MirrorRow, StoreError> {
    Ok(MirrorRow::from_row(r)?)
}

pub(super) fn identity_from_row(r: &AnyRow) -> Result<IdentityRow, StoreError> {
    Ok(IdentityRow::from_row(r)?)
}

pub(super) async fn upsert_mirror(
    conn: &mut AnyConnection,
    row: &MirrorRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mirror (mapping, person, sf_member_id, sf_person_id, sf_status, sf_modstamp, \
             mkto_lead_id, mkto_status, mkto_updated_at, synced_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (mapping, person) DO UPDATE SET sf_member_id = excluded.sf_member_id, \
             sf_person_id = excluded.sf_person_id, sf_status = excluded.sf_status, \
             sf_modstamp = excluded.sf_modstamp, mkto_lead_id = excluded.mkto_lead_id, \
             mkto_status = excluded.mkto_status, mkto_updated_at = excluded.mkto_updated_at, \
             synced_at = excluded.synced_at",
    )
    .bind(&row.mapping)
    .bind(&row.person)
    .bind(&row.sf_member_id)
    .bind(&row.sf_person_id)
    .bind(&row.sf_status)
    .bind(row.sf_modstamp)
    .bind(row.mkto_lead_id)
    .bind(&row.mkto_status)
    .bind(row.mkto_updated_at)
    .bind(row.synced_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The mirror columns people are looked up by.
#[derive(Debug, Clone, Copy)]
enum Column {
    Person,
    Lead,
}

#[cfg(test)]
mod tests {
    use super::is_email_address;

    #[test]
    fn an_address_needs_text_both_sides_of_one_at_and_nothing_encoded() {
        for address in [
            "ada@example.com",
            "bob@localhost",
            "o'neil+x@sub.example.co",
        ] {
            assert!(is_email_address(address), "{address}");
        }
        for text in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@.example.com",
            "ada@example.com.",
            "ada@b@example.com",
            "ada lovelace@example.com",
            "ada%40example.com",
        ] {
            assert!(!is_email_address(text), "{text}");
        }
    }
}
