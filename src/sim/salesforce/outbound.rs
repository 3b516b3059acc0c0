//! Outbound message delivery: take the due notifications, read each record's state now, send
//! them in SOAP messages of at most `batch_size`, and keep what was not acknowledged for a later
//! retry with a doubling delay — until it is older than `max_age` and dropped.

use std::sync::Arc;
use std::time::Duration;

use axum::http::header;
use rand::RngExt;
use rand::seq::SliceRandom;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::config::OutboundConfig;
use super::ids::{self, prefix};
use super::soap::{self, Notification, Sender};
use super::state::{Shared, lock};
use super::view;
use crate::sim::calls::CallRecord;
use crate::sim::calls::transport_error;

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    /// SOAP messages posted.
    pub messages: usize,
    /// Notifications in those messages.
    pub notifications: usize,
    /// Notifications in acknowledged messages.
    pub acked: usize,
    /// Notifications in messages that were not acknowledged, kept for a retry.
    pub failed: usize,
    /// Notifications dropped for being older than `max_age`.
    pub dropped: usize,
    /// Acknowledged notifications kept to be delivered once more.
    pub duplicated: usize,
}

/// One round. `all` sends every queued notification now (tests); otherwise only those whose
/// retry time has come (the background sender).
pub async fn deliver(shared: &Arc<Shared>, all: bool) -> DeliveryReport {
    let Some(config) = shared.config.outbound.as_ref() else {
        return DeliveryReport::default();
    };
    let mut report = DeliveryReport::default();
    let batches = take_batches(shared, config, all, &mut report);
    for batch in batches {
        let notification_ids: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();
        let sender = Sender {
            organization_id: &shared.config.organization_id,
            // One outbound message definition sends everything, so every message carries the
            // same ActionId; only Notification/Id tells notifications apart.
            action_id: &ids::make(prefix::OUTBOUND_ACTION, 1),
            base_url: &shared.base_url,
            api_version: &shared.config.api_version,
        };
        let notifications: Vec<Notification<'_>> = batch
            .iter()
            .map(|(id, fields)| Notification {
                id,
                fields: fields.clone(),
            })
            .collect();
        let body = soap::envelope(&sender, &notifications);
        let acked = post(shared, body, notification_ids.len()).await;
        report.messages += 1;
        report.notifications += notification_ids.len();
        settle(shared, config, &notification_ids, acked, &mut report);
    }
    report
}

/// Drops expired notifications, marks the chosen ones in flight and snapshots their records.
fn take_batches(
    shared: &Shared,
    config: &OutboundConfig,
    all: bool,
    report: &mut DeliveryReport,
) -> Vec<Vec<(String, Map<String, Value>)>> {
    let mut org = lock(&shared.org);
    let now = org.clock.now();
    let max_age = i64::try_from(config.max_age.as_millis()).unwrap_or(i64::MAX);
    let before = org.queue.len();
    org.queue
        .retain(|q| q.is_sending(now) || now - q.queued_ms <= max_age);
    report.dropped = before - org.queue.len();
    let mut chosen: Vec<(String, String)> = org
        .queue
        .iter_mut()
        .filter(|q| !q.is_sending(now) && (all || q.next_attempt_ms <= now))
        .map(|q| {
            q.sending_since_ms = Some(now);
            (q.notification_id.clone(), q.record_id.clone())
        })
        .collect();
    {
        let mut rng = lock(&shared.rng);
        if config.reorder_probability > 0.0 && rng.random_bool(config.reorder_probability) {
            chosen.shuffle(&mut *rng);
        }
    }
    let snapshots: Vec<(String, Map<String, Value>)> = chosen
        .into_iter()
        .map(|(notification, record)| {
            let fields = match org.get(&record) {
                Ok(live) => view::fields(&org, live),
                // Deleted before delivery: "the notification contains no data".
                Err(_) => Map::new(),
            };
            (notification, fields)
        })
        .collect();
    snapshots
        .chunks(config.batch_size.max(1))
        .map(<[_]>::to_vec)
        .collect()
}

/// How long Salesforce gives a listener to answer an outbound message.
pub(super) const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// Posts one message; whether it was acknowledged. Each attempt goes into the call log as an
/// `outbound` entry, as Marketo's simulator logs its webhook calls.
async fn post(shared: &Shared, body: String, notifications: usize) -> bool {
    let endpoint = lock(&shared.endpoint).clone();
    let url = reqwest::Url::parse(&endpoint).ok();
    let mut entry = CallRecord {
        kind: "outbound".to_string(),
        method: "POST".to_string(),
        // An endpoint that is no URL is logged without what follows a `?` (a token).
        path: url.as_ref().map_or_else(
            || endpoint.split('?').next().unwrap_or_default().to_string(),
            |u| u.path().to_string(),
        ),
        query: crate::sim::calls::redacted_query(url.as_ref().and_then(|u| u.query())),
        records: notifications,
        body: Some(body.clone()),
        ..CallRecord::default()
    };
    let sent = shared
        .http
        .post(endpoint)
        .header(header::CONTENT_TYPE, "text/xml; charset=UTF-8")
        .header("SOAPAction", "\"\"")
        .body(body)
        .send()
        .await;
    let acked = match sent {
        Ok(response) => {
            entry.status = Some(response.status().as_u16());
            let ok = response.status() == reqwest::StatusCode::OK;
            match response.text().await {
                Ok(text) if ok && soap::is_ack(&text) => true,
                Ok(_) if ok => {
                    entry.error = Some("answered 200 without the Ack".to_string());
                    false
                }
                Ok(_) => false,
                Err(error) => {
                    entry.error = Some(transport_error(error, Some(ANSWER_WITHIN)));
                    false
                }
            }
        }
        Err(error) => {
            entry.error = Some(transport_error(error, Some(ANSWER_WITHIN)));
            false
        }
    };
    shared.record(entry);
    acked
}

/// Removes acknowledged notifications (keeping some once more when duplicates are configured)
/// and schedules the rest: `retry_initial` doubled per failed attempt, at most `retry_max`.
fn settle(
    shared: &Shared,
    config: &OutboundConfig,
    ids: &[String],
    acked: bool,
    report: &mut DeliveryReport,
) {
    let mut org = lock(&shared.org);
    let mut rng = lock(&shared.rng);
    let now = org.clock.now();
    let mut duplicated = 0;
    let mut done = Vec::new();
    org.queue.retain_mut(|q| {
        if !ids.contains(&q.notification_id) {
            return true;
        }
        q.sending_since_ms = None;
        if acked {
            let again = !q.redelivered
                && config.duplicate_probability > 0.0
                && rng.random_bool(config.duplicate_probability);
            q.redelivered |= again;
            duplicated += usize::from(again);
            if !again {
                done.push(q.clone());
            }
            return again;
        }
        q.attempts += 1;
        let delay = config
            .retry_initial
            .saturating_mul(2u32.saturating_pow(q.attempts.saturating_sub(1)))
            .min(config.retry_max);
        q.next_attempt_ms = now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 4);
        true
    });
    let max_age = i64::try_from(config.max_age.as_millis()).unwrap_or(i64::MAX);
    for queued in &done {
        org.remember_acknowledged(queued, max_age);
    }
    report.duplicated += duplicated;
    if acked {
        report.acked += ids.len();
    } else {
        report.failed += ids.len();
    }
}

/// Delivers due notifications until `stop`, checking a few times per `retry_initial`.
pub async fn run_sender(shared: Arc<Shared>, stop: CancellationToken) {
    let Some(config) = shared.config.outbound.as_ref() else {
        return;
    };
    let tick =
        (config.retry_initial / 4).clamp(Duration::from_millis(10), Duration::from_millis(500));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(tick) => {}
        }
        // With no listener yet (`campaign-sync simulators` before `/__sim/outbound-endpoint`),
        // notifications wait without using up attempts.
        if lock(&shared.endpoint).is_empty() {
            continue;
        }
        let has_due = {
            let org = lock(&shared.org);
            let now = org.clock.now();
            org.queue
                .iter()
                .any(|q| !q.is_sending(now) && q.next_attempt_ms <= now)
        };
        if has_due {
            deliver(&shared, false).await;
        }
    }
}
