//! Salesforce's deleted records (getDeleted) for CampaignMember: the call, its window rules
//! (whole minutes, 15 days back at most), and when given members were deleted.

use std::collections::HashMap;

use reqwest::Method;
use serde::Deserialize;

use super::SalesforceClient;
use super::calls::url_encode;
use super::classify::{malformed, refused_with};
use crate::connectors::CallError;
use crate::sync::time::{format_millis, parse_millis};

/// getDeleted's refusal of a window holding more deleted records than one answer may.
pub const EXCEEDED_ID_LIMIT: &str = "EXCEEDED_ID_LIMIT";
/// getDeleted needs a window of at least a minute.
pub const MIN_WINDOW_MS: i64 = 60_000;
/// Salesforce keeps deleted records for 15 days and refuses an older start; a minute less
/// leaves room for the clocks to differ.
pub const MAX_LOOKBACK_MS: i64 = 15 * 86_400_000 - MIN_WINDOW_MS;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecord {
    pub id: String,
    pub deleted_date: String,
}

/// A getDeleted answer: the records, how far it reaches (`latestDateCovered`, where the next
/// poll should start) and the oldest time the org's delete log still holds
/// (`earliestDateAvailable`: later than the asked start when deletions were purged).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedPage {
    pub deleted_records: Vec<DeletedRecord>,
    pub latest_date_covered: Option<String>,
    pub earliest_date_available: Option<String>,
}

impl SalesforceClient {
    /// CampaignMembers deleted between `start` and `end` (ISO 8601), with how far the answer
    /// reaches and how far back the delete log goes.
    pub async fn deleted_members(&self, start: &str, end: &str) -> Result<DeletedPage, CallError> {
        let path = format!(
            "/sobjects/CampaignMember/deleted/?start={}&end={}",
            url_encode(start),
            url_encode(end)
        );
        let body = self.send(Method::GET, &path, None).await?;
        serde_json::from_value(body).map_err(|e| malformed("deleted-records response", e))
    }

    /// When the members among `ids` were deleted, for those Salesforce reports deleted between
    /// `since` (epoch ms, when they were last seen) and `now` (the org's time): member id →
    /// deletion time. A deletion in the current minute is not reported yet (getDeleted covers
    /// whole minutes), nor one in a window holding more deletions than one answer may: those
    /// are left out.
    pub async fn deletion_dates(
        &self,
        ids: &[&str],
        since: i64,
        now: i64,
    ) -> Result<HashMap<String, i64>, CallError> {
        let start = (since - MIN_WINDOW_MS).max(now - MAX_LOOKBACK_MS);
        let end = now.max(start + MIN_WINDOW_MS);
        let page = match self
            .deleted_members(&format_millis(start), &format_millis(end))
            .await
        {
            Err(error) if refused_with(&error, EXCEEDED_ID_LIMIT) => return Ok(HashMap::new()),
            answer => answer?,
        };
        Ok(page
            .deleted_records
            .into_iter()
            .filter(|d| ids.contains(&d.id.as_str()))
            .filter_map(|d| Some((d.id, parse_millis(&d.deleted_date)?)))
            .collect())
    }
}
