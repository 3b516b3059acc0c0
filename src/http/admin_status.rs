//! `GET /admin/status`: the overview an operator starts from (mappings with counts of recent
//! changes, each side's health, the worker and its backlog). The console's overview page and
//! `campaign-sync status` show the same data.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::admin::Admin;
use super::error::ApiError;
use super::query::{NoParams, Query};
use crate::store::{Backlog, StoreError, now_millis};
use crate::upstream::{self, Health};

const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    pub generated_at: i64,
    pub sync_enabled: bool,
    pub mappings: Vec<MappingOverview>,
    pub upstreams: BTreeMap<String, Side>,
    pub worker: Worker,
    /// Keys the service was started without (credentials, tokens), each with where to set it;
    /// empty when the configuration is complete.
    #[serde(default)]
    pub unconfigured: Vec<String>,
    /// Deliveries of the outbox waiting and given up, per destination (`marketo_activity`,
    /// `marketo_request`, `subscription`), each listed with zeros when none waits. Dead ones are listed
    /// and replayed under `/admin/outbox/…` and `/admin/subscriptions/{id}/deliveries`.
    #[serde(default)]
    pub outbox: BTreeMap<String, crate::store::OutboxCounts>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MappingOverview {
    pub name: String,
    pub program_id: i64,
    pub campaign_id: String,
    pub enabled: bool,
    pub held: bool,
    pub problems: Vec<String>,
    /// Rows in the mirror: people known as members on either side.
    pub members: i64,
    /// `lastHour`, `lastDay`, `lastFiveDays` → `added`, `status_changed`, `removed`, `failed`,
    /// `skipped`, `echoed`, `overruled`, `diverged` → count.
    pub changes: BTreeMap<String, BTreeMap<String, i64>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Side {
    /// `up`, `down`, `unknown` (no call seen yet) or `unconfigured` (nothing seen, and this
    /// replica was started without the side's credentials).
    pub state: String,
    #[serde(flatten)]
    pub health: HealthView,
    /// Salesforce: the org's API calls today and its daily limit, every integration included,
    /// as `Sforce-Limit-Info` last reported them (null until a call has shown them). Marketo:
    /// this service's calls today and its `daily_call_budget`.
    pub calls_today: Option<i64>,
    pub daily_limit: Option<i64>,
    /// This service's own calls today (all replicas) and its `daily_call_budget` (null: none).
    #[serde(default)]
    pub service_calls_today: Option<i64>,
    #[serde(default)]
    pub service_budget: Option<i64>,
    /// Until when calls are paused; null when not paused or not known.
    pub paused_until: Option<i64>,
    /// Why the side is paused (a daily quota used up, refused credentials, this service's own
    /// budget used up); null when not paused.
    #[serde(default)]
    pub pause_reason: Option<String>,
    /// Why the scheduled passes (feeds, polls, settings, reconciliation) wait while live
    /// changes go on: their share of `daily_call_budget` used; null when they run.
    #[serde(default)]
    pub scheduled_held: Option<String>,
    /// Marketo: calls this replica started within its client-side rate window, against the
    /// window's limit (`marketo.rate_limit_calls`); null for Salesforce, which has none.
    #[serde(default)]
    pub rate_window: Option<crate::connectors::marketo::WindowUse>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthView {
    pub consecutive_auth_failures: u32,
    pub failing_since: Option<i64>,
    pub last_error: Option<String>,
    /// When `last_error` was seen (epoch ms); it stays after the side recovers.
    #[serde(default)]
    pub last_error_at: Option<i64>,
    /// The last error the side answered with while up (a limit, a refused permission or
    /// value), and when.
    #[serde(default)]
    pub last_refusal: Option<String>,
    #[serde(default)]
    pub last_refusal_at: Option<i64>,
    pub last_call_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Worker {
    /// Whether the replica that answered leads (runs the worker).
    pub leader: bool,
    /// The replica that answered: its host name and process id.
    #[serde(default)]
    pub replica: String,
    /// Who runs the worker across the deployment (`worker <host> pid <n>`, or a `reconcile
    /// command`'s), whichever replica answered; null when nobody does. The other fields of
    /// `worker` are the answering replica's own.
    #[serde(default)]
    pub leader_replica: Option<String>,
    pub last_round_at: Option<i64>,
    pub last_error: Option<String>,
    pub restarts: u32,
    pub healthy: bool,
    pub backlog: Backlog,
    pub oldest_age_seconds: Option<i64>,
}

impl Side {
    /// The day's calls in words: the org's figures and this service's share for Salesforce,
    /// this service's calls against its budget for Marketo.
    pub fn calls_summary(&self, system: &str) -> String {
        // A replica from before these fields gave Marketo's own figures as callsToday and
        // dailyLimit.
        let (own_used, own_budget) = match (system, self.service_calls_today) {
            ("marketo", None) => (self.calls_today, self.daily_limit),
            _ => (self.service_calls_today, self.service_budget),
        };
        let own = match (own_used, own_budget) {
            (Some(used), Some(budget)) => format!("{used} of its budget of {budget}"),
            (Some(used), None) => format!("{used} (no budget set)"),
            _ => "unknown".into(),
        };
        if system != "salesforce" {
            return format!("this service: {own}");
        }
        let org = match (self.calls_today, self.daily_limit) {
            (Some(used), Some(limit)) => format!("{used} of {limit}"),
            _ => "unknown until a call shows it".into(),
        };
        format!("the org: {org}; this service: {own}")
    }
}

/// One side as this replica sees it: the connectors' health, and the daily count and pause the
/// quota keeps (what the API reports wins where it reports it: Salesforce's own usage).
fn side(
    system: &'static str,
    endpoint: &str,
    configured: bool,
    seen: Health,
    quota: &crate::quota::SideQuota,
    now: i64,
) -> Side {
    // This replica's pause, else the one the replica calling the side wrote down: a pause for
    // refused credentials stays with the process that met it.
    let pause = quota
        .paused(now)
        .map(|p| (p.until_ms, p.reason))
        .or_else(|| {
            seen.credentials_pause_at(now)
                .map(|p| (p.until_ms, p.reason.clone()))
        });
    let Health {
        up,
        consecutive_auth_failures,
        failing_since,
        last_error,
        last_error_at,
        last_refusal,
        last_refusal_at,
        last_call_at,
        calls_today,
        daily_limit,
        credentials_pause: _,
    } = seen;
    Side {
        state: match up {
            Some(true) => "up",
            Some(false) => "down",
            // Nothing seen, and this replica was started without the side's credentials.
            None if !configured => "unconfigured",
            None => "unknown",
        }
        .into(),
        health: HealthView {
            consecutive_auth_failures,
            failing_since,
            last_error,
            last_error_at,
            last_refusal,
            last_refusal_at,
            last_call_at,
        },
        // Salesforce reports the org's own figures; Marketo's are this service's.
        calls_today: match system {
            "salesforce" => calls_today,
            _ => calls_today.or(Some(quota.used(now))),
        }
        .and_then(|n| i64::try_from(n).ok()),
        daily_limit: match system {
            "salesforce" => daily_limit,
            _ => daily_limit.or(quota.budget()),
        }
        .and_then(|n| i64::try_from(n).ok()),
        service_calls_today: i64::try_from(quota.used(now)).ok(),
        service_budget: quota.budget().and_then(|n| i64::try_from(n).ok()),
        paused_until: pause.as_ref().map(|(until, _)| *until),
        pause_reason: pause.map(|(_, reason)| reason),
        scheduled_held: quota.scheduled_held(now),
        rate_window: (system == "marketo")
            .then(|| crate::connectors::marketo::window_use(endpoint))
            .flatten(),
    }
}

/// How long the overview waits for the store: a database gone away answers 503 in seconds,
/// not after each query's wait for a connection.
const STORE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads the overview now.
pub async fn overview(state: &AppState) -> Result<Overview, StoreError> {
    tokio::time::timeout(STORE_WAIT, gather(state))
        .await
        .unwrap_or(Err(StoreError::NoAnswer(STORE_WAIT.as_secs())))
}

async fn gather(state: &AppState) -> Result<Overview, StoreError> {
    let now = now_millis();
    let store = state.store();
    let mappings = state.shared_mappings().await;
    let members = store.mirror_counts().await?;
    let mut windows = Vec::new();
    for (label, hours) in [("lastHour", 1), ("lastDay", 24), ("lastFiveDays", 120)] {
        windows.push((label, store.change_counts(now - hours * HOUR_MS).await?));
    }
    let items = mappings
        .all()
        .iter()
        .map(|m| MappingOverview {
            name: m.name().to_string(),
            program_id: m.config.program_id,
            campaign_id: m.config.campaign_id.clone(),
            enabled: m.is_enabled(),
            held: m.is_held(),
            problems: m.problems(),
            members: members.get(m.name()).copied().unwrap_or(0),
            changes: windows
                .iter()
                .map(|(label, counts)| {
                    let mut c = counts.get(m.name()).cloned().unwrap_or_default();
                    for kind in [
                        "added",
                        "status_changed",
                        "removed",
                        "failed",
                        "skipped",
                        "echoed",
                        "overruled",
                        "diverged",
                    ] {
                        c.entry(kind.into()).or_insert(0);
                    }
                    (label.to_string(), c)
                })
                .collect(),
        })
        .collect();
    let backlog = store.backlog(now).await?;
    let outbox = store.outbox_counts().await?;
    let liveness = state.liveness();
    let leader_replica = if liveness.is_leader() {
        Some(crate::store::holder_name("worker"))
    } else {
        store.worker_leader().await?
    };
    let mut upstreams = BTreeMap::new();
    for (system, endpoint, quota) in [
        (
            "salesforce",
            &state.config().salesforce.login_url,
            &liveness.quota().salesforce,
        ),
        (
            "marketo",
            &state.config().marketo.base_url,
            &liveness.quota().marketo,
        ),
    ] {
        let seen = upstream::shown(store, system, endpoint).await;
        let configured = state.config().side_configured(system);
        upstreams.insert(
            system.to_string(),
            side(system, endpoint, configured, seen, quota, now),
        );
    }
    Ok(Overview {
        generated_at: now,
        sync_enabled: mappings.sync_enabled(),
        mappings: items,
        upstreams,
        worker: Worker {
            leader: liveness.is_leader(),
            replica: crate::replica::name().to_string(),
            leader_replica,
            last_round_at: liveness.last_round_ms(),
            last_error: liveness.last_error(),
            restarts: liveness.restarts(),
            healthy: liveness.is_healthy(),
            oldest_age_seconds: backlog.oldest_received_at.map(|t| (now - t).max(0) / 1000),
            backlog,
        },
        unconfigured: state.config().unset.clone(),
        outbox,
    })
}

pub async fn status(
    State(state): State<AppState>,
    _: Admin,
    Query(NoParams {}): Query<NoParams>,
) -> Result<Json<Overview>, ApiError> {
    overview(&state).await.map(Json).map_err(|error| {
        tracing::error!(%error, "status: store failed");
        ApiError::Unavailable
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(org: Option<(i64, i64)>, own: (i64, Option<i64>)) -> Side {
        Side {
            state: "up".into(),
            health: HealthView {
                consecutive_auth_failures: 0,
                failing_since: None,
                last_error: None,
                last_error_at: None,
                last_refusal: None,
                last_refusal_at: None,
                last_call_at: None,
            },
            calls_today: org.map(|o| o.0),
            daily_limit: org.map(|o| o.1),
            service_calls_today: Some(own.0),
            service_budget: own.1,
            paused_until: None,
            pause_reason: None,
            scheduled_held: None,
            rate_window: None,
        }
    }

    #[test]
    fn the_days_calls_say_whose_they_are() {
        assert_eq!(
            side(Some((27, 100_000)), (5, Some(15_000))).calls_summary("salesforce"),
            "the org: 27 of 100000; this service: 5 of its budget of 15000"
        );
        assert_eq!(
            side(None, (0, Some(15_000))).calls_summary("salesforce"),
            "the org: unknown until a call shows it; this service: 0 of its budget of 15000"
        );
        assert_eq!(
            side(None, (7, None)).calls_summary("marketo"),
            "this service: 7 (no budget set)"
        );
        // A replica from before the service fields: Marketo's figures were its own.
        let mut older = side(Some((812, 20_000)), (0, None));
        older.service_calls_today = None;
        assert_eq!(
            older.calls_summary("marketo"),
            "this service: 812 of its budget of 20000"
        );
    }
}
