//! Which Salesforce CampaignMember ids the sync has a reason to hear about: the deleted-records
//! poll keeps the deletions of these and lets the rest of the org's go; and which of them it
//! has found deleted.

use std::collections::HashSet;

use sqlx::Row;

use super::{Store, StoreError};
use crate::signal::Signal;

/// The dedup key of a deletion the deleted-records poll found is this and the member's id.
pub const DELETED_KEY_PREFIX: &str = "sf:deleted:";

impl Store {
    /// The ids among `ids` that a mirror row holds, or that a waiting (pending or leased)
    /// outbound-message or changes-feed signal names: a member added and deleted before its
    /// add was processed is among them. 500 ids a query.
    pub async fn members_of_interest(&self, ids: &[String]) -> Result<HashSet<String>, StoreError> {
        let mut known = HashSet::new();
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT sf_member_id FROM mirror WHERE sf_member_id IN ({})",
                placeholders.join(", ")
            );
            // Only the placeholders vary; every id is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.clone());
            }
            for row in query.fetch_all(&self.pool).await? {
                known.insert(row.try_get::<String, _>(0)?);
            }
        }
        if known.len() == ids.len() {
            return Ok(known);
        }
        let waiting = sqlx::query(
            "SELECT payload FROM signals WHERE state IN ('pending', 'leased') \
             AND kind = 'salesforce_member'",
        )
        .fetch_all(&self.pool)
        .await?;
        let asked: HashSet<&str> = ids.iter().map(String::as_str).collect();
        for row in waiting {
            let payload: String = row.try_get(0)?;
            if let Ok(Signal::SalesforceMember(member)) = serde_json::from_str(&payload)
                && asked.contains(member.member_id.as_str())
            {
                known.insert(member.member_id);
            }
        }
        Ok(known)
    }
}

impl Store {
    /// The ids among `ids` whose deletion the deleted-records poll has recorded (a member id
    /// is never used again, so such a member is gone for good).
    pub async fn deleted_members(&self, ids: &[String]) -> Result<HashSet<String>, StoreError> {
        let keys: Vec<String> = ids
            .iter()
            .map(|id| format!("{DELETED_KEY_PREFIX}{id}"))
            .collect();
        let stored = self.stored_keys(&keys).await?;
        Ok(stored
            .iter()
            .filter_map(|key| key.strip_prefix(DELETED_KEY_PREFIX))
            .map(str::to_string)
            .collect())
    }

    /// The dedup keys among `keys` that a stored signal holds (500 keys a query): a delivery
    /// of one is a repeat, whatever it carries.
    pub async fn stored_keys(&self, keys: &[String]) -> Result<HashSet<String>, StoreError> {
        let mut stored = HashSet::new();
        for chunk in keys.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT dedup_key FROM signals WHERE dedup_key IN ({})",
                placeholders.join(", ")
            );
            // Only the placeholders vary; every key is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for key in chunk {
                query = query.bind(key);
            }
            for row in query.fetch_all(&self.pool).await? {
                stored.insert(row.try_get(0)?);
            }
        }
        Ok(stored)
    }
}
