//! Asset reads whose cost does not grow with the number of mappings: the programs changed in a
//! time range (one browse of 200 per page), and every channel with its statuses (one list); and
//! a smart campaign by id, for `check-config --online`.

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::MarketoClient;
use super::calls::ProgressionStatus;
use super::classify::malformed;
use crate::connectors::CallError;

/// The Asset API's page size for browsing.
const MAX_RETURN: usize = 200;

/// A program as the browse lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramSummary {
    pub id: i64,
    pub channel: String,
    pub updated_at: Option<String>,
}

/// A channel and its progression statuses, in step order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelInfo {
    pub name: String,
    pub progression_statuses: Vec<ProgressionStatus>,
}

/// A smart campaign as the Asset API gives it, as far as Request Campaign cares.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmartCampaign {
    pub id: i64,
    pub name: String,
    /// Active, and triggered by *Campaign is Requested* from the Web Service API.
    #[serde(default)]
    pub is_requestable: bool,
}

impl MarketoClient {
    /// The smart campaign `id`, or `None` when Marketo has none by that id.
    pub async fn smart_campaign(&self, id: i64) -> Result<Option<SmartCampaign>, CallError> {
        let path = format!("/rest/asset/v1/smartCampaign/{id}.json");
        let envelope = self.send(Method::GET, &path, &[], None).await?;
        envelope
            .result
            .into_iter()
            .next()
            .map(decode::<SmartCampaign>)
            .transpose()
    }

    /// Programs updated between `earliest` and `latest` (ISO-8601), paging 200 at a time.
    pub async fn programs_updated(
        &self,
        earliest: &str,
        latest: &str,
    ) -> Result<Vec<ProgramSummary>, CallError> {
        let query = vec![
            ("earliestUpdatedAt", earliest.to_string()),
            ("latestUpdatedAt", latest.to_string()),
        ];
        self.browse("/rest/asset/v1/programs.json", query).await
    }

    /// Every channel with its statuses (cache it: channels rarely change).
    pub async fn channels(&self) -> Result<Vec<ChannelInfo>, CallError> {
        let mut channels: Vec<ChannelInfo> = self
            .browse("/rest/asset/v1/channels.json", Vec::new())
            .await?;
        for channel in &mut channels {
            channel.progression_statuses.sort_by_key(|s| s.step);
        }
        Ok(channels)
    }

    /// Pages with `offset` until a page comes back short.
    async fn browse<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        query: Vec<(&str, String)>,
    ) -> Result<Vec<T>, CallError> {
        let mut found = Vec::new();
        loop {
            let mut page_query = query.clone();
            page_query.push(("maxReturn", MAX_RETURN.to_string()));
            page_query.push(("offset", found.len().to_string()));
            let envelope = self.send(Method::GET, path, &page_query, None).await?;
            let count = envelope.result.len();
            for value in envelope.result {
                found.push(decode::<T>(value)?);
            }
            if count < MAX_RETURN {
                return Ok(found);
            }
        }
    }
}

fn decode<T: for<'de> Deserialize<'de>>(value: Value) -> Result<T, CallError> {
    serde_json::from_value(value).map_err(|e| malformed("Marketo asset", e))
}
