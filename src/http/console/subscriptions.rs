//! The subscriptions page: each subscriber's URL, event types, state and dead deliveries, with
//! pause and resume (creating one, with its secret shown once, stays in the admin API).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::Session;
use super::{forbidden, render, unavailable, when};
use crate::http::AppState;
use crate::store::{Queue, now_millis};

pub struct SubscriptionRow {
    id: i64,
    url: String,
    event_types: String,
    paused: bool,
    dead: usize,
    since: String,
}

#[derive(Template)]
#[template(path = "console/subscriptions.html")]
struct SubscriptionsPage {
    page: &'static str,
    csrf: String,
    notice: String,
    subscriptions: Vec<SubscriptionRow>,
}

pub async fn subscriptions(State(state): State<AppState>, session: Session) -> Response {
    let all = match state.store().subscriptions().await {
        Ok(all) => all,
        Err(error) => return unavailable(error),
    };
    let mut rows = Vec::with_capacity(all.len());
    for s in all {
        let dead = match state
            .store()
            .deliveries(Queue::subscription(s.id), Some("dead"), 0, 1000)
            .await
        {
            Ok(dead) => dead.len(),
            Err(error) => return unavailable(error),
        };
        rows.push(SubscriptionRow {
            id: s.id,
            url: s.url,
            event_types: s.event_types.join(", "),
            paused: s.paused,
            dead,
            since: when(Some(s.created_at)),
        });
    }
    render(&SubscriptionsPage {
        page: "subscriptions",
        csrf: session.csrf(),
        notice: String::new(),
        subscriptions: rows,
    })
}

/// Every field defaults, so a form missing one is refused in words (403 without its CSRF
/// token, 400 without a known action, 404 for no such subscription).
#[derive(Deserialize)]
pub struct PauseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: i64,
    /// `pause` or `resume`.
    #[serde(default)]
    action: String,
}

/// Pauses or resumes one subscription (a paused one keeps queueing).
pub async fn pause(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<PauseForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return forbidden();
    }
    let paused = match form.action.as_str() {
        "pause" => true,
        "resume" => false,
        _ => {
            return super::page_error(
                axum::http::StatusCode::BAD_REQUEST,
                "The action must be pause or resume.",
            );
        }
    };
    match state
        .store()
        .set_subscription_paused(form.id, paused, now_millis())
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return super::page_error(axum::http::StatusCode::NOT_FOUND, "No such subscription.");
        }
        Err(error) => return unavailable(error),
    }
    tracing::info!(
        subscription = form.id,
        paused,
        "subscription switched from the console"
    );
    Redirect::to("/console/subscriptions").into_response()
}
