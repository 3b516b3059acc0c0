//! Reads over many campaigns at once, so their cost does not grow with the number of mappings:
//! members changed since a `SystemModstamp` (the changes feed), and each campaign's
//! `Type`/`ActualCost` and member statuses — each in as few SOQL queries as the URI limit allows
//! (about 500 campaigns a query), so 500 mappings cost what one does.

use serde_json::Value;

use super::SalesforceClient;
use super::calls::{CampaignMember, MEMBER_FIELDS, in_list, url_encode};
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

/// Longest percent-encoded SOQL text sent in one GET: Salesforce answers 414 to a URI over
/// 16,384 bytes, and the host, path and `?q=` need the rest.
const MAX_ENCODED_SOQL: usize = 16_384 - 1_024;

/// The queries `soql` makes of `ids`, each with as many ids in its `IN (…)` list as fit
/// [`MAX_ENCODED_SOQL`] (percent-encoding is per byte, so lengths add up).
fn in_list_queries(ids: &[String], soql: impl Fn(&str) -> String) -> Vec<String> {
    let base = url_encode(&soql("")).len();
    let separator = url_encode(", ").len();
    let mut queries = Vec::new();
    let mut start = 0;
    let mut length = base;
    for (i, id) in ids.iter().enumerate() {
        let item = url_encode(&in_list(std::iter::once(id.as_str()))).len();
        let added = if i == start { item } else { separator + item };
        if i > start && length + added > MAX_ENCODED_SOQL {
            queries.push(soql(&in_list(ids[start..i].iter().map(String::as_str))));
            start = i;
            length = base + item;
        } else {
            length += added;
        }
    }
    if start < ids.len() {
        queries.push(soql(&in_list(ids[start..].iter().map(String::as_str))));
    }
    queries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_many_ids_as_fit_the_uri_limit_go_in_one_query() {
        let ids: Vec<String> = (0..1_200).map(|i| format!("701{i:012}AAA")).collect();
        let soql = |list: &str| format!("SELECT Id FROM Campaign WHERE Id IN ({list})");
        let queries = in_list_queries(&ids, soql);
        assert_eq!(queries.len(), 3, "about 500 campaigns a query");
        assert!(
            queries
                .iter()
                .all(|q| url_encode(q).len() <= MAX_ENCODED_SOQL)
        );
        let listed: usize = queries.iter().map(|q| q.matches('\'').count() / 2).sum();
        assert_eq!(listed, ids.len(), "every id once");
        assert_eq!(in_list_queries(&ids[..1], soql).len(), 1);
        assert!(in_list_queries(&[], soql).is_empty());
    }
}
