//! `POST /v1/marketo/webhooks`: Marketo "Call Webhook" requests, verify → parse → record → 202.
//!
//! Marketo waits 30 s, never retries and logs an empty response body as an error, so the answer
//! is a small JSON body sent only after the signal is durable.

mod encoding;
mod lenient;
mod payload;
mod refusals;
mod signature;
mod template;
mod trust;

use std::net::SocketAddr;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use template::{PROGRAM_MEMBER_TEMPLATE, flow_action_template, render, render_program_member};

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::signal::{Dedup, NewSignal, Signal, WEBHOOK_BODY_KEY, WEBHOOK_ID_KEY};
use crate::store::now_millis;

/// Longest `webhook-id` used as a dedup key; Standard Webhooks ids are far shorter.
const MAX_WEBHOOK_ID_LEN: usize = 256;

/// The 202 body. `duplicate` tells that an earlier delivery with the same dedup key was stored
/// already, and `id` is that delivery's signal.
#[derive(Debug, Serialize)]
pub struct Accepted {
    pub accepted: bool,
    pub id: i64,
    pub duplicate: bool,
}

/// Where Marketo's webhooks are received.
pub const PATH: &str = "/v1/marketo/webhooks";

/// Checks run cheapest first and before anything is stored: client network (403), token or
/// signature headers (401) and a compressed body (415) before the body is buffered, the
/// signature over the raw bytes (401), then the payload (400). Only a committed signal is
/// answered 202.
pub async fn receive(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let answer = accept(&state, peer, query, headers, body).await;
    // A refused webhook is logged as a refused outbound message is, at most once a second
    // (401 and 403 are logged where they are decided; a store that did not answer is an
    // error logged there).
    if let Err(
        error @ (ApiError::BadRequest { .. } | ApiError::TooLarge(_) | ApiError::Status { .. }),
    ) = &answer
    {
        refusals::told(error);
    }
    answer
}

async fn accept(
    state: &AppState,
    peer: SocketAddr,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let config = &state.config().marketo;
    trust::check_network(&config.allowed_networks, peer.ip())?;
    let gate = trust::Gate::open(config, &headers)?;
    super::check_content_coding(&headers).map_err(|coding| super::coded_body(&coding))?;
    let limit = state.config().http.body_limit_bytes;
    let body = super::read_limited(&headers, body, limit)
        .await
        .map_err(|error| match error {
            super::BodyError::TooLarge => ApiError::TooLarge(limit),
            super::BodyError::Unreadable(why) => {
                ApiError::bad_request(format!("could not read the body: {why}"))
            }
        })?;
    let now = now_millis();
    let verified = gate.verify(config, &headers, body, now / 1000)?;
    let encoding = encoding::from_query(query.as_deref())?;
    let signal = payload::from_fields(
        encoding::fields(&headers, verified.body(), encoding)?,
        encoding,
    )?;
    let dedup_key = dedup_key(
        &headers,
        verified.body(),
        &lead_of(&signal),
        config.dedup_window_secs,
        now,
    )?;
    // A delivery id names one event; a body may repeat for a later change. A blank
    // `webhook-id` counts as none, here as in the key.
    let (dedup_key, dedup) = if dedup_key.starts_with(WEBHOOK_ID_KEY) {
        (dedup_key, Dedup::Once)
    } else if matches!(signal, Signal::MarketoFlowAction(_)) {
        // Each flow-action call is an action (Marketo does not retry webhooks): folding an add
        // into an earlier one still waiting would put it before a remove made in between.
        (format!("mkto:flow:{}", uuid::Uuid::new_v4()), Dedup::Once)
    } else {
        (dedup_key, Dedup::WhilePending)
    };
    let kind = signal.kind();
    let recorded = state
        .store()
        .record(
            vec![NewSignal {
                dedup_key,
                signal,
                dedup,
            }],
            now,
        )
        .await
        .map_err(|error| {
            tracing::error!(%error, "marketo webhook not stored");
            ApiError::Unavailable
        })?;
    let Some(recorded) = recorded.first() else {
        tracing::error!("the store recorded nothing for one signal");
        return Err(ApiError::Unavailable);
    };
    // Debug, not info: a batch campaign sends thousands a minute, and the metric counts them.
    tracing::debug!(
        signal.id = recorded.id,
        duplicate = recorded.duplicate,
        kind,
        "marketo webhook stored"
    );
    let outcome = if recorded.duplicate {
        "duplicate"
    } else {
        "stored"
    };
    metrics::counter!("webhook_signals_total", "source" => "marketo", "outcome" => outcome)
        .increment(1);
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            accepted: true,
            id: recorded.id,
            duplicate: recorded.duplicate,
        }),
    ))
}

/// Buffers the body; a chunked body that passes the limit mid-stream is 413 like a declared one.
/// `mkto:webhook:<webhook-id>` when the sender gave one, otherwise
/// `mkto:body:<now_secs / window_secs>:<leadId>:<sha256 of the raw body>`. Identical bodies are
/// stored once per fixed window, so two copies straddling a window edge are both stored
/// (harmless: a signal only makes the worker re-read state), and a second genuine change with an
/// identical body inside the same window is folded into the first (reconciliation repairs it if
/// the first was already processed). The window and lead id lead the key so that a burst (a
/// batch campaign walking a list) inserts near the end of the key index rather than on a
/// random page per webhook, which is what a bare hash costs the durable commit.
fn dedup_key(
    headers: &HeaderMap,
    body: &[u8],
    lead: &str,
    window_secs: u64,
    now_ms: i64,
) -> Result<String, ApiError> {
    let given = headers
        .get("webhook-id")
        .filter(|raw| !raw.as_bytes().trim_ascii().is_empty());
    if let Some(raw) = given {
        let id = raw.to_str().map(str::trim).unwrap_or_default();
        if id.is_empty()
            || id.len() > MAX_WEBHOOK_ID_LEN
            || !id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ApiError::field(
                "webhook-id",
                format!("`webhook-id` must be 1 to {MAX_WEBHOOK_ID_LEN} visible ASCII characters"),
            ));
        }
        return Ok(format!("{WEBHOOK_ID_KEY}{id}"));
    }
    let now_secs = u64::try_from(now_ms / 1000).unwrap_or(0);
    let window = now_secs / window_secs.max(1);
    Ok(format!(
        "{WEBHOOK_BODY_KEY}{window}:{lead}:{}",
        hex::encode(Sha256::digest(body))
    ))
}

/// The lead a parsed webhook names, as written in its dedup key.
fn lead_of(signal: &Signal) -> String {
    match signal {
        Signal::MarketoMember(member) => member.lead_id.to_string(),
        Signal::MarketoFlowAction(action) => action.lead_id.to_string(),
        Signal::SalesforceMember(_) | Signal::SalesforceMemberDeleted(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn body_key_changes_only_at_window_edges() {
        let headers = HeaderMap::new();
        let key = |ms| dedup_key(&headers, b"{}", "42", 60, ms).unwrap();
        assert_eq!(key(120_000), key(179_999));
        assert_ne!(key(179_999), key(180_000));
        assert_eq!(
            key(120_000),
            "mkto:body:2:42:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn webhook_id_wins_and_must_be_printable() {
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", HeaderValue::from_static("msg_1"));
        assert_eq!(
            dedup_key(&headers, b"{}", "1", 60, 0).unwrap(),
            "mkto:webhook:msg_1"
        );
        headers.insert("webhook-id", HeaderValue::from_static("a b"));
        assert!(dedup_key(&headers, b"{}", "1", 60, 0).is_err());
        headers.insert("webhook-id", HeaderValue::from_static(""));
        assert!(
            dedup_key(&headers, b"{}", "1", 60, 0)
                .unwrap()
                .starts_with("mkto:body:")
        );
    }
}
