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
use crate::store::now_millis;

use super::job_text::describe;

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
