//! Reads over many campaigns at once, so their cost does not grow with the number of mappings:
//! members changed since a `SystemModstamp` (the changes feed), and each campaign's
//! `Type`/`ActualCost` and member statuses — one SOQL query per 200 campaigns.

use serde_json::Value;

use super::SalesforceClient;
use super::calls::{COLLECTION_LIMIT, CampaignMember, MEMBER_FIELDS, in_list};
use crate::connectors::CallError;

impl SalesforceClient {
    /// Members of `campaigns` whose `SystemModstamp` is at or after `since` (epoch ms, read to
    /// the second as SOQL compares), oldest first.
    pub async fn members_changed_since(
        &self,
        campaigns: &[String],
        since: i64,
    ) -> Result<Vec<CampaignMember>, CallError> {
        let since = crate::sync::time::format_millis(since);
        let mut members = Vec::new();
        for chunk in campaigns.chunks(COLLECTION_LIMIT) {
            let soql = format!(
                "SELECT {MEMBER_FIELDS} FROM CampaignMember WHERE CampaignId IN ({}) \
                 AND SystemModstamp >= {since} ORDER BY SystemModstamp ASC",
                in_list(chunk.iter().map(String::as_str))
            );
            members.extend(self.query_as::<CampaignMember>(&soql).await?);
        }
        Ok(members)
    }

    /// `Id`, `Type` and `ActualCost` of each campaign.
    pub async fn campaigns(&self, ids: &[String]) -> Result<Vec<Value>, CallError> {
        let mut campaigns = Vec::new();
        for chunk in ids.chunks(COLLECTION_LIMIT) {
            let soql = format!(
                "SELECT Id, Type, ActualCost FROM Campaign WHERE Id IN ({})",
                in_list(chunk.iter().map(String::as_str))
            );
            campaigns.extend(self.query(&soql).await?);
        }
        Ok(campaigns)
    }

    /// `(CampaignId, Label)` of every member status of these campaigns.
    pub async fn member_statuses(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, String)>, CallError> {
        let mut statuses = Vec::new();
        for chunk in ids.chunks(COLLECTION_LIMIT) {
            let soql = format!(
                "SELECT CampaignId, Label FROM CampaignMemberStatus WHERE CampaignId IN ({})",
                in_list(chunk.iter().map(String::as_str))
            );
            statuses.extend(self.query(&soql).await?.iter().filter_map(|r| {
                Some((
                    r["CampaignId"].as_str()?.to_string(),
                    r["Label"].as_str()?.to_string(),
                ))
            }));
        }
        Ok(statuses)
    }
}
