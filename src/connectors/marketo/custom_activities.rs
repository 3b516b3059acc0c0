//! Custom activity types (list, create, add attributes, approve), posting custom activities
//! (≤300 per call) and Request Campaign (≤100 leads per call) on Marketo's REST API.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::MarketoClient;
use super::calls::{BATCH_LIMIT, Reason};
use crate::connectors::CallError;

/// Request Campaign's limit of leads (and of tokens) per call.
pub const REQUEST_LIMIT: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeSpec {
    pub api_name: String,
    pub name: String,
    pub data_type: String,
}

/// What a custom activity type should look like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityTypeSpec {
    pub api_name: String,
    pub name: String,
    pub trigger_name: String,
    pub filter_name: String,
    pub description: String,
    pub primary_attribute: AttributeSpec,
    #[serde(skip)]
    pub attributes: Vec<AttributeSpec>,
}

/// A custom activity type as Marketo describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityTypeInfo {
    /// Listed types carry it; a creation's answer does not.
    pub id: Option<i64>,
    pub api_name: String,
    pub name: String,
    /// `draft`, `approved` or `approved with draft`.
    pub status: String,
    #[serde(default)]
    pub attributes: Vec<AttributeSpec>,
}

/// What became of one posted activity, in input order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ActivityResult {
    pub id: Option<i64>,
    pub status: String,
    /// Lead Database calls say `reasons`; the Swagger definition of this one says `errors`.
    #[serde(default, alias = "errors")]
    pub reasons: Vec<Reason>,
}

fn first<T: for<'de> Deserialize<'de>>(result: Vec<Value>, what: &str) -> Result<T, CallError> {
    let value = result
        .into_iter()
        .next()
        .ok_or_else(|| CallError::Permanent(format!("Marketo answered no {what}")))?;
    serde_json::from_value(value)
        .map_err(|e| super::classify::malformed("Marketo activity type", e))
}

impl MarketoClient {
    pub async fn custom_activity_types(&self) -> Result<Vec<ActivityTypeInfo>, CallError> {
        let envelope = self
            .send(
                Method::GET,
                "/rest/v1/activities/external/types.json",
                &[],
                None,
            )
            .await?;
        envelope
            .result
            .into_iter()
            .map(|v| {
                serde_json::from_value(v)
                    .map_err(|e| super::classify::malformed("Marketo activity type", e))
            })
            .collect()
    }

    /// The draft version of a type (what approving would publish).
    pub async fn describe_activity_type_draft(
        &self,
        api_name: &str,
    ) -> Result<ActivityTypeInfo, CallError> {
        let path = format!("/rest/v1/activities/external/type/{api_name}/describe.json");
        let query = [("draft", "true".to_string())];
        let envelope = self.send(Method::GET, &path, &query, None).await?;
        first(envelope.result, "activity type")
    }

    /// Creates the type as a draft. Its answer is not read: Marketo's documented answer has no
    /// id, so the id is found by listing the types.
    pub async fn create_activity_type(&self, spec: &ActivityTypeSpec) -> Result<(), CallError> {
        let body = serde_json::to_value(spec)
            .map_err(|e| CallError::Permanent(format!("activity type {e}")))?;
        self.send(
            Method::POST,
            "/rest/v1/activities/external/type.json",
            &[],
            Some(&body),
        )
        .await?;
        Ok(())
    }

    pub async fn add_activity_type_attributes(
        &self,
        api_name: &str,
        attributes: &[AttributeSpec],
    ) -> Result<(), CallError> {
        let path = format!("/rest/v1/activities/external/type/{api_name}/attributes/create.json");
        let body = json!({ "attributes": attributes });
        self.send(Method::POST, &path, &[], Some(&body)).await?;
        Ok(())
    }

    pub async fn approve_activity_type(&self, api_name: &str) -> Result<(), CallError> {
        let path = format!("/rest/v1/activities/external/type/{api_name}/approve.json");
        self.send(Method::POST, &path, &[], None).await?;
        Ok(())
    }

    /// Posts custom activities (each `{leadId, activityDate, activityTypeId,
    /// primaryAttributeValue, attributes}`), 300 per call; one result per activity, in input
    /// order.
    pub async fn post_custom_activities(
        &self,
        activities: &[Value],
    ) -> Result<Vec<ActivityResult>, CallError> {
        let mut results = Vec::with_capacity(activities.len());
        for chunk in activities.chunks(BATCH_LIMIT) {
            let body = json!({ "input": chunk });
            let envelope = self
                .send(
                    Method::POST,
                    "/rest/v1/activities/external.json",
                    &[],
                    Some(&body),
                )
                .await?;
            if envelope.result.len() != chunk.len() {
                return Err(CallError::retry(format!(
                    "Marketo answered {} results for {} activities",
                    envelope.result.len(),
                    chunk.len()
                )));
            }
            for value in envelope.result {
                results.push(
                    serde_json::from_value(value)
                        .map_err(|e| super::classify::malformed("Marketo activity result", e))?,
                );
            }
        }
        Ok(results)
    }

    /// Requests a smart campaign for these leads with `{{my.…}}` tokens, 100 leads per call.
    pub async fn request_campaign(
        &self,
        campaign_id: i64,
        lead_ids: &[i64],
        tokens: &[(String, String)],
    ) -> Result<(), CallError> {
        let path = format!("/rest/v1/campaigns/{campaign_id}/trigger.json");
        let tokens: Vec<Value> = tokens
            .iter()
            .take(REQUEST_LIMIT)
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect();
        for chunk in lead_ids.chunks(REQUEST_LIMIT) {
            let leads: Vec<Value> = chunk.iter().map(|id| json!({ "id": id })).collect();
            let body = json!({ "input": { "leads": leads, "tokens": tokens } });
            self.send(Method::POST, &path, &[], Some(&body)).await?;
        }
        Ok(())
    }
}
