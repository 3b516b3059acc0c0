//! `POST /v1/salesforce/outbound-messages`: Salesforce Outbound Messages for CampaignMember.
//! Check the client network and URL token → parse the SOAP body → check the organization id →
//! record every CampaignMember notification in one transaction → acknowledge. Failures answer a
//! SOAP fault and store nothing; a store failure answers 503 so Salesforce retries.

mod charset;
mod fields;
mod labels;
mod message;
mod parse;
mod render;
mod soap;
mod trust;
mod xml;

use std::net::SocketAddr;

use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

pub use message::{
    CampaignMemberFields, MAX_NOTIFICATIONS, Notification, NotifiedObject, OutboundMessage,
    ParseError, RejectedNotification,
};
pub use parse::parse_notifications;
pub use render::{RenderStyle, render_outbound_message, render_with};
pub use soap::{ACK_ENVELOPE, FaultCode, fault};
pub use trust::organization_allowed;

use super::super::AppState;
use crate::signal::{Dedup, NewSignal, RejectedInput, RejectedNames, SalesforceMember, Signal};
use crate::store::{StoreError, now_millis};

/// The route this receiver serves.
pub const PATH: &str = "/v1/salesforce/outbound-messages";

/// The errors of this endpoint; each renders as a SOAP fault, never JSON, because Salesforce
/// shows the fault string on its delivery status page.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("client address is not in salesforce.allowed_networks")]
    Forbidden,
    #[error("the token query parameter is missing or wrong")]
    BadToken,
    #[error("the token query parameter is given twice: give it once")]
    TokenTwice,
    #[error("organization id {0} is not one of salesforce.organization_ids")]
    UnknownOrganization(String),
    #[error("content type {0:?} is not XML; send text/xml")]
    NotXml(String),
    #[error("charset {0:?} is not accepted; only UTF-8 is read (Salesforce sends UTF-8)")]
    Charset(String),
    #[error("content encoding {0:?} is not accepted; send the body uncompressed")]
    Encoded(String),
    #[error("request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("could not read the request body: {0}")]
    Body(String),
    #[error("not a valid outbound message: {0}")]
    Parse(#[from] ParseError),
    #[error("the store is unavailable; retry later")]
    Store(#[from] StoreError),
}

impl InboundError {
    fn status(&self) -> StatusCode {
        match self {
            InboundError::Forbidden => StatusCode::FORBIDDEN,
            InboundError::BadToken
            | InboundError::TokenTwice
            | InboundError::UnknownOrganization(_) => StatusCode::UNAUTHORIZED,
            InboundError::NotXml(_) | InboundError::Charset(_) | InboundError::Encoded(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            InboundError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            InboundError::Body(_) | InboundError::Parse(_) => StatusCode::BAD_REQUEST,
            InboundError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for InboundError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = if status.is_server_error() {
            FaultCode::Server
        } else {
            FaultCode::Client
        };
        let outcome = match &self {
            InboundError::Store(error) => {
                tracing::error!(%error, "outbound message not stored");
                "unavailable"
            }
            other => {
                tracing::warn!(status = status.as_u16(), reason = %other, "outbound message refused");
                "refused"
            }
        };
        metrics::counter!("outbound_messages_total", "outcome" => outcome).increment(1);
        soap_response(status, fault(code, &self.to_string()))
    }
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

pub async fn receive(
    state: State<AppState>,
    client: ConnectInfo<SocketAddr>,
    query: Result<Query<TokenQuery>, QueryRejection>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, InboundError> {
    let unanswered = Unanswered;
    let answer = answer(state, client, query, headers, request).await;
    std::mem::forget(unanswered);
    answer
}

/// Counts a message whose handling was cut short (`http.request_timeout_secs`: the sender got a
/// 503 and sends it again) as `unavailable`, as it counts one the store did not commit. Every
/// answered message is counted where it is answered.
struct Unanswered;

impl Drop for Unanswered {
    fn drop(&mut self) {
        metrics::counter!("outbound_messages_total", "outcome" => "unavailable").increment(1);
    }
}

async fn answer(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    query: Result<Query<TokenQuery>, QueryRejection>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, InboundError> {
    let config = &state.config().salesforce;
    if !trust::network_allowed(&config.allowed_networks, client.ip()) {
        return Err(InboundError::Forbidden);
    }
    let token = match query {
        Ok(Query(q)) => q.token,
        // Refused all the same, but not sent to check a token that may be right.
        Err(rejection) if rejection.body_text().contains("duplicate field `token`") => {
            return Err(InboundError::TokenTwice);
        }
        Err(_) => None,
    };
    if !trust::token_matches(&config.inbound_token, token.as_deref()) {
        return Err(InboundError::BadToken);
    }
    check_content_type(&headers)?;
    super::check_content_coding(&headers).map_err(InboundError::Encoded)?;
    // Read only once the caller is known: a stranger's body is never buffered.
    let limit = state.config().http.body_limit_bytes;
    let body = super::read_limited(&headers, request.into_body(), limit)
        .await
        .map_err(|error| match error {
            super::BodyError::TooLarge => InboundError::TooLarge(limit),
            super::BodyError::Unreadable(why) => InboundError::Body(why),
        })?;
    let message = parse_notifications(&body)?;
    if !trust::organization_allowed(&config.organization_ids, &message.organization_id) {
        return Err(InboundError::UnknownOrganization(message.organization_id));
    }
    let (signals, ignored) = to_signals(&message);
    for sobject_type in &ignored {
        metrics::counter!("outbound_notifications_ignored_total", "sobject" => labels::sobject(sobject_type))
            .increment(1);
    }
    let vanished = message
        .notifications
        .iter()
        .filter(|n| matches!(n.object, NotifiedObject::Vanished))
        .count();
    metrics::counter!("outbound_notifications_without_data_total").increment(vanished as u64);
    let rejected = rejected_inputs(&message);
    // A redelivery of a notification stored before (rejected or not) is a repeat: the first
    // stands, so it is neither counted nor logged as rejected again.
    let keys: Vec<String> = rejected.iter().map(|r| r.dedup_key.clone()).collect();
    let repeated = if keys.is_empty() {
        Default::default()
    } else {
        state.store().stored_keys(&keys).await?
    };
    let first: Vec<_> = rejected
        .iter()
        .filter(|r| !repeated.contains(&r.dedup_key))
        .collect();
    for input in &first {
        tracing::warn!(dedup_key = %input.dedup_key, reason = %input.reason, "outbound notification rejected; kept under the dead letters");
    }
    metrics::counter!("outbound_notifications_rejected_total").increment(first.len() as u64);
    let rejected_again = rejected.len() - first.len();
    let received = signals.len();
    let recorded = state
        .store()
        .record_with_rejected(signals, rejected, now_millis())
        .await?;
    let stored_before = recorded.iter().filter(|r| r.duplicate).count();
    metrics::counter!("outbound_notifications_accepted_total", "outcome" => "new")
        .increment((received - stored_before) as u64);
    // A repeat within the message is a duplicate of its first copy.
    let duplicates = stored_before + message.repeats + rejected_again;
    metrics::counter!("outbound_notifications_accepted_total", "outcome" => "duplicate")
        .increment(duplicates as u64);
    metrics::counter!("outbound_messages_total", "outcome" => "acknowledged").increment(1);
    tracing::debug!(
        notifications = message.notifications.len(),
        rejected = message.rejected.len(),
        campaign_members = received,
        duplicates,
        ignored = ignored.len(),
        without_data = vanished,
        "outbound message stored and acknowledged"
    );
    Ok(soap_response(StatusCode::OK, ACK_ENVELOPE.to_string()))
}

/// The dedup key of a notification: Salesforce repeats the notification id on redelivery (its
/// 15- and 18-character forms are one key).
pub fn dedup_key(notification_id: &str) -> String {
    format!("sf:notification:{}", long(notification_id))
}

/// Why a CampaignMember notification without `Status` is kept aside instead of synced.
pub const NO_STATUS: &str = "CampaignMember notification without a Status field: the member's \
    status is unknown, and an unknown status is never read as a removal (add Status to the \
    outbound message's fields; reconciliation repairs what was missed). A notification with the \
    Id alone may also be of a member deleted before Salesforce delivered it: then nothing is \
    lost, the deleted-records poll removes the member";

/// The CampaignMember notifications as signals, and the sObject types of the others. A
/// notification without `Status` is not a signal (see [`NO_STATUS`] and `rejected_inputs`).
pub fn to_signals(message: &OutboundMessage) -> (Vec<NewSignal>, Vec<&str>) {
    let mut signals = Vec::with_capacity(message.notifications.len());
    let mut ignored = Vec::new();
    for notification in &message.notifications {
        match &notification.object {
            NotifiedObject::CampaignMember(m) if m.status.is_none() => {}
            NotifiedObject::CampaignMember(m) => signals.push(NewSignal {
                dedup_key: dedup_key(&notification.id),
                signal: Signal::SalesforceMember(SalesforceMember {
                    notification_id: notification.id.clone(),
                    organization_id: message.organization_id.clone(),
                    member_id: long(&m.id),
                    campaign_id: m.campaign_id.as_deref().map(long),
                    lead_id: m.lead_id.as_deref().map(long),
                    contact_id: m.contact_id.as_deref().map(long),
                    email: m.email.clone(),
                    status: m.status.clone(),
                    has_responded: m.has_responded,
                    created_date: m.created_date.clone(),
                    last_modified_date: m.last_modified_date.clone(),
                    system_modstamp: m.system_modstamp.clone(),
                }),
                dedup: Dedup::Once,
            }),
            NotifiedObject::Vanished => {}
            NotifiedObject::Other { sobject_type } => ignored.push(sobject_type.as_str()),
        }
    }
    (signals, ignored)
}

/// A record id in its 18-character form, as the REST API answers it and the identity table
/// keeps it (a 15-character id in the message would match nobody there). The parser has checked
/// it is an id.
fn long(id: &str) -> String {
    crate::ids::SalesforceId::parse(id).map_or_else(|_| id.to_string(), |id| id.long())
}

/// The notifications that could not be understood, to be kept as `rejected` rows. A redelivery
/// maps to the same key: the notification id when it had one (the key an understood
/// notification has, so a redelivery with other content is stored once, whichever came first),
/// else a digest of its XML.
pub fn rejected_inputs(message: &OutboundMessage) -> Vec<RejectedInput> {
    let mut rejected = unknown_status(message);
    rejected.extend(unparsed(message));
    rejected
}

/// CampaignMember notifications without `Status`, kept with the notification as XML.
fn unknown_status(message: &OutboundMessage) -> Vec<RejectedInput> {
    message
        .notifications
        .iter()
        .filter_map(|n| match &n.object {
            NotifiedObject::CampaignMember(m) if m.status.is_none() => Some(RejectedInput {
                dedup_key: dedup_key(&n.id),
                source: "salesforce",
                kind: "salesforce_notification",
                // The notification alone as it came, as a notification the parser refused is
                // kept (rendered again only if it was not quoted).
                raw: n
                    .raw
                    .clone()
                    .unwrap_or_else(|| render::render_notification(n)),
                reason: NO_STATUS.to_string(),
                names: RejectedNames {
                    member_id: Some(m.id.clone()),
                    lead_id: m.lead_id.clone(),
                    contact_id: m.contact_id.clone(),
                    email: m.email.clone(),
                },
            }),
            _ => None,
        })
        .collect()
}

fn unparsed(message: &OutboundMessage) -> Vec<RejectedInput> {
    use sha2::Digest;
    message
        .rejected
        .iter()
        .map(|rejected| {
            let key = match &rejected.id {
                Some(id) => dedup_key(id),
                None => {
                    let digest = sha2::Sha256::digest(rejected.raw.as_bytes());
                    format!("sf:rejected:sha256:{}", hex::encode(&digest[..16]))
                }
            };
            RejectedInput {
                dedup_key: key,
                source: "salesforce",
                kind: "salesforce_notification",
                raw: rejected.raw.clone(),
                reason: rejected.reason.to_string(),
                names: RejectedNames::default(),
            }
        })
        .collect()
}

/// A SOAP fault answer with `status`: a `Server` fault for 5xx (Salesforce retries), else
/// `Client`. For answers produced outside the handler (the body limit, the request timeout).
pub fn fault_response(status: StatusCode, message: &str) -> Response {
    let code = if status.is_server_error() {
        FaultCode::Server
    } else {
        FaultCode::Client
    };
    soap_response(status, fault(code, message))
}

/// Salesforce sends `text/xml; charset=UTF-8`; other XML types and a missing header are
/// tolerated, anything else is refused before parsing.
fn check_content_type(headers: &HeaderMap) -> Result<(), InboundError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Ok(());
    };
    if is_xml(headers) {
        match charset::not_utf8_charset(value.as_bytes()) {
            Some(charset) => Err(InboundError::Charset(charset)),
            None => Ok(()),
        }
    } else {
        let shown: String = String::from_utf8_lossy(value.as_bytes())
            .chars()
            .take(80)
            .collect();
        Err(InboundError::NotXml(shown))
    }
}

fn is_xml(headers: &HeaderMap) -> bool {
    crate::http::shape::media_type(headers).is_some_and(|media_type| {
        ["text/xml", "application/xml", "application/soap+xml"].contains(&media_type.as_str())
    })
}

fn soap_response(status: StatusCode, body: String) -> Response {
    (status, [(CONTENT_TYPE, soap::CONTENT_TYPE)], body).into_response()
}
