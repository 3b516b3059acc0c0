//! The activity log as a change feed: a paging token for a start time, then pages of
//! program-status activities from a stored token (each page carries the next one).

use reqwest::Method;
use serde::Deserialize;

use super::MarketoClient;
use super::classify::malformed;
use crate::connectors::CallError;

/// "Change Status in Progression": every program status change, including joining the program
/// (from "Not in Program") and leaving it (to "Not in Program"); its primary asset is the
/// program, so `assetIds` filters it to mapped programs.
pub const CHANGE_STATUS_IN_PROGRESSION: i64 = 104;
/// `assetIds` beyond this many programs are filtered here instead, to keep the URL short.
pub const MAX_ASSET_IDS: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityRecord {
    pub lead_id: i64,
    pub activity_type_id: i64,
    /// The program, for type 104.
    pub primary_attribute_value_id: Option<i64>,
    pub activity_date: Option<String>,
    #[serde(default)]
    pub attributes: Vec<ActivityAttribute>,
}

/// One name/value attribute of an activity ("Old Status", "New Status", …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ActivityAttribute {
    pub name: String,
    #[serde(default)]
    pub value: serde_json::Value,
}

impl ActivityRecord {
    /// The status a type 104 activity moved the member to, when it says.
    pub fn new_status(&self) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case("New Status"))
            .and_then(|a| a.value.as_str())
    }
}

/// One page of the feed and where the next starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityPage {
    pub activities: Vec<ActivityRecord>,
    pub next_token: String,
    pub more: bool,
}

impl MarketoClient {
    /// The token of the first activity at or after `since` (ISO-8601).
    pub async fn activity_paging_token(&self, since: &str) -> Result<String, CallError> {
        let query = [("sinceDatetime", since.to_string())];
        let envelope = self
            .send(
                Method::GET,
                "/rest/v1/activities/pagingtoken.json",
                &query,
                None,
            )
            .await?;
        envelope
            .next_page_token
            .ok_or_else(|| malformed("paging token", "no nextPageToken"))
    }

    /// One page of program-status activities from `token`, for `programs` when there are few
    /// enough to name (all programs otherwise; the caller filters).
    pub async fn status_activities(
        &self,
        token: &str,
        programs: &[i64],
    ) -> Result<ActivityPage, CallError> {
        let mut query = vec![
            ("nextPageToken", token.to_string()),
            ("activityTypeIds", CHANGE_STATUS_IN_PROGRESSION.to_string()),
            ("batchSize", super::BATCH_LIMIT.to_string()),
        ];
        if !programs.is_empty() && programs.len() <= MAX_ASSET_IDS {
            let ids: Vec<String> = programs.iter().map(i64::to_string).collect();
            query.push(("assetIds", ids.join(",")));
        }
        let envelope = self
            .send(Method::GET, "/rest/v1/activities.json", &query, None)
            .await?;
        let activities = envelope
            .result
            .into_iter()
            .map(|v| serde_json::from_value(v).map_err(|e| malformed("activity", e)))
            .collect::<Result<Vec<ActivityRecord>, _>>()?;
        Ok(ActivityPage {
            activities,
            next_token: envelope
                .next_page_token
                .unwrap_or_else(|| token.to_string()),
            more: envelope.more_result,
        })
    }
}
