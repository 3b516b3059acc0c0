//! The errors list's text search: a failing signal matches when its payload or error holds the
//! text, or when it names a person whose e-mail or ids hold it (a signal from the activity feed
//! names only the Marketo lead, yet its row shows the person's e-mail and Salesforce ids).

use std::collections::HashSet;

use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::queries::FAILING_COLUMNS;
use super::{Store, StoreError};

/// Failing signals read per page while searching them.
const PAGE: i64 = 500;

/// People one search text may stand for, at most (a text as broad as a domain names many).
const MAX_PEOPLE: i64 = 100_000;

/// Who a search text stands for: their Marketo lead ids, Salesforce Lead and Contact ids and
/// e-mails (lower case).
#[derive(Debug, Default)]
struct People {
    leads: HashSet<i64>,
    salesforce: HashSet<String>,
    emails: HashSet<String>,
    /// Their campaign members, as the mirror holds them: a deletion names only its member.
    members: HashSet<String>,
    /// Their identity ids: a failing signal keeps the person an earlier try found.
    persons: HashSet<String>,
}

impl People {
    fn is_empty(&self) -> bool {
        self.leads.is_empty() && self.salesforce.is_empty() && self.emails.is_empty()
    }

    /// Whether a signal's payload names one of them (at its top, or among the names a rejected
    /// notification keeps).
    fn named_in(&self, payload: &Value) -> bool {
        [Some(payload), payload.get("names")]
            .into_iter()
            .flatten()
            .any(|object| {
                let text = |key: &str| {
                    object
                        .get(key)
                        .and_then(Value::as_str)
                        .map(str::to_lowercase)
                };
                let lead = object.get("lead_id").and_then(Value::as_i64);
                lead.is_some_and(|l| self.leads.contains(&l))
                    || text("member_id").is_some_and(|m| self.members.contains(&m))
                    || ["lead_id", "contact_id"]
                        .into_iter()
                        .any(|key| text(key).is_some_and(|id| self.salesforce.contains(&id)))
                    || text("email").is_some_and(|e| self.emails.contains(&e))
            })
    }
}

/// `text` as a LIKE pattern that matches it literally anywhere (`%`, `_` and `\` escaped, for
/// `ESCAPE '\'`, which both databases read alike).
fn containing(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Store {
    /// The people whose e-mail, Marketo lead id, Salesforce Lead/Contact id or CampaignMember id
    /// holds `needle` (lower case).
    async fn people_named(&self, needle: &str) -> Result<People, StoreError> {
        let rows = sqlx::query(
            "SELECT email, mkto_lead_id, sf_lead_id, sf_contact_id, id FROM identities \
             WHERE LOWER(COALESCE(email, '')) LIKE $1 ESCAPE '\\' \
             OR LOWER(COALESCE(sf_lead_id, '')) LIKE $1 ESCAPE '\\' \
             OR LOWER(COALESCE(sf_contact_id, '')) LIKE $1 ESCAPE '\\' \
             OR COALESCE(CAST(mkto_lead_id AS TEXT), '') LIKE $1 ESCAPE '\\' \
             OR CAST(id AS TEXT) IN (SELECT person FROM mirror \
               WHERE LOWER(COALESCE(sf_member_id, '')) LIKE $1 ESCAPE '\\') \
             LIMIT $2",
        )
        .bind(containing(needle))
        .bind(MAX_PEOPLE)
        .fetch_all(&self.pool)
        .await?;
        let mut people = People::default();
        for row in &rows {
            if let Some(email) = row.try_get::<Option<String>, _>(0)? {
                people.emails.insert(email.to_lowercase());
            }
            if let Some(lead) = row.try_get::<Option<i64>, _>(1)? {
                people.leads.insert(lead);
            }
            for i in [2, 3] {
                if let Some(id) = row.try_get::<Option<String>, _>(i)? {
                    people.salesforce.insert(id.to_lowercase());
                }
            }
        }
        let ids: Vec<String> = rows
            .iter()
            .map(|row| row.try_get::<i64, _>(4).map(|id| id.to_string()))
            .collect::<Result<_, _>>()?;
        people.persons.extend(ids.iter().cloned());
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT sf_member_id FROM mirror WHERE sf_member_id IS NOT NULL \
                 AND person IN ({})",
                placeholders.join(", ")
            );
            // Only the placeholders vary; every id is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                let member: String = row.try_get(0)?;
                people.members.insert(member.to_lowercase());
            }
        }
        Ok(people)
    }

    /// Failing signals (`state`, a fixed SQL condition) below `before`, newest first, at most
    /// `limit`, whose payload or error holds `text` (case-insensitive, literally) or that name
    /// a person `text` stands for. Read a page at a time, so no cut is made among the people.
    pub(super) async fn failing_matching(
        &self,
        state: &str,
        text: &str,
        before: i64,
        limit: u32,
    ) -> Result<Vec<AnyRow>, StoreError> {
        let needle = text.to_lowercase();
        let people = self.people_named(&needle).await?;
        let sql = format!(
            "SELECT {FAILING_COLUMNS} FROM signals WHERE {state} AND id < $1 \
             ORDER BY id DESC LIMIT $2"
        );
        let mut found = Vec::new();
        let mut below = before;
        loop {
            let page = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(below)
                .bind(PAGE)
                .fetch_all(&self.pool)
                .await?;
            let Some(last) = page.last() else {
                return Ok(found);
            };
            below = last.try_get("id")?;
            let more = page.len() as i64 == PAGE;
            for row in page {
                let payload: String = row.try_get("payload")?;
                let error: Option<String> = row.try_get("last_error")?;
                let person: Option<String> = row.try_get("person")?;
                let hit = payload.to_lowercase().contains(&needle)
                    || person.is_some_and(|p| people.persons.contains(&p))
                    || error.is_some_and(|e| e.to_lowercase().contains(&needle))
                    || (!people.is_empty()
                        && serde_json::from_str::<Value>(&payload)
                            .is_ok_and(|p| people.named_in(&p)));
                if hit {
                    found.push(row);
                    if found.len() >= limit as usize {
                        return Ok(found);
                    }
                }
            }
            if !more {
                return Ok(found);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pattern_matches_its_text_literally() {
        assert_eq!(containing("j_doe@x.com"), "%j\\_doe@x.com%");
        assert_eq!(containing("100%"), "%100\\%%");
        assert_eq!(containing("a\\b"), "%a\\\\b%");
    }

    #[test]
    fn a_payload_names_a_person_by_any_of_their_ids() {
        let people = People {
            leads: HashSet::from([1001]),
            salesforce: HashSet::from(["00q000000000001eaa".to_string()]),
            emails: HashSet::from(["ada@example.com".to_string()]),
            members: HashSet::from(["00v000000000001aaa".to_string()]),
            persons: HashSet::new(),
        };
        assert!(people.named_in(&json!({ "kind": "marketo_member", "lead_id": 1001 })));
        assert!(!people.named_in(&json!({ "lead_id": 10011 })));
        assert!(people.named_in(&json!({ "lead_id": "00Q000000000001EAA" })));
        assert!(people.named_in(&json!({ "email": "Ada@Example.com" })));
        assert!(
            people
                .named_in(&json!({ "raw": "<x/>", "names": { "lead_id": "00Q000000000001EAA" } }))
        );
        assert!(people.named_in(&json!({ "member_id": "00v000000000001AAA" })));
        assert!(!people.named_in(&json!({ "email": "grace@example.com" })));
    }
}
