//! The console's overview page: mappings with recent changes, each side, the worker.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::session::Session;
use super::{or_dash, render, unavailable, when};
use crate::http::AppState;
use crate::http::admin_status::{self, Overview};
use crate::http::query::Query;
use crate::kinds::OutcomeResult;
use crate::store::{OutcomeFilter, SkipKind};

pub struct Window {
    label: &'static str,
    added: i64,
    status_changed: i64,
    removed: i64,
    failed: i64,
    skipped: i64,
    echoed: i64,
    overruled: i64,
    diverged: i64,
    /// The outcomes page listing what each count counts (`failed`, `skipped`, `echoed`,
    /// `overruled`, `diverged`), in this mapping since the window began.
    list: Listed,
}

/// The outcomes page's address for each outcome count of a window.
pub struct Listed {
    failed: String,
    skipped: String,
    echoed: String,
    overruled: String,
    diverged: String,
}

impl Listed {
    fn new(mapping: &str, since: i64) -> Self {
        let list = |result: OutcomeResult, skip: Option<SkipKind>| {
            super::outcomes::link(
                &OutcomeFilter {
                    mapping: Some(mapping.to_string()),
                    result: Some(result.as_str().to_string()),
                    skip,
                    since: Some(since),
                    ..OutcomeFilter::default()
                },
                None,
            )
        };
        Listed {
            failed: list(OutcomeResult::Dead, None),
            skipped: list(OutcomeResult::Skipped, Some(SkipKind::Other)),
            echoed: list(OutcomeResult::Skipped, Some(SkipKind::Echo)),
            overruled: list(OutcomeResult::Skipped, Some(SkipKind::Overruled)),
            diverged: list(OutcomeResult::Diverged, None),
        }
    }
}

pub struct MappingRow {
    name: String,
    program_id: i64,
    campaign_id: String,
    enabled: bool,
    held: bool,
    problems: String,
    members: i64,
    windows: Vec<Window>,
}

pub struct SideRow {
    name: String,
    state: String,
    class: &'static str,
    calls: String,
    window: String,
    paused: String,
    /// Whether a pause is in force (the page then offers to lift it).
    paused_now: bool,
    last_error: String,
    last_refusal: String,
}

pub struct WorkerRow {
    leader: bool,
    runs_on: String,
    replica: String,
    last_round: String,
    due: i64,
    in_progress: i64,
    retrying: i64,
    /// When the next retrying signal is tried again.
    next_retry: String,
    postponed: i64,
    dead: i64,
    oldest: String,
    last_error: String,
}

/// One outbox destination with deliveries waiting or given up.
pub struct DeliveriesRow {
    name: String,
    pending: i64,
    dead: i64,
    /// How to replay the dead ones (empty when none is dead).
    how: String,
    /// The console page that replays them, when one does.
    href: Option<String>,
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    page: &'static str,
    csrf: String,
    notice: String,
    o: Overview,
    generated: String,
    mappings: Vec<MappingRow>,
    sides: Vec<SideRow>,
    worker: WorkerRow,
    deliveries: Vec<DeliveriesRow>,
}

/// The outbox's destinations with something waiting or dead, in words.
fn deliveries(o: &Overview) -> Vec<DeliveriesRow> {
    o.outbox
        .iter()
        .map(|(destination, c)| {
            let (name, how) = match destination.as_str() {
                "marketo_activity" => ("Custom activities to Marketo", "the API"),
                "marketo_request" => ("Request Campaign calls to Marketo", "the API"),
                "subscription" => ("Subscribers", "the Subscriptions page"),
                other => (other, "the API"),
            };
            let how = match (c.dead, how) {
                (0, _) => String::new(),
                (_, "the API") => format!("replay: POST /admin/outbox/{destination}/replay"),
                (_, page) => format!("replay on {page}"),
            };
            let href = (destination == "subscription" && c.dead > 0)
                .then(|| "/console/subscriptions".to_string());
            DeliveriesRow {
                name: name.to_string(),
                pending: c.pending,
                dead: c.dead,
                how,
                href,
            }
        })
        .collect()
}

/// A mapping's counts per window; `now` is when the overview counted them.
fn windows(m: &admin_status::MappingOverview, now: i64) -> Vec<Window> {
    const HOUR_MS: i64 = 3_600_000;
    [
        ("lastHour", "last hour", 1),
        ("lastDay", "last day", 24),
        ("lastFiveDays", "last 5 days", 120),
    ]
    .into_iter()
    .map(|(key, label, hours)| {
        let c = m.changes.get(key).cloned().unwrap_or_default();
        let n = |k: &str| c.get(k).copied().unwrap_or(0);
        Window {
            label,
            added: n("added"),
            status_changed: n("status_changed"),
            removed: n("removed"),
            failed: n("failed"),
            skipped: n("skipped"),
            echoed: n("echoed"),
            overruled: n("overruled"),
            diverged: n("diverged"),
            list: Listed::new(&m.name, now - hours * HOUR_MS),
        }
    })
    .collect()
}

/// The overview after a pause was lifted says so: `lifted` names the side, `was_paused` is 0
/// when it was not paused any more.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AfterLift {
    lifted: Option<String>,
    was_paused: Option<u8>,
    /// The session's seal of the report above (see `Session::sealed`): without it the page
    /// shows no notice.
    #[serde(rename = "seal")]
    _seal: Option<String>,
}

impl AfterLift {
    fn notice(&self) -> String {
        let side = match self.lifted.as_deref() {
            Some("salesforce") => "Salesforce",
            Some("marketo") => "Marketo",
            _ => return String::new(),
        };
        if self.was_paused == Some(0) {
            format!(
                "{side} was not paused any more (its pause had run out or was lifted already): nothing to lift."
            )
        } else {
            format!(
                "{side}'s pause is lifted on every replica: it is called again, and the changes \
                 that waited for it are due now."
            )
        }
    }
}

pub async fn overview(
    State(state): State<AppState>,
    session: Session,
    uri: axum::http::Uri,
    Query(after): Query<AfterLift>,
) -> Response {
    let o = match admin_status::overview(&state).await {
        Ok(o) => o,
        Err(error) => return unavailable(error),
    };
    let sides = o
        .upstreams
        .iter()
        .map(|(name, s)| SideRow {
            name: name.clone(),
            state: match (s.state.as_str(), s.health.failing_since) {
                ("down", since) if s.health.consecutive_auth_failures > 0 => format!(
                    "credentials failing since {} ({} in a row)",
                    when(since),
                    s.health.consecutive_auth_failures
                ),
                ("down", since) => format!("unreachable since {}", when(since)),
                // Reachable, but nothing is sent while the pause holds.
                ("up", _) if s.paused_until.is_some() => "paused: reachable, not called".into(),
                ("up", _) => "good".into(),
                ("unconfigured", _) => {
                    "not configured: this replica has no credentials for it".into()
                }
                _ => "unknown (no call yet from this replica)".into(),
            },
            class: if s.state == "down" || s.state == "unconfigured" || s.paused_until.is_some() {
                "bad"
            } else {
                "good"
            },
            calls: s.calls_summary(name),
            window: rate_window(s.rate_window),
            paused_now: s.paused_until.is_some(),
            paused: match (s.paused_until, &s.pause_reason) {
                (None, _) => match &s.scheduled_held {
                    Some(held) => format!("no; the scheduled passes wait: {held}"),
                    None => "no".into(),
                },
                (Some(t), Some(reason)) => format!("until {}: {reason}", when(Some(t))),
                (Some(t), None) => format!("until {}", when(Some(t))),
            },
            // An error from before the side came back is history, not its state.
            last_error: match (&s.health.last_error, s.state.as_str()) {
                (Some(error), "up") => format!(
                    "{error} (at {}, recovered since)",
                    when(s.health.last_error_at)
                ),
                (Some(error), _) => format!("{error} (at {})", when(s.health.last_error_at)),
                (None, _) => or_dash(None::<String>),
            },
            last_refusal: match &s.health.last_refusal {
                Some(refusal) => format!("{refusal} (at {})", when(s.health.last_refusal_at)),
                None => or_dash(None::<String>),
            },
        })
        .collect();
    let w = &o.worker;
    let worker = WorkerRow {
        leader: w.leader,
        runs_on: w
            .leader_replica
            .clone()
            .unwrap_or_else(|| "nobody: no replica runs the worker now".into()),
        replica: or_dash(Some(w.replica.clone()).filter(|r| !r.is_empty())),
        last_round: when(w.last_round_at),
        due: w.backlog.due,
        in_progress: w.backlog.in_progress,
        postponed: w.backlog.postponed,
        retrying: w.backlog.retrying,
        next_retry: when(w.backlog.next_retry_at),
        dead: w.backlog.dead,
        oldest: w
            .oldest_age_seconds
            .map_or("—".into(), |s| format!("{s} s ago")),
        last_error: or_dash(w.last_error.clone()),
    };
    let mappings = o
        .mappings
        .iter()
        .map(|m| MappingRow {
            name: m.name.clone(),
            program_id: m.program_id,
            campaign_id: m.campaign_id.clone(),
            enabled: m.enabled,
            held: m.held,
            problems: m.problems.join("; "),
            members: m.members,
            windows: windows(m, o.generated_at),
        })
        .collect();
    let deliveries = deliveries(&o);
    render(&OverviewPage {
        page: "overview",
        csrf: session.csrf(),
        notice: if session.sealed_here(&uri) {
            after.notice()
        } else {
            String::new()
        },
        generated: when(Some(o.generated_at)),
        deliveries,
        o,
        mappings,
        sides,
        worker,
    })
}

/// The client-side rate window as a phrase; Salesforce has none (its limits are daily).
fn rate_window(window: Option<crate::connectors::marketo::WindowUse>) -> String {
    match window {
        Some(w) => format!(
            "{} of {} calls in the last {} s",
            w.used, w.limit, w.window_secs
        ),
        None => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::AfterLift;

    #[test]
    fn a_lifted_pause_is_confirmed_in_words() {
        let after = |lifted: &str, was_paused| AfterLift {
            lifted: Some(lifted.into()),
            was_paused,
            _seal: None,
        };
        assert!(
            after("salesforce", None)
                .notice()
                .starts_with("Salesforce's pause is lifted")
        );
        assert!(
            after("marketo", Some(0))
                .notice()
                .starts_with("Marketo was not paused")
        );
        assert_eq!(after("<b>", None).notice(), "", "only a side is named");
    }
}
