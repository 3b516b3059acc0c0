//! The mappings page: switches, status maps, held problems; start a reconciliation and follow
//! its job.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::Session;
use super::{forbidden, render, unavailable, when};
use crate::http::AppState;
use crate::http::query::Query;
use crate::store::{Job, now_millis};

pub struct MappingCard {
    name: String,
    program_id: i64,
    campaign_id: String,
    enabled: bool,
    problems: String,
    status_map: Vec<(String, String)>,
    /// The last campaign-settings write (or failure), or a dash.
    settings: String,
}

#[derive(Template)]
#[template(path = "console/mappings.html")]
struct MappingsPage {
    page: &'static str,
    csrf: String,
    notice: String,
    sync_enabled: bool,
    mappings: Vec<MappingCard>,
    job: String,
    job_running: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    job: Option<i64>,
    /// Set when the request joined a reconciliation already queued.
    joined: Option<u8>,
}

/// One line on a job: its state, progress and result.
fn describe(job: &Job) -> String {
    // "is failed" reads wrong: each state in words.
    let state = match job.state.as_str() {
        "failed" => "has failed",
        "done" => "is done",
        "running" => "is running",
        "queued" => "is queued, waiting to run",
        other => other,
    };
    let mut text = format!(
        "Reconciliation job {} {state} (requested {}",
        job.id,
        when(Some(job.requested_at))
    );
    if let Some(done) = job.finished_at {
        text.push_str(&format!(", finished {}", when(Some(done))));
    }
    text.push(')');
    if let Some(progress) = &job.progress {
        text.push_str(&format!(
            ". Progress: {} of {} mappings reconciled",
            progress["mappings_done"], progress["mappings_total"]
        ));
        if let Some(current) = progress["current_mapping"].as_str() {
            text.push_str(&format!(", now {current}"));
        }
    }
    if let Some(result) = &job.result {
        text.push_str(". ");
        text.push_str(&result_lines(result).join(" · "));
    }
    if let Some(error) = &job.error {
        text.push_str(&format!(". Error: {error}"));
    }
    text
}

/// A reconciliation's result in words: per mapping what it found and queued, and for a
/// preview each change it would make, as `campaign-sync reconcile` prints them.
fn result_lines(result: &serde_json::Value) -> Vec<String> {
    let preview = result["dry_run"].as_bool().unwrap_or(false);
    let reports = result["reports"].as_array().cloned().unwrap_or_default();
    if reports.is_empty() {
        return vec!["No enabled mapping to reconcile.".into()];
    }
    let mut lines = Vec::new();
    for report in &reports {
        let mapping = report["mapping"].as_str().unwrap_or("?");
        if let Some(error) = report["error"].as_str() {
            lines.push(format!("{mapping}: failed: {error}"));
            continue;
        }
        let differences = report["differences"].as_u64().unwrap_or(0);
        // People in sync whose stored state is behind: not differences, though they are queued.
        let refreshed = match report["refreshed"].as_u64().unwrap_or(0) {
            0 => String::new(),
            n if preview => format!(" ({n} in sync whose stored state would be refreshed)"),
            n => format!(" ({n} in sync whose stored state is refreshed)"),
        };
        let changes = report["changes"].as_array().cloned().unwrap_or_default();
        if preview {
            lines.push(format!(
                "{mapping}: {differences} difference(s){refreshed}; nothing written (preview)"
            ));
            lines.extend(
                changes
                    .iter()
                    .map(|c| format!("{mapping}: would change {}", change_text(c))),
            );
        } else {
            let repairs = &report["repairs"];
            let ended = match (repairs["done"].as_u64(), repairs["waiting"].as_u64()) {
                (Some(done), Some(waiting)) => format!(
                    " ({done} done, {waiting} waiting, {} dead)",
                    repairs["dead"].as_u64().unwrap_or(0)
                ),
                _ => String::new(),
            };
            lines.push(format!(
                "{mapping}: {differences} difference(s){refreshed}, {} signal(s) queued{ended}",
                report["signals_queued"].as_u64().unwrap_or(0)
            ));
        }
        let diverged: Vec<crate::worker::Divergence> =
            serde_json::from_value(report["diverged"].clone()).unwrap_or_default();
        lines.extend(diverged.iter().map(|d| {
            format!(
                "{mapping}: diverged: {}",
                crate::cutover::describe_divergence(d)
            )
        }));
    }
    lines
}

/// One listed change as the reconcile command words it.
fn change_text(change: &serde_json::Value) -> String {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    crate::cutover::describe(&crate::worker::Change {
        person: text(&change["person"]).unwrap_or_default(),
        marketo_lead_id: change["marketo_lead_id"].as_i64(),
        salesforce_id: text(&change["salesforce_id"]),
        side: if change["side"] == "salesforce" {
            "salesforce"
        } else {
            "marketo"
        },
        from: text(&change["from"]),
        to: text(&change["to"]),
    })
}

pub async fn mappings(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<JobQuery>,
) -> Response {
    let mut job = match query.job {
        Some(id) => match state.store().job(id).await {
            Ok(job) => job,
            Err(error) => return unavailable(error),
        },
        None => None,
    };
    if let Some(result) = job.as_mut().and_then(|j| j.result.as_mut())
        && let Err(error) = crate::http::admin_jobs::add_repairs(state.store(), result).await
    {
        return unavailable(error);
    }
    // A job still queued while no worker runs waits: say so beside it.
    let waiting = match &job {
        Some(j) if j.state == "queued" => crate::http::admin_jobs::worker_warning(&state).await,
        _ => None,
    };
    let all = state.shared_mappings().await;
    let mut settings = std::collections::BTreeMap::new();
    for m in all.all() {
        let last = match state.store().last_settings_outcome(m.name()).await {
            Ok(last) => last,
            Err(error) => return unavailable(error),
        };
        let text = match last {
            Some((at, result, reason)) => format!(
                "{} ({result}): {}",
                when(Some(at)),
                reason.unwrap_or_default()
            ),
            None => "— (nothing written since this database began: already equal)".into(),
        };
        settings.insert(m.name().to_string(), text);
    }
    render(&MappingsPage {
        page: "mappings",
        csrf: session.csrf(),
        notice: match (&job, query.job) {
            (None, Some(id)) => format!("There is no job {id}."),
            _ if query.joined == Some(1) => "A reconciliation of this kind was already \
                 queued: your request joined it, so one pass runs."
                .to_string(),
            _ => String::new(),
        },
        sync_enabled: all.sync_enabled(),
        mappings: all
            .all()
            .iter()
            .map(|m| MappingCard {
                name: m.name().to_string(),
                program_id: m.config.program_id,
                campaign_id: m.config.campaign_id.clone(),
                enabled: m.is_enabled(),
                problems: m.problems().join("; "),
                status_map: m
                    .config
                    .status_map
                    .iter()
                    .map(|(a, b)| (a.clone(), b.clone()))
                    .collect(),
                settings: settings.remove(m.name()).unwrap_or_default(),
            })
            .collect(),
        job_running: job
            .as_ref()
            .is_some_and(|j| j.state == "queued" || j.state == "running"),
        job: job
            .as_ref()
            .map(|j| match &waiting {
                Some(warning) => format!("{}. Waiting: {warning}", describe(j)),
                None => describe(j),
            })
            .unwrap_or_default(),
    })
}

/// Every field defaults, so a form missing one is refused in words (403 without its CSRF
/// token, 400 without a known action) rather than by the extractor.
#[derive(Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    csrf: String,
    /// A mapping's name; empty for sync as a whole.
    #[serde(default)]
    name: String,
    /// `enable` or `disable`.
    #[serde(default)]
    action: String,
}

pub async fn switch(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<SwitchForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return forbidden();
    }
    let enabled = match form.action.as_str() {
        "enable" => true,
        "disable" => false,
        _ => {
            return super::page_error(
                axum::http::StatusCode::BAD_REQUEST,
                "The action must be enable or disable.",
            );
        }
    };
    let mappings = state.mappings();
    let mapping = if form.name.is_empty() {
        None
    } else {
        let Some(mapping) = mappings.by_name(&form.name) else {
            return super::page_error(axum::http::StatusCode::NOT_FOUND, "No such mapping.");
        };
        Some(mapping.as_ref())
    };
    if let Some(why) = mappings.off_in_config(mapping).filter(|_| enabled) {
        return super::page_error(axum::http::StatusCode::CONFLICT, &why);
    }
    let done = match mapping {
        None => mappings.switch_sync(state.store(), enabled).await,
        Some(mapping) => {
            mappings
                .switch_mapping(state.store(), mapping, enabled)
                .await
        }
    };
    if let Err(error) = done {
        return unavailable(error);
    }
    tracing::info!(mapping = %form.name, enabled, "switched from the console");
    if enabled && let Err(error) = state.store().catch_up(now_millis()).await {
        return unavailable(error);
    }
    Redirect::to("/console/mappings").into_response()
}

/// The reconcile form: a preview (dry run) or the real run.
#[derive(serde::Deserialize)]
pub struct ReconcileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    dry_run: Option<String>,
}

/// Queues a reconciliation (or its preview) and shows the mappings page following its job.
pub async fn reconcile(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<ReconcileForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return forbidden();
    }
    if let Some(message) = crate::http::admin_jobs::no_worker_for_jobs(&state) {
        return super::page_error(axum::http::StatusCode::CONFLICT, &message);
    }
    // The page's preview button sends `1`; a form posted by hand may say what it means.
    let dry_run = match form
        .dry_run
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("" | "0" | "false" | "off" | "no") => false,
        Some("1" | "true" | "on" | "yes") => true,
        Some(other) => {
            return super::bad_form(&format!(
                "dry_run {other:?} is neither true nor false: send 1 for a preview."
            ));
        }
    };
    match state
        .store()
        .queue_reconcile(dry_run, None, now_millis())
        .await
    {
        Ok((id, joined)) => {
            tracing::info!(
                job.id = id,
                joined,
                "reconciliation queued from the console"
            );
            let joined = if joined { "&joined=1" } else { "" };
            Redirect::to(&format!("/console/mappings?job={id}{joined}")).into_response()
        }
        Err(error) => unavailable(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_job_result_reads_as_words_with_each_previewed_change() {
        let preview = json!({ "dry_run": true, "reports": [
            { "mapping": "webinar", "differences": 1, "signals_queued": 0, "changes": [
                { "person": "ada@example.com", "marketo_lead_id": 7, "salesforce_id": null,
                  "side": "salesforce", "from": null, "to": "Registered" }
            ] },
            { "mapping": "tradeshow", "error": "Marketo 606" }
        ] });
        assert_eq!(
            result_lines(&preview),
            [
                "webinar: 1 difference(s); nothing written (preview)",
                "webinar: would change ada@example.com (Marketo lead 7, Salesforce none): Salesforce not a member → \"Registered\"",
                "tradeshow: failed: Marketo 606",
            ]
        );
        let run = json!({ "dry_run": false, "reports": [
            { "mapping": "webinar", "differences": 2, "refreshed": 1, "signals_queued": 3, "changes": [],
              "repairs": { "done": 1, "waiting": 1, "dead": 1 },
              "diverged": [
                { "person": "bo@example.com", "marketo_lead_id": 8,
                  "salesforce_id": "00Q000000000001AAA", "salesforce_status": "Registered",
                  "marketo_status": "Attended" }
            ] }
        ] });
        assert_eq!(
            result_lines(&run),
            [
                "webinar: 2 difference(s) (1 in sync whose stored state is refreshed), 3 signal(s) queued (1 done, 1 waiting, 1 dead)",
                "webinar: diverged: bo@example.com (Marketo lead 8, Salesforce 00Q000000000001AAA): Salesforce \"Registered\", Marketo \"Attended\"; no write planned",
            ]
        );
        assert_eq!(
            result_lines(&json!({ "dry_run": false, "reports": [] })),
            ["No enabled mapping to reconcile."]
        );
    }
}
