//! Reads over many campaigns at once, so their cost does not grow with the number of mappings:
//! members changed since a `SystemModstamp` (the changes feed), and each campaign's
//! `Type`/`ActualCost` and member statuses — each in as few SOQL queries as the URI limit allows
//! (about 500 campaigns a query), so 500 mappings cost what one does.

use serde_json::Value;

use super::SalesforceClient;
use super::calls::{CampaignMember, MEMBER_FIELDS};
use super::in_lists::in_list_queries;
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
        let queries = in_list_queries(campaigns, |list| {
            format!(
                "SELECT {MEMBER_FIELDS} FROM CampaignMember WHERE CampaignId IN ({list}) \
                 AND SystemModstamp >= {since} ORDER BY SystemModstamp ASC"
            )
        });
        for soql in queries {
            members.extend(self.query_as::<CampaignMember>(&soql).await?);
        }
        Ok(members)
    }

    /// `Id`, `Type` and `ActualCost` of each campaign.
    pub async fn campaigns(&self, ids: &[String]) -> Result<Vec<Value>, CallError> {
        let mut campaigns = Vec::new();
        let queries = in_list_queries(ids, |list| {
            format!("SELECT Id, Type, ActualCost FROM Campaign WHERE Id IN ({list})")
        });
        for soql in queries {
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
        let queries = in_list_queries(ids, |list| {
            format!(
                "SELECT CampaignId, Label FROM CampaignMemberStatus WHERE CampaignId IN ({list})"
            )
        });
        for soql in queries {
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
