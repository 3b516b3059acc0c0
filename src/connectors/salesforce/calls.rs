//! The typed Salesforce calls the worker makes: SOQL reads, sObject Collections writes (≤200
//! records a call) and campaign settings.

use futures::future::try_join_all;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::SalesforceClient;
use super::classify::{RecordResult, malformed};
use super::in_lists::in_list_queries;
use crate::connectors::CallError;

/// sObject Collections take at most this many records per call.
pub const COLLECTION_LIMIT: usize = 200;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CampaignMember {
    pub id: String,
    pub campaign_id: String,
    pub lead_id: Option<String>,
    pub contact_id: Option<String>,
    pub status: Option<String>,
    pub email: Option<String>,
    pub system_modstamp: Option<String>,
    /// The person's names and company, which Salesforce mirrors onto the member (read-only).
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub company_or_account: Option<String>,
}

impl CampaignMember {
    /// Salesforce keeps the ContactId when a member has both.
    pub fn person_id(&self) -> Option<&str> {
        self.contact_id.as_deref().or(self.lead_id.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Person {
    pub id: String,
    pub email: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryPage {
    records: Vec<Value>,
    done: bool,
    next_records_url: Option<String>,
}

pub(super) const MEMBER_FIELDS: &str =
    "Id, CampaignId, LeadId, ContactId, Email, Status, SystemModstamp";

/// The member fields and the person's names and company Salesforce mirrors onto the member.
const NAMED_MEMBER_FIELDS: &str = "Id, CampaignId, LeadId, ContactId, Email, Status, \
     SystemModstamp, FirstName, LastName, CompanyOrAccount";

impl SalesforceClient {
    /// Runs a SOQL query and follows `nextRecordsUrl` until `done`.
    pub async fn query(&self, soql: &str) -> Result<Vec<Value>, CallError> {
        let encoded: String = url_encode(soql);
        let mut page = self.fetch_page(&format!("/query?q={encoded}")).await?;
        let mut records = std::mem::take(&mut page.records);
        while !page.done {
            let Some(next) = page.next_records_url.take() else {
                break;
            };
            page = self.fetch_page(&next).await?;
            records.append(&mut page.records);
        }
        Ok(records)
    }

    async fn fetch_page(&self, path: &str) -> Result<QueryPage, CallError> {
        let body = self.send(Method::GET, path, None).await?;
        serde_json::from_value(body).map_err(|e| malformed("query response", e))
    }

    pub(super) async fn query_as<T: for<'de> Deserialize<'de>>(
        &self,
        soql: &str,
    ) -> Result<Vec<T>, CallError> {
        self.query(soql)
            .await?
            .into_iter()
            .map(|v| serde_json::from_value(v).map_err(|e| malformed("query record", e)))
            .collect()
    }

    /// Every member of a campaign (reconciliation), handed to `each` one query page (up to
    /// 2,000 records) at a time, so no more than a page is held.
    pub async fn each_campaign_member_page(
        &self,
        campaign_id: &str,
        mut each: impl FnMut(Vec<CampaignMember>),
    ) -> Result<(), CallError> {
        let soql = format!(
            "SELECT {MEMBER_FIELDS} FROM CampaignMember WHERE CampaignId = '{}'",
            soql_quote(campaign_id)
        );
        let mut page = self
            .fetch_page(&format!("/query?q={}", url_encode(&soql)))
            .await?;
        loop {
            let members = std::mem::take(&mut page.records)
                .into_iter()
                .map(|v| serde_json::from_value(v).map_err(|e| malformed("query record", e)))
                .collect::<Result<Vec<CampaignMember>, _>>()?;
            each(members);
            match page.next_records_url.take() {
                Some(next) if !page.done => page = self.fetch_page(&next).await?,
                _ => return Ok(()),
            }
        }
    }

    /// The members of `campaign_id` among the given Lead/Contact ids.
    pub async fn members_for(
        &self,
        campaign_id: &str,
        person_ids: &[String],
    ) -> Result<Vec<CampaignMember>, CallError> {
        self.members_with(MEMBER_FIELDS, campaign_id, person_ids)
            .await
    }

    /// [`Self::members_for`] with the person's first and last name and company on each.
    pub async fn named_members_for(
        &self,
        campaign_id: &str,
        person_ids: &[String],
    ) -> Result<Vec<CampaignMember>, CallError> {
        self.members_with(NAMED_MEMBER_FIELDS, campaign_id, person_ids)
            .await
    }

    async fn members_with(
        &self,
        fields: &str,
        campaign_id: &str,
        person_ids: &[String],
    ) -> Result<Vec<CampaignMember>, CallError> {
        let mut members = Vec::new();
        let (contacts, leads): (Vec<_>, Vec<_>) =
            person_ids.iter().partition(|id| id.starts_with("003"));
        for (field, ids) in [("ContactId", contacts), ("LeadId", leads)] {
            let ids: Vec<String> = ids.into_iter().cloned().collect();
            let queries = in_list_queries(&ids, |list| {
                format!(
                    "SELECT {fields} FROM CampaignMember WHERE CampaignId = '{}' AND {field} IN ({list})",
                    soql_quote(campaign_id),
                )
            });
            for soql in queries {
                members.extend(self.query_as::<CampaignMember>(&soql).await?);
            }
        }
        Ok(members)
    }

    /// Contacts, then unconverted Leads, with these e-mails (Marketo's matching order).
    pub async fn people_by_email(
        &self,
        emails: &[String],
    ) -> Result<(Vec<Person>, Vec<Person>), CallError> {
        let mut contacts = Vec::new();
        let mut leads = Vec::new();
        // E-mails run to 80 characters: the list is cut by its encoded length.
        let contact_queries = in_list_queries(emails, |list| {
            format!("SELECT Id, Email FROM Contact WHERE Email IN ({list})")
        });
        for soql in contact_queries {
            contacts.extend(self.query_as::<Person>(&soql).await?);
        }
        let lead_queries = in_list_queries(emails, |list| {
            format!("SELECT Id, Email FROM Lead WHERE IsConverted = false AND Email IN ({list})")
        });
        for soql in lead_queries {
            leads.extend(self.query_as::<Person>(&soql).await?);
        }
        Ok((contacts, leads))
    }

    /// Which of these Leads were converted, with the Contact each became: `(lead, contact)`.
    pub async fn converted_leads(
        &self,
        lead_ids: &[String],
    ) -> Result<Vec<(String, String)>, CallError> {
        let mut converted = Vec::new();
        let queries = in_list_queries(lead_ids, |list| {
            format!(
                "SELECT Id, ConvertedContactId FROM Lead WHERE IsConverted = true AND Id IN ({list})"
            )
        });
        for soql in queries {
            for row in self.query(&soql).await? {
                if let (Some(lead), Some(contact)) =
                    (row["Id"].as_str(), row["ConvertedContactId"].as_str())
                {
                    converted.push((lead.to_string(), contact.to_string()));
                }
            }
        }
        Ok(converted)
    }

    /// Creates records of one type, ≤200 per call; results in input order.
    pub async fn create(
        &self,
        sobject: &str,
        records: Vec<Value>,
    ) -> Result<Vec<RecordResult>, CallError> {
        self.collection(Method::POST, sobject, records).await
    }

    /// Updates records (each carrying `Id`), ≤200 per call; results in input order.
    pub async fn update(
        &self,
        sobject: &str,
        records: Vec<Value>,
    ) -> Result<Vec<RecordResult>, CallError> {
        self.collection(Method::PATCH, sobject, records).await
    }

    async fn collection(
        &self,
        method: Method,
        sobject: &str,
        records: Vec<Value>,
    ) -> Result<Vec<RecordResult>, CallError> {
        // Chunks run side by side within the client's concurrency cap; results keep input order.
        // CampaignMember chunks go one after another: Salesforce locks a member's Campaign row
        // while writing it, so chunks of one campaign sent at once only queue for the row, and
        // one that waits too long fails with `UNABLE_TO_LOCK_ROW`.
        let one_at_a_time = sobject == "CampaignMember";
        let calls = records.chunks(COLLECTION_LIMIT).map(|chunk| {
            let records: Vec<Value> = chunk
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r["attributes"] = json!({ "type": sobject });
                    r
                })
                .collect();
            let body = json!({ "allOrNone": false, "records": records });
            let method = method.clone();
            async move {
                let answer = self
                    .send(method, "/composite/sobjects", Some(&body))
                    .await?;
                parse_results(answer, chunk.len())
            }
        });
        if one_at_a_time {
            let mut results = Vec::with_capacity(records.len());
            for call in calls {
                results.extend(call.await?);
            }
            return Ok(results);
        }
        Ok(try_join_all(calls).await?.into_iter().flatten().collect())
    }

    /// Deletes records by id, ≤200 per call; results in input order. The chunks go one after
    /// another: the records this service deletes are CampaignMembers, and deleting them locks
    /// their Campaign's row as writing them does.
    pub async fn delete(&self, ids: &[String]) -> Result<Vec<RecordResult>, CallError> {
        let mut results = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(COLLECTION_LIMIT) {
            let path = format!(
                "/composite/sobjects?ids={}&allOrNone=false",
                chunk.join(",")
            );
            let answer = self.send(Method::DELETE, &path, None).await?;
            results.extend(parse_results(answer, chunk.len())?);
        }
        Ok(results)
    }

    /// The member status labels a campaign offers.
    pub async fn campaign_statuses(&self, campaign_id: &str) -> Result<Vec<String>, CallError> {
        let soql = format!(
            "SELECT Label, SortOrder FROM CampaignMemberStatus WHERE CampaignId = '{}'",
            soql_quote(campaign_id)
        );
        Ok(self
            .query(&soql)
            .await?
            .iter()
            .filter_map(|r| r["Label"].as_str().map(str::to_string))
            .collect())
    }

    /// One record's fields, e.g. a Campaign's `Type` and `ActualCost`.
    pub async fn get(&self, sobject: &str, id: &str) -> Result<Value, CallError> {
        self.send(Method::GET, &format!("/sobjects/{sobject}/{id}"), None)
            .await
    }

    pub async fn patch(&self, sobject: &str, id: &str, fields: &Value) -> Result<(), CallError> {
        self.send(
            Method::PATCH,
            &format!("/sobjects/{sobject}/{id}"),
            Some(fields),
        )
        .await
        .map(|_| ())
    }
}

fn parse_results(answer: Value, expected: usize) -> Result<Vec<RecordResult>, CallError> {
    let results: Vec<RecordResult> =
        serde_json::from_value(answer).map_err(|e| malformed("collection response", e))?;
    if results.len() != expected {
        return Err(malformed(
            "collection response",
            format!("{} results for {expected} records", results.len()),
        ));
    }
    Ok(results)
}

/// Quotes a value for a SOQL string literal.
pub fn soql_quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

pub(super) fn in_list<'a>(values: impl Iterator<Item = &'a str>) -> String {
    values
        .map(|v| format!("'{}'", soql_quote(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Percent-encodes everything but unreserved characters (query strings, SOQL).
pub fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
