//! The typed Marketo calls the worker makes: program members (read, status sync, delete), leads
//! (find, create), programs and channels. Every batch call takes at most 300 records.

use futures::future::try_join_all;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::MarketoClient;
use super::classify::CodeMessage;
use crate::connectors::CallError;

/// Marketo's Lead Database batch limit (ids per filter, leads per write, page size).
pub const BATCH_LIMIT: usize = 300;

const MEMBER_FIELDS: &str = "leadId,statusName,updatedAt,membershipDate,reachedSuccess";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberRecord {
    pub lead_id: i64,
    pub status_name: Option<String>,
    pub updated_at: Option<String>,
    pub membership_date: Option<String>,
}

/// One entry of a status-sync, delete or lead-sync answer, correlated to the input by `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatusResult {
    pub seq: usize,
    /// `created`, `updated`, `deleted` or `skipped`.
    pub status: String,
    #[serde(alias = "leadId")]
    pub id: Option<i64>,
    #[serde(default)]
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Reason {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

impl From<CodeMessage> for Reason {
    fn from(c: CodeMessage) -> Self {
        Reason {
            code: c.code,
            message: c.message,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadRecord {
    pub id: i64,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    /// Marketo's own link to Salesforce, kept by its native person sync.
    #[serde(default)]
    pub sfdc_lead_id: Option<String>,
    #[serde(default)]
    pub sfdc_contact_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramInfo {
    pub id: i64,
    pub name: String,
    pub channel: String,
    /// The Salesforce campaign Marketo's native sync links the program to, if any.
    #[serde(default)]
    pub sfdc_id: Option<String>,
    #[serde(default)]
    pub sfdc_name: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub costs: Vec<Cost>,
    /// As the Asset API spells it; compared with a browse's to skip unchanged programs.
    #[serde(rename = "updatedAt", default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    pub start_date: Option<String>,
    pub cost: f64,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProgressionStatus {
    pub name: String,
    pub step: i64,
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub hidden: bool,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Cost>, D::Error> {
    Ok(Option::<Vec<Cost>>::deserialize(d)?.unwrap_or_default())
}

fn decode<T: for<'de> Deserialize<'de>>(values: Vec<Value>) -> Result<Vec<T>, CallError> {
    values
        .into_iter()
        .map(|v| {
            serde_json::from_value(v).map_err(|e| super::classify::malformed("Marketo record", e))
        })
        .collect()
}

fn joined(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

impl MarketoClient {
    /// Follows `nextPageToken` while `moreResult` says there is more.
    async fn read_all(
        &self,
        path: &str,
        mut query: Vec<(&str, String)>,
    ) -> Result<Vec<Value>, CallError> {
        let mut records = Vec::new();
        loop {
            let page = self.send(Method::GET, path, &query, None).await?;
            records.extend(page.result);
            match page.next_page_token {
                Some(token) if page.more_result => {
                    query.retain(|(k, _)| *k != "nextPageToken");
                    query.push(("nextPageToken", token));
                }
                _ => return Ok(records),
            }
        }
    }

    /// Current membership of these leads in a program (≤300 per call); absent leads are not
    /// members.
    pub async fn members(
        &self,
        program_id: i64,
        lead_ids: &[i64],
    ) -> Result<Vec<MemberRecord>, CallError> {
        let path = format!("/rest/v1/programs/{program_id}/members.json");
        // Chunks run side by side; the client's concurrency cap and rate window still apply.
        let pages = try_join_all(lead_ids.chunks(BATCH_LIMIT).map(|chunk| {
            let query = vec![
                ("filterType", "leadId".to_string()),
                ("filterValues", joined(chunk)),
                ("fields", MEMBER_FIELDS.to_string()),
                ("batchSize", BATCH_LIMIT.to_string()),
            ];
            self.read_all(&path, query)
        }))
        .await?;
        decode(pages.into_iter().flatten().collect())
    }

    /// Every member of a program with any of these statuses (reconciliation), handed to `each`
    /// a page (≤300) at a time: one paged query for them all, as `filterValues` takes up to 300
    /// comma-separated values (a status holding a comma must be asked alone). A program over
    /// 100,000 members refuses it with 1003 ([`super::classify::is_membership_cap`]);
    /// `extract_members` reads those.
    pub async fn each_member_with_statuses(
        &self,
        program_id: i64,
        statuses: &[&str],
        mut each: impl FnMut(Vec<MemberRecord>),
    ) -> Result<(), CallError> {
        if statuses.is_empty() {
            return Ok(());
        }
        let path = format!("/rest/v1/programs/{program_id}/members.json");
        let mut query = vec![
            ("filterType", "statusName".to_string()),
            ("filterValues", statuses.join(",")),
            ("fields", MEMBER_FIELDS.to_string()),
            ("batchSize", BATCH_LIMIT.to_string()),
        ];
        loop {
            let page = self.send(Method::GET, &path, &query, None).await?;
            each(decode(page.result)?);
            match page.next_page_token {
                Some(token) if page.more_result => {
                    query.retain(|(k, _)| *k != "nextPageToken");
                    query.push(("nextPageToken", token));
                }
                _ => return Ok(()),
            }
        }
    }

    /// Sets these leads' status in a program, creating memberships; one call per 300 leads.
    /// Results are in input order (correlated by `seq`).
    pub async fn sync_status(
        &self,
        program_id: i64,
        status: &str,
        lead_ids: &[i64],
    ) -> Result<Vec<StatusResult>, CallError> {
        let path = format!("/rest/v1/programs/{program_id}/members/status.json");
        self.batched(
            &path,
            lead_ids,
            |input| json!({ "statusName": status, "input": input }),
        )
        .await
    }

    /// Removes these leads from a program; one call per 300 leads.
    pub async fn delete_members(
        &self,
        program_id: i64,
        lead_ids: &[i64],
    ) -> Result<Vec<StatusResult>, CallError> {
        let path = format!("/rest/v1/programs/{program_id}/members/delete.json");
        self.batched(&path, lead_ids, |input| json!({ "input": input }))
            .await
    }

    async fn batched(
        &self,
        path: &str,
        lead_ids: &[i64],
        body: impl Fn(Vec<Value>) -> Value,
    ) -> Result<Vec<StatusResult>, CallError> {
        let calls = lead_ids.chunks(BATCH_LIMIT).map(|chunk| {
            let input = chunk.iter().map(|id| json!({ "leadId": id })).collect();
            let body = body(input);
            async move {
                let envelope = self.send(Method::POST, path, &[], Some(&body)).await?;
                in_input_order(decode(envelope.result)?, chunk.len())
            }
        });
        Ok(try_join_all(calls).await?.into_iter().flatten().collect())
    }

    /// Leads matching a filter (`id`, `email`, `sfdcLeadId`, …), ≤300 values per call.
    pub async fn leads_by(
        &self,
        filter_type: &str,
        values: &[String],
    ) -> Result<Vec<LeadRecord>, CallError> {
        let mut leads = Vec::new();
        for chunk in values.chunks(BATCH_LIMIT) {
            let query = vec![
                ("filterType", filter_type.to_string()),
                ("filterValues", chunk.join(",")),
                (
                    "fields",
                    "id,email,firstName,lastName,company,sfdcLeadId,sfdcContactId".to_string(),
                ),
            ];
            leads.extend(decode::<LeadRecord>(
                self.read_all("/rest/v1/leads.json", query).await?,
            )?);
        }
        Ok(leads)
    }

    /// Which of these lead ids Marketo still has (one merged away or deleted is gone), read
    /// 300 at a time.
    pub async fn existing_leads(
        &self,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<std::collections::HashSet<i64>, CallError> {
        let mut ids: Vec<i64> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(std::collections::HashSet::new());
        }
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        let found = self.leads_by("id", &ids).await?;
        Ok(found.into_iter().map(|lead| lead.id).collect())
    }

    /// Creates leads, ≤300 per call (`createOnly`, by e-mail); results in input order. One that
    /// exists already is skipped (1005) rather than updated, so its fields are never overwritten.
    pub async fn create_leads(&self, leads: Vec<Value>) -> Result<Vec<StatusResult>, CallError> {
        let mut results = Vec::with_capacity(leads.len());
        for chunk in leads.chunks(BATCH_LIMIT) {
            let body = json!({ "action": "createOnly", "lookupField": "email", "input": chunk });
            let envelope = self
                .send(Method::POST, "/rest/v1/leads.json", &[], Some(&body))
                .await?;
            let mut decoded: Vec<StatusResult> = decode(
                envelope
                    .result
                    .into_iter()
                    .enumerate()
                    .map(|(i, mut v)| {
                        if v.get("seq").is_none() {
                            v["seq"] = json!(i);
                        }
                        v
                    })
                    .collect(),
            )?;
            decoded.sort_by_key(|r| r.seq);
            results.extend(decoded);
        }
        Ok(results)
    }

    /// Every program (asset API browse, 200 per page).
    pub async fn programs(&self) -> Result<Vec<ProgramInfo>, CallError> {
        const PAGE: usize = 200;
        let mut programs = Vec::new();
        loop {
            let query = [
                ("maxReturn", PAGE.to_string()),
                ("offset", programs.len().to_string()),
            ];
            let envelope = self
                .send(Method::GET, "/rest/asset/v1/programs.json", &query, None)
                .await?;
            let page: Vec<ProgramInfo> = decode(envelope.result)?;
            let full = page.len() == PAGE;
            programs.extend(page);
            if !full {
                return Ok(programs);
            }
        }
    }

    pub async fn program(&self, program_id: i64) -> Result<ProgramInfo, CallError> {
        let envelope = self
            .send(
                Method::GET,
                &format!("/rest/asset/v1/program/{program_id}.json"),
                &[],
                None,
            )
            .await?;
        decode::<ProgramInfo>(envelope.result)?
            .into_iter()
            .next()
            .ok_or_else(|| CallError::Permanent(format!("Marketo program {program_id} not found")))
    }

    /// The progression statuses of a channel, in step order.
    pub async fn channel_statuses(
        &self,
        channel: &str,
    ) -> Result<Vec<ProgressionStatus>, CallError> {
        let envelope = self
            .send(
                Method::GET,
                "/rest/asset/v1/channel/byName.json",
                &[("name", channel.to_string())],
                None,
            )
            .await?;
        let first = envelope.result.into_iter().next().ok_or_else(|| {
            CallError::Permanent(format!("Marketo channel {channel:?} not found"))
        })?;
        let mut statuses: Vec<ProgressionStatus> = decode(
            first["progressionStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        )?;
        statuses.sort_by_key(|s| s.step);
        Ok(statuses)
    }
}

/// Puts results in input order by `seq` and checks that every input got one.
fn in_input_order(
    mut results: Vec<StatusResult>,
    expected: usize,
) -> Result<Vec<StatusResult>, CallError> {
    results.sort_by_key(|r| r.seq);
    let complete = results.len() == expected && results.iter().enumerate().all(|(i, r)| r.seq == i);
    if !complete {
        return Err(CallError::Permanent(format!(
            "Marketo answered {} results for {expected} leads",
            results.len()
        )));
    }
    Ok(results)
}
