//! Posting custom activities (`POST /rest/v1/activities/external.json`, ≤300, each checked
//! against its approved type), reading them back the way a Marketo user's integration does
//! (`GET /rest/v1/activities/pagingtoken.json`, `GET /rest/v1/activities.json` with
//! `activityTypeIds`), and Request Campaign (`POST /rest/v1/campaigns/{id}/trigger.json`,
//! ≤100 leads and ≤100 `{{my.…}}` tokens, on a requestable smart campaign), and reading such a
//! campaign (`GET /rest/asset/v1/smartCampaign/{id}.json`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::activities::FeedFilter;
use super::activity_types::ActivityType;
use super::clock;
use super::envelope::{self, MktoError};
use super::input::{self, Params};
use super::shared::{Shared, lock};

/// Request Campaign's limits: leads and tokens per call.
pub const MAX_REQUESTED_LEADS: usize = 100;

#[derive(Debug, Default)]
pub struct CustomActivities {
    pub types: Vec<ActivityType>,
    pub posted: Vec<PostedActivity>,
    /// Smart campaigns whose trigger is "Campaign is Requested" from the Web Service API.
    pub campaigns: BTreeMap<i64, String>,
    pub requests: Vec<CampaignRequest>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostedActivity {
    pub id: i64,
    pub lead_id: i64,
    pub activity_type_id: i64,
    pub activity_date: String,
    pub primary_attribute_value: String,
    /// `{name, apiName, value}` as the feed shows them.
    pub attributes: Vec<Value>,
    pub posted_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignRequest {
    pub campaign_id: i64,
    pub lead_ids: Vec<i64>,
    pub tokens: Vec<Token>,
    pub at: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewActivity {
    lead_id: Option<i64>,
    activity_date: Option<String>,
    activity_type_id: Option<i64>,
    primary_attribute_value: Option<Value>,
    #[serde(default)]
    attributes: Vec<NewAttribute>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewAttribute {
    api_name: Option<String>,
    name: Option<String>,
    value: Value,
}

#[derive(Deserialize)]
struct Activities {
    #[serde(default)]
    input: Vec<NewActivity>,
}

pub async fn post(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    post_activities(&shared, &headers, &body).unwrap_or_else(IntoResponse::into_response)
}

fn post_activities(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, MktoError> {
    let request: Activities = input::json_body(headers, body)?;
    if request.input.is_empty() {
        return Err(MktoError::Blank("input"));
    }
    input::within_batch(request.input.len(), "activities")?;
    let leads: Vec<i64> = request.input.iter().filter_map(|a| a.lead_id).collect();
    let known: Vec<bool> = {
        let world = lock(&shared.world);
        leads
            .iter()
            .map(|id| world.leads.contains_key(id))
            .collect()
    };
    let known = |id: i64| leads.iter().zip(&known).any(|(l, k)| *l == id && *k);
    let now = clock::now_ms();
    let mut store = lock(&shared.custom_activities);
    let mut result = Vec::with_capacity(request.input.len());
    for activity in request.input {
        match accept(&store.types, activity, &known, now) {
            Ok(mut posted) => {
                posted.id = 900_000 + store.posted.len() as i64 + 1;
                result.push(json!({ "id": posted.id, "marketoGUID": posted.id.to_string(), "status": "added" }));
                store.posted.push(posted);
            }
            Err((code, message)) => {
                // This call's Swagger names a record's errors `errors`, not the Lead
                // Database's `reasons`.
                result.push(
                    json!({ "status": "skipped", "errors": envelope::reason(code, &message) }),
                );
            }
        }
    }
    Ok(envelope::lead_db(result, None))
}

/// One activity against its approved type, or the record-level reason it is skipped.
fn accept(
    types: &[ActivityType],
    activity: NewActivity,
    known: &dyn Fn(i64) -> bool,
    now: i64,
) -> Result<PostedActivity, (&'static str, String)> {
    let lead_id = activity
        .lead_id
        .ok_or(("1003", "leadId is required".to_string()))?;
    if !known(lead_id) {
        return Err(("1004", "Lead not found".into()));
    }
    let date = activity
        .activity_date
        .filter(|d| clock::parse(d).is_some())
        .ok_or(("1003", "activityDate is required (ISO-8601)".to_string()))?;
    // Marketo finds the type by its id alone; `apiName` is not a way to name it here.
    let type_id = activity
        .activity_type_id
        .ok_or(("1003", "activityTypeId is required".to_string()))?;
    let found = types
        .iter()
        .find(|t| t.id == type_id)
        .ok_or(("1013", "Activity type not found".to_string()))?;
    let approved = found.approved.as_ref().ok_or((
        "1003",
        format!("Activity type '{}' is not approved", found.api_name),
    ))?;
    let primary = match activity.primary_attribute_value {
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(("1003", "primaryAttributeValue is required".into())),
    };
    let mut attributes = Vec::with_capacity(activity.attributes.len());
    for attribute in activity.attributes {
        let key = attribute.api_name.or(attribute.name).unwrap_or_default();
        let defined = approved
            .attributes
            .iter()
            .find(|a| a.api_name == key || a.name == key)
            .ok_or(("1006", format!("Field '{key}' not found")))?;
        attributes.push(
            json!({ "name": defined.name, "apiName": defined.api_name, "value": attribute.value }),
        );
    }
    Ok(PostedActivity {
        id: 0,
        lead_id,
        activity_type_id: found.id,
        activity_date: date,
        primary_attribute_value: primary,
        attributes,
        posted_at: now,
    })
}

/// The feed position: activities posted at or after `at`, with an id above `after`. Reads its
/// own tokens and the shared ones `activities/pagingtoken.json` hands out.
fn token(at: i64, after: i64) -> String {
    hex::encode_upper(format!("simfeed:{at}:{after}"))
}

fn read_token(text: &str) -> Option<(i64, i64)> {
    let text = String::from_utf8(hex::decode(text.trim().trim_end_matches('=')).ok()?).ok()?;
    if let Some(rest) = text.strip_prefix("simboth:") {
        let (_, at) = rest.split_once(':')?;
        return Some((at.parse().ok()?, 0));
    }
    let (at, after) = text.strip_prefix("simfeed:")?.split_once(':')?;
    Some((at.parse().ok()?, after.parse().ok()?))
}

/// A page of posted custom activities (the activity feed for custom type ids).
pub fn feed_page(
    shared: &Shared,
    params: &Params,
    filter: &FeedFilter,
) -> Result<Response, MktoError> {
    let (at, after) = read_token(input::required(params, "nextPageToken")?)
        .ok_or_else(|| MktoError::InvalidData("Invalid nextPageToken".into()))?;
    let FeedFilter {
        types: type_ids,
        assets,
        leads,
        size,
    } = filter;
    let store = lock(&shared.custom_activities);
    let matching: Vec<&PostedActivity> = store
        .posted
        .iter()
        .filter(|a| a.posted_at >= at && a.id > after && type_ids.contains(&a.activity_type_id))
        .filter(|a| leads.is_empty() || leads.contains(&a.lead_id))
        // A posted activity's primary attribute is a value, not an asset: `assetIds` matches none.
        .filter(|_| assets.is_empty())
        .collect();
    let page: Vec<&PostedActivity> = matching.iter().take(*size).copied().collect();
    let more = matching.len() > page.len();
    let last = page.last().map_or(after, |a| a.id);
    let result: Vec<Value> = page
        .iter()
        .map(|a| json!({ "id": a.id, "marketoGUID": a.id.to_string(), "leadId": a.lead_id, "activityDate": a.activity_date, "activityTypeId": a.activity_type_id, "primaryAttributeValue": a.primary_attribute_value, "attributes": a.attributes }))
        .collect();
    // The feed always hands back a token to resume from; `moreResult` says whether to now.
    let body = json!({
        "requestId": envelope::request_id(), "success": true, "result": result,
        "nextPageToken": token(at, last), "moreResult": more,
    });
    let mut response = axum::Json(body).into_response();
    response.extensions_mut().insert(envelope::Outcome {
        code: None,
        records: page.len(),
    });
    Ok(response)
}

#[derive(Deserialize)]
struct TriggerRequest {
    input: Option<TriggerInput>,
}

#[derive(Deserialize)]
struct TriggerInput {
    #[serde(default)]
    leads: Vec<LeadId>,
    #[serde(default)]
    tokens: Vec<Token>,
}

#[derive(Deserialize)]
struct LeadId {
    id: i64,
}

/// `GET /rest/asset/v1/smartCampaign/{id}.json`: a requestable smart campaign (the only kind
/// the simulator holds: active, triggered by *Campaign is Requested* from the Web Service API),
/// or no asset.
pub async fn smart_campaign(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
) -> Response {
    let store = lock(&shared.custom_activities);
    let found = file
        .strip_suffix(".json")
        .and_then(|id| id.parse::<i64>().ok())
        .and_then(|id| Some((id, store.campaigns.get(&id)?)));
    let campaigns = found.map(|(id, name)| {
        json!({
            "id": id, "name": name, "description": "", "type": "trigger",
            "isSystem": false, "isActive": true, "isRequestable": true,
            "status": "Active", "maxMembers": 0,
        })
    });
    envelope::asset(campaigns.into_iter().collect())
}

pub async fn request_campaign(
    State(shared): State<Arc<Shared>>,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    request(&shared, &raw_id, &headers, &body).unwrap_or_else(IntoResponse::into_response)
}

fn request(
    shared: &Shared,
    raw_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, MktoError> {
    let id: i64 = raw_id
        .strip_suffix("trigger.json")
        .unwrap_or(raw_id)
        .parse()
        .map_err(|_| MktoError::NotFound)?;
    let request: TriggerRequest = input::json_body(headers, body)?;
    let input = request.input.ok_or(MktoError::Blank("input"))?;
    if input.leads.is_empty() {
        return Err(MktoError::Blank("leads"));
    }
    if input.leads.len() > MAX_REQUESTED_LEADS || input.tokens.len() > MAX_REQUESTED_LEADS {
        return Err(MktoError::InvalidData(
            "At most 100 leads and 100 tokens per call".into(),
        ));
    }
    if let Some(bad) = input
        .tokens
        .iter()
        .find(|t| !(t.name.starts_with("{{my.") && t.name.ends_with("}}")))
    {
        return Err(MktoError::InvalidData(format!(
            "Invalid token name '{}'",
            bad.name
        )));
    }
    let mut store = lock(&shared.custom_activities);
    if !store.campaigns.contains_key(&id) {
        return Err(MktoError::ObjectNotFound(format!(
            "Campaign {id} not found or not requestable"
        )));
    }
    store.requests.push(CampaignRequest {
        campaign_id: id,
        lead_ids: input.leads.iter().map(|l| l.id).collect(),
        tokens: input.tokens,
        at: clock::now_ms(),
    });
    Ok(envelope::lead_db(vec![json!({ "id": id })], None))
}
