//! The activity log: a "Change Status in Progression" (type 104) activity for every membership
//! change, whoever makes it (API, user, removal), served as Marketo serves it: a paging token
//! for a date (`activities/pagingtoken.json`), then `activities.json` pages that always carry
//! the next token, filtered by type ids (≤ 10), `assetIds` (only with a single type) and
//! `leadIds` (≤ 30).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::clock;
use super::envelope::{self, MktoError};
use super::input::{self, Params};
use super::shared::{Shared, lock};

/// "Change Status in Progression": its primary asset is the program.
pub const CHANGE_STATUS_IN_PROGRESSION: i64 = 104;
const MAX_TYPE_IDS: usize = 10;
const MAX_LEAD_IDS: usize = 30;

/// One logged activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub id: i64,
    pub lead_id: i64,
    pub activity_date: i64,
    pub activity_type_id: i64,
    pub program_id: i64,
    pub program_name: String,
    pub old_status: String,
    pub new_status: String,
    /// The statuses' ids within the program's channel.
    pub old_status_id: i64,
    pub new_status_id: i64,
    /// Whether the new status is a success step.
    pub success: bool,
    /// Whether this program acquired the person (their first membership).
    pub acquired_by: bool,
}

impl Activity {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "marketoGUID": self.id.to_string(),
            "leadId": self.lead_id,
            "activityDate": clock::lead_db(self.activity_date),
            "activityTypeId": self.activity_type_id,
            "primaryAttributeValueId": self.program_id,
            "primaryAttributeValue": self.program_name,
            "attributes": [
                { "name": "Acquired By", "value": self.acquired_by },
                { "name": "New Status ID", "value": self.new_status_id },
                { "name": "Old Status ID", "value": self.old_status_id },
                { "name": "Old Status", "value": self.old_status },
                { "name": "New Status", "value": self.new_status },
                { "name": "Program ID", "value": self.program_id },
                { "name": "Success", "value": self.success },
            ],
        })
    }
}

/// `GET /rest/v1/activities/pagingtoken.json?sinceDatetime=…`.
pub async fn paging_token(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    let found = input::params(query).and_then(|params| {
        let raw = input::required(&params, "sinceDatetime")?;
        let since = clock::parse(raw)
            .ok_or_else(|| MktoError::InvalidData(format!("Invalid sinceDatetime '{raw}'")))?;
        let world = lock(&shared.world);
        let position = world
            .activities
            .iter()
            .position(|a| a.activity_date >= since)
            .unwrap_or(world.activities.len());
        // One token for both logs: the position here, the date for posted custom activities.
        Ok(format!(
            "{}=",
            hex::encode_upper(format!("simboth:{position}:{since}"))
        ))
    });
    match found {
        Ok(token) => envelope::paging_token(&token),
        Err(error) => error.into_response(),
    }
}

/// `GET /rest/v1/activities.json?nextPageToken=…&activityTypeIds=…`.
pub async fn query(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    input::params(query)
        .and_then(|params| {
            let filter = FeedFilter::read(&params)?;
            // Custom activity types (ids above 100,000) are served from what was posted.
            let custom = filter.types.iter().filter(|&&t| t > CUSTOM_TYPE_IDS_FROM);
            match custom.count() {
                0 => page(&shared, &params, &filter),
                n if n == filter.types.len() => {
                    super::custom_activities::feed_page(&shared, &params, &filter)
                }
                _ => Err(MktoError::InvalidData(
                    "the simulator serves custom and standard activity types in separate calls"
                        .into(),
                )),
            }
        })
        .unwrap_or_else(IntoResponse::into_response)
}

/// Custom activity type ids start above this.
const CUSTOM_TYPE_IDS_FROM: i64 = 100_000;

fn ids(params: &Params, name: &'static str) -> Result<Vec<i64>, MktoError> {
    params
        .get(name)
        .map(|raw| {
            input::csv(raw)
                .iter()
                .map(|v| {
                    v.parse()
                        .map_err(|_| MktoError::InvalidData(format!("Invalid {name} '{v}'")))
                })
                .collect()
        })
        .unwrap_or(Ok(Vec::new()))
}

/// The feed's filters, checked alike for standard and custom types: 1 to 10 type ids,
/// `assetIds` only with one type, at most 30 `leadIds`, `batchSize` 1 to 300.
pub struct FeedFilter {
    pub types: Vec<i64>,
    pub assets: Vec<i64>,
    pub leads: Vec<i64>,
    pub size: usize,
}

impl FeedFilter {
    fn read(params: &Params) -> Result<FeedFilter, MktoError> {
        let types = ids(params, "activityTypeIds")?;
        if types.is_empty() {
            return Err(MktoError::Blank("activityTypeIds"));
        }
        if types.len() > MAX_TYPE_IDS {
            return Err(MktoError::InvalidData(format!(
                "Too many activityTypeIds: {} exceeds the limit of {MAX_TYPE_IDS}",
                types.len()
            )));
        }
        let assets = ids(params, "assetIds")?;
        if !assets.is_empty() && types.len() != 1 {
            return Err(MktoError::InvalidData(
                "assetIds may only be used with a single activityTypeId".into(),
            ));
        }
        let leads = ids(params, "leadIds")?;
        if leads.len() > MAX_LEAD_IDS {
            return Err(MktoError::InvalidData(format!(
                "Too many leadIds: {} exceeds the limit of {MAX_LEAD_IDS}",
                leads.len()
            )));
        }
        let size = input::batch_size(params)?;
        Ok(FeedFilter {
            types,
            assets,
            leads,
            size,
        })
    }
}

fn page(shared: &Shared, params: &Params, filter: &FeedFilter) -> Result<Response, MktoError> {
    let start = decode(input::required(params, "nextPageToken")?)
        .ok_or_else(|| MktoError::InvalidData("Invalid nextPageToken".into()))?;
    let FeedFilter {
        types,
        assets,
        leads,
        size,
    } = filter;
    let world = lock(&shared.world);
    let all = &world.activities;
    let mut result = Vec::new();
    let mut at = start.min(all.len());
    while at < all.len() && result.len() < *size {
        let activity = &all[at];
        at += 1;
        if types.contains(&activity.activity_type_id)
            && (assets.is_empty() || assets.contains(&activity.program_id))
            && (leads.is_empty() || leads.contains(&activity.lead_id))
        {
            result.push(activity.to_json());
        }
    }
    Ok(envelope::activities(result, &encode(at), at < all.len()))
}

/// Tokens are opaque to clients; here a position in the log.
fn encode(position: usize) -> String {
    format!("{}=", hex::encode_upper(format!("simact:{position}")))
}

fn decode(token: &str) -> Option<usize> {
    let bytes = hex::decode(token.trim().trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    if let Some(rest) = text.strip_prefix("simboth:") {
        return rest.split_once(':')?.0.parse().ok();
    }
    text.strip_prefix("simact:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_others() {
        assert_eq!(decode(&encode(42)), Some(42));
        assert_eq!(decode("garbage"), None);
        assert_eq!(decode(&hex::encode_upper("simpage:3")), None);
    }
}
