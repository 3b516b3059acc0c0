//! Controls over HTTP for a simulator run without the tests (`campaign-sync simulators`):
//! `POST /__sim/outbound-endpoint` points outbound messages at a listener,
//! `POST /__sim/outbound/redeliver` sends acknowledged notifications again,
//! `POST /__sim/tokens/expire|revoke` end every session, and
//! `POST /__sim/credentials/revoke|restore` refuse a client's token requests and accept them
//! again, and `POST /__sim/picklists/campaign-type` restricts the Campaign `Type` picklist.
//! (Faults are in `faults`.)

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::state::{Shared, lock};
use crate::sim::fault_rules::bad_request;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Endpoint {
    url: String,
}

/// `POST /__sim/outbound-endpoint` `{"url": "https://…/v1/salesforce/outbound-messages?token=…"}`:
/// where outbound messages go from now on; notifications waiting for a retry go at once.
pub async fn outbound_endpoint(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let endpoint: Endpoint = match serde_json::from_slice(&body) {
        Ok(endpoint) => endpoint,
        Err(error) => return bad_request(&format!("expected {{\"url\": …}}: {error}")),
    };
    if let Err(reason) = check_url(&endpoint.url) {
        return bad_request(&reason);
    }
    if shared.config.outbound.is_none() {
        return bad_request("this simulator was started without outbound messaging");
    }
    set_endpoint(&shared, &endpoint.url);
    Json(json!({ "url": endpoint.url })).into_response()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Redeliver {
    #[serde(default)]
    notification_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Picklist {
    /// Required, `null` allowed: a `Value` field (unlike an `Option`) may not be left out.
    values: serde_json::Value,
}

/// `POST /__sim/picklists/campaign-type` `{"values": ["Webinar", …]}`: the org's Campaign
/// `Type` picklist is restricted to these values from now on, so a `Type` outside them is
/// refused with `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`; `{"values": null}` lifts the
/// restriction (any value, the default). Answers the picklist in force.
pub async fn campaign_type_picklist(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    const EXPECTED: &str = "expected {\"values\": [\"Webinar\", …]} (a restricted picklist) or \
                            {\"values\": null} (any value)";
    let asked: Picklist = match serde_json::from_slice(&body) {
        Ok(asked) => asked,
        Err(error) => return bad_request(&format!("{EXPECTED}: {error}")),
    };
    let values = match asked.values {
        serde_json::Value::Null => None,
        serde_json::Value::Array(items) => {
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                match item.as_str() {
                    Some(text) if !text.trim().is_empty() => values.push(text.to_string()),
                    _ => return bad_request(&format!("{EXPECTED}: {item} is not a value")),
                }
            }
            Some(values)
        }
        other => return bad_request(&format!("{EXPECTED}: got {other}")),
    };
    lock(&shared.org).campaign_types = values.clone();
    Json(json!({ "values": values })).into_response()
}

/// `POST /__sim/outbound/redeliver` `{"notificationIds": ["04l…"]}` (or an empty body or `{}`:
/// every acknowledged notification remembered): delivers acknowledged notifications again with
/// their own ids, as Salesforce's at-least-once delivery may; answers `{"requeued": [ids]}`,
/// 404 naming an id that was not acknowledged (or is past its 24 hours).
pub async fn redeliver(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let asked: Redeliver = if body.iter().all(u8::is_ascii_whitespace) {
        Redeliver::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(asked) => asked,
            Err(error) => {
                return bad_request(&format!("expected {{\"notificationIds\": [...]}}: {error}"));
            }
        }
    };
    let requeued = lock(&shared.org).redeliver(&asked.notification_ids);
    match requeued {
        Ok(requeued) => Json(json!({ "requeued": requeued })).into_response(),
        Err(unknown) => {
            let error = format!("no acknowledged notification {unknown} to deliver again");
            (StatusCode::NOT_FOUND, Json(json!({ "error": error }))).into_response()
        }
    }
}

/// `POST /__sim/tokens/expire`: every session ends as if its idle timeout had passed; each
/// token answers 401 `INVALID_SESSION_ID` until the client asks for a new one.
pub async fn expire_tokens(State(shared): State<Arc<Shared>>) -> StatusCode {
    lock(&shared.sessions).clear();
    StatusCode::NO_CONTENT
}

/// `POST /__sim/tokens/revoke`: every session is revoked, as an admin does; Salesforce answers
/// a revoked token as it does an expired one.
pub async fn revoke_tokens(State(shared): State<Arc<Shared>>) -> StatusCode {
    lock(&shared.sessions).clear();
    StatusCode::NO_CONTENT
}

/// `POST /__sim/credentials/revoke` `{"clientId": …}` or no body (every client): the client's
/// sessions end (401 `INVALID_SESSION_ID`) and its token requests are refused with 400
/// `invalid_grant` "authentication failure", until restored.
pub async fn revoke_credentials(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    credentials(&shared, &body, |clients| shared.revoke_credentials(clients))
}

/// `POST /__sim/credentials/restore`: the token endpoint issues tokens to these clients again.
pub async fn restore_credentials(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    credentials(&shared, &body, |clients| {
        shared.restore_credentials(clients)
    })
}

fn credentials(shared: &Shared, body: &Bytes, apply: impl FnOnce(&[String])) -> Response {
    crate::sim::credentials::control(
        body,
        shared.config.clients.iter().map(|c| c.client_id.as_str()),
        apply,
    )
}

/// `POST /__sim/leads/{id}/convert`: converts the Lead as a Salesforce user would (a Contact
/// from its name and e-mail; its campaign members carry the Contact's id beside the Lead's);
/// answers `{"leadId", "contactId"}`, 404 for no such Lead, 409 for one converted already.
pub async fn convert_lead(
    State(shared): State<Arc<Shared>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let converted = lock(&shared.org).convert_lead(&id);
    match converted {
        Ok(contact) => Json(json!({ "leadId": id, "contactId": contact })).into_response(),
        Err(error) if error.status == StatusCode::NOT_FOUND => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no Lead {id}") })),
        )
            .into_response(),
        Err(_) => (
            StatusCode::CONFLICT,
            Json(json!({ "error": format!("Lead {id} is converted already") })),
        )
            .into_response(),
    }
}

/// Points outbound messages at `url` and makes every waiting notification due now.
pub fn set_endpoint(shared: &Shared, url: &str) {
    *lock(&shared.endpoint) = url.to_owned();
    for queued in &mut lock(&shared.org).queue {
        queued.next_attempt_ms = 0;
    }
}

/// An absolute `http` or `https` URL with a host, on a port Salesforce sends outbound messages
/// to: 80 for http, 443 for https, or any from 1024 up.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("url {url:?}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!("url {url:?} is not an http(s) URL with a host"));
    }
    let port = parsed.port_or_known_default().unwrap_or(0);
    let allowed = port >= 1024
        || (parsed.scheme() == "http" && port == 80)
        || (parsed.scheme() == "https" && port == 443);
    if !allowed {
        return Err(format!(
            "url {url:?}: Salesforce sends outbound messages only to port 80 (http), 443 (https) or 1024-65535"
        ));
    }
    Ok(())
}
