//! The dead-letter list (`GET /admin/dead-letters`): dead and rejected signals, each with the
//! person it names as the errors list and `/admin/retrying` show them.

use serde::Serialize;
use sqlx::Row;

use super::person_names::PersonNames;
use super::queries::MappingScope;
use super::{Store, StoreError};

/// Which page of dead letters to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadPage {
    /// Newest first, ids below this one (`i64::MAX`: from the newest).
    Before(i64),
    /// Oldest first, ids above this one (the feed form).
    After(i64),
}

/// A dead (replayable) or rejected (refused on arrival) signal, with its reason and person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    pub id: i64,
    pub dedup_key: String,
    pub kind: String,
    /// `dead` or `rejected`.
    pub state: String,
    pub payload: serde_json::Value,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub updated_at: i64,
    /// A dead letter whose person's later write in the same mapping landed since: replaying it
    /// changes nothing.
    pub superseded: bool,
    #[serde(flatten)]
    pub person: PersonNames,
}

impl Store {
    /// One page of dead and rejected signals, at most `limit`, each with the person it names
    /// (the campaign member of the mapping `scopes` say it belongs to).
    pub async fn dead_letters(
        &self,
        page: DeadPage,
        limit: u32,
        scopes: &[MappingScope],
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let (cursor, sql) = match page {
            DeadPage::Before(before) => (
                before,
                "SELECT id, dedup_key, kind, state, payload, attempts, last_error, updated_at, person \
                 FROM signals WHERE state IN ('dead', 'rejected') AND id < $1 \
                 ORDER BY id DESC LIMIT $2",
            ),
            DeadPage::After(after) => (
                after,
                "SELECT id, dedup_key, kind, state, payload, attempts, last_error, updated_at, person \
                 FROM signals WHERE state IN ('dead', 'rejected') AND id > $1 \
                 ORDER BY id LIMIT $2",
            ),
        };
        let rows = sqlx::query(sql)
            .bind(cursor)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        self.letters(&rows, scopes).await
    }

    /// Dead and rejected signals below `before`, newest first, at most `limit`, whose payload
    /// or reason holds `text`, or that name a person `text` stands for (an e-mail, a Marketo
    /// lead id, a Salesforce id): the errors list's search, as `/admin/retrying?q=` has it.
    pub async fn dead_letters_matching(
        &self,
        text: &str,
        before: i64,
        limit: u32,
        scopes: &[MappingScope],
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let rows = self
            .failing_matching("state IN ('dead', 'rejected')", text, before, limit)
            .await?;
        self.letters(&rows, scopes).await
    }

    /// The dead letters these rows hold, each with its person and whether it is superseded.
    async fn letters(
        &self,
        rows: &[sqlx::any::AnyRow],
        scopes: &[MappingScope],
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let mut letters = Vec::with_capacity(rows.len());
        for row in rows {
            let payload: String = row.try_get("payload")?;
            let payload = super::shown_payload(&payload);
            let stored: Option<String> = row.try_get("person")?;
            let person = self
                .person_names(&payload, scopes, stored.as_deref())
                .await?;
            letters.push(DeadLetter {
                id: row.try_get("id")?,
                dedup_key: row.try_get("dedup_key")?,
                kind: row.try_get("kind")?,
                state: row.try_get("state")?,
                payload,
                attempts: row.try_get("attempts")?,
                last_error: row.try_get("last_error")?,
                updated_at: row.try_get("updated_at")?,
                superseded: false,
                person,
            });
        }
        let dead: Vec<i64> = letters
            .iter()
            .filter(|d| d.state == "dead")
            .map(|d| d.id)
            .collect();
        let superseded = self.superseded(&dead).await?;
        for letter in &mut letters {
            letter.superseded = superseded.contains(&letter.id);
        }
        Ok(letters)
    }
}
