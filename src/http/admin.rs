//! Operator calls behind the admin bearer token: the trigger-event feed, the member-of query,
//! and the mapping switches (dead letters are in `admin_dead_letters`).

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::query::{Cursor, Limit, NoParams, Query};
use crate::store::now_millis;

/// Proof that the request carried `Authorization: Bearer <admin.token>` (compared in constant
/// time; an unset token refuses everyone). Taking it as an argument protects a handler.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = bearer(parts);
        if state.config().admin.token.matches(presented.as_bytes()) {
            Ok(Admin)
        } else {
            Err(refused(state))
        }
    }
}

/// A caller of the `/v1/...` feeds: the admin token, or `admin.read_token`, which opens these
/// and nothing else.
pub struct Reader;

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = bearer(parts);
        let admin = &state.config().admin;
        if admin.token.matches(presented.as_bytes())
            || admin.read_token.matches(presented.as_bytes())
        {
            Ok(Reader)
        } else {
            Err(refused(state))
        }
    }
}

/// The refusal of a caller without the right token; with no `admin.token` set, one saying so,
/// since no token could be right.
fn refused(state: &AppState) -> ApiError {
    if state.config().admin.token.is_empty() {
        ApiError::Status {
            status: axum::http::StatusCode::UNAUTHORIZED,
            message: "admin.token is not set, so every admin call is refused: set it (or \
                      CAMPAIGN_SYNC_ADMIN__TOKEN) and restart the service"
                .into(),
        }
    } else {
        ApiError::Unauthorized
    }
}

/// The request's bearer token ("" when none). The scheme's name is case-insensitive, as HTTP
/// has it (`bearer` and `BEARER` are `Bearer`), and whitespace around the token is not part of it.
fn bearer(parts: &Parts) -> &str {
    parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token.trim())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    after: Option<Cursor>,
    #[serde(default)]
    limit: Limit,
}

impl Page {
    fn after(&self) -> i64 {
        self.after.map_or(0, |Cursor(after)| after)
    }

    fn limit(&self) -> u32 {
        self.limit.0
    }
}

pub(super) fn unavailable(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%error, "admin call failed on the store");
    ApiError::Unavailable
}

pub async fn trigger_events(
    State(state): State<AppState>,
    _: Reader,
    Query(page): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    let items = state
        .store()
        .trigger_events_named(page.after(), page.limit())
        .await
        .map_err(unavailable)?;
    let next = items.last().map_or(page.after(), |e| e.event.id);
    Ok(Json(json!({ "items": items, "next_after": next })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct MemberOf {
    campaign_id: Option<String>,
    program_id: Option<i64>,
    /// Read as text, so a Salesforce id given here is refused saying what to give instead.
    lead_id: Option<String>,
    email: Option<String>,
}

/// The Marketo lead id of `leadId`: a positive whole number; a Salesforce Lead or Contact id
/// (the natural guess beside a campaign id) is refused saying to ask by e-mail.
fn marketo_lead_id(text: &str) -> Result<i64, ApiError> {
    match text.trim().parse::<i64>() {
        Ok(lead) if lead >= 1 => Ok(lead),
        _ => {
            let hint = if crate::ids::SalesforceId::parse(text.trim()).is_ok() {
                ": that is a Salesforce id; ask by the person's email instead"
            } else {
                ""
            };
            Err(ApiError::field(
                "leadId",
                format!("leadId {text:?} is not a Marketo lead id (a positive whole number){hint}"),
            ))
        }
    }
}

/// Marketo's "Member of SFDC Campaign" filter, answered from the mirror.
pub async fn member_of(
    State(state): State<AppState>,
    _: Reader,
    Query(query): Query<MemberOf>,
) -> Result<Json<Value>, ApiError> {
    if let Some(campaign) = &query.campaign_id {
        crate::ids::SalesforceId::parse(campaign)
            .map_err(|e| ApiError::field("campaignId", format!("campaignId {campaign:?}: {e}")))?;
    }
    let mapping = match (&query.campaign_id, query.program_id) {
        (Some(c), _) => state.mappings().by_campaign(c),
        (None, Some(p)) => state.mappings().by_program(p),
        (None, None) => {
            return Err(ApiError::field(
                "campaignId",
                "give campaignId or programId",
            ));
        }
    }
    .ok_or_else(|| ApiError::NotFound("mapping for that campaign or program".into()))?;
    if let Some(program) = query.program_id.filter(|&p| p != mapping.config.program_id) {
        return Err(ApiError::field(
            "programId",
            format!(
                "programId {program} is not the program campaignId is mapped to ({}): give \
                 one of the two, or both of one mapping",
                mapping.config.program_id
            ),
        ));
    }
    if query.lead_id.is_none() && query.email.is_none() {
        return Err(ApiError::field("leadId", "give leadId or email"));
    }
    let lead_id = query.lead_id.as_deref().map(marketo_lead_id).transpose()?;
    if let Some(email) = query
        .email
        .as_deref()
        .filter(|e| !crate::store::is_email_address(e))
    {
        return Err(ApiError::field(
            "email",
            format!("email {email:?} is not an e-mail address"),
        ));
    }
    let store = state.store();
    let identity = store
        .find_identity(lead_id, None, query.email.as_deref())
        .await
        .map_err(unavailable)?;
    // Both given: they must name one person, or the answer would be about one of two, silently.
    if let (Some(lead), Some(email), Some(found)) = (lead_id, &query.email, &identity) {
        let by_email = store
            .find_identity(None, None, Some(email))
            .await
            .map_err(unavailable)?;
        if by_email.is_some_and(|other| other.id != found.id) {
            return Err(ApiError::field(
                "email",
                format!("leadId {lead} and email {email:?} name two people: give one of them"),
            ));
        }
    }
    let row = match identity {
        Some(identity) => store
            .mirror(mapping.name(), &identity.id.to_string())
            .await
            .map_err(unavailable)?,
        None => None,
    };
    let status = row.as_ref().and_then(|r| r.sf_status.clone());
    Ok(Json(json!({
        "mapping": mapping.name(),
        "campaignId": mapping.config.campaign_id,
        "programId": mapping.config.program_id,
        "member": status.is_some(),
        "campaignStatus": status,
        "programStatus": row.as_ref().and_then(|r| r.mkto_status.clone()),
        "campaignMemberId": row.and_then(|r| r.sf_member_id),
    })))
}

pub async fn mappings(
    State(state): State<AppState>,
    _: Admin,
    Query(NoParams {}): Query<NoParams>,
) -> Result<Json<Value>, ApiError> {
    let all = state.shared_mappings().await;
    let items: Vec<Value> = all
        .all()
        .iter()
        .map(|m| json!({ "name": m.name(), "programId": m.config.program_id, "campaignId": m.config.campaign_id, "enabled": m.is_enabled(), "statusMap": m.config.status_map }))
        .collect();
    Ok(Json(
        json!({ "syncEnabled": all.sync_enabled(), "items": items }),
    ))
}

pub async fn set_mapping(
    State(state): State<AppState>,
    _: Admin,
    Path((name, switch)): Path<(String, String)>,
    Query(NoParams {}): Query<NoParams>,
) -> Result<Json<Value>, ApiError> {
    let enabled = parse_switch(&switch)?;
    let mapping = state
        .mappings()
        .by_name(&name)
        .ok_or_else(|| ApiError::NotFound(format!("mapping {name:?}")))?;
    if let Some(why) = state
        .mappings()
        .off_in_config(Some(mapping))
        .filter(|_| enabled)
    {
        return Err(configured_off(why));
    }
    state
        .mappings()
        .switch_mapping(state.store(), mapping, enabled)
        .await
        .map_err(unavailable)?;
    tracing::info!(mapping = %name, enabled, "mapping switched by an admin");
    if enabled {
        catch_up(&state).await?;
    }
    Ok(Json(json!({ "name": name, "enabled": enabled })))
}

pub async fn set_sync(
    State(state): State<AppState>,
    _: Admin,
    Path(switch): Path<String>,
    Query(NoParams {}): Query<NoParams>,
) -> Result<Json<Value>, ApiError> {
    let enabled = parse_switch(&switch)?;
    if let Some(why) = state.mappings().off_in_config(None).filter(|_| enabled) {
        return Err(configured_off(why));
    }
    state
        .mappings()
        .switch_sync(state.store(), enabled)
        .await
        .map_err(unavailable)?;
    tracing::info!(enabled, "campaign sync switched by an admin");
    if enabled {
        catch_up(&state).await?;
    }
    Ok(Json(json!({ "syncEnabled": enabled })))
}

/// Signals held back while switched off become due now, so the mapping catches up at once.
async fn catch_up(state: &AppState) -> Result<(), ApiError> {
    let due = state
        .store()
        .catch_up(now_millis())
        .await
        .map_err(unavailable)?;
    tracing::info!(signals = due, "postponed signals due again");
    Ok(())
}

/// A switch the configuration holds off: the run-time switch cannot turn it on.
fn configured_off(message: String) -> ApiError {
    ApiError::Status {
        status: axum::http::StatusCode::CONFLICT,
        message,
    }
}

fn parse_switch(switch: &str) -> Result<bool, ApiError> {
    match switch {
        "enable" => Ok(true),
        "disable" => Ok(false),
        other => Err(ApiError::NotFound(format!(
            "action {other:?} (use enable or disable)"
        ))),
    }
}
