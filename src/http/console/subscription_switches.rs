//! Pausing, resuming and deleting a subscription from the console, each said on the page that
//! follows.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::forbidden;
use super::session::Session;
use super::subscriptions::{IdForm, none_named, unless_found};
use crate::http::AppState;
use crate::store::now_millis;

/// What the page after a switch says (`done`: `paused`, `resumed` or `deleted`).
pub(super) fn done_notice(id: i64, done: &str) -> String {
    match done {
        "paused" => format!(
            "Subscription {id} paused: its events keep queueing and are sent once it is resumed."
        ),
        "resumed" => format!("Subscription {id} resumed: its waiting deliveries go out now."),
        "deleted" => format!("Subscription {id} deleted, with its queued deliveries."),
        _ => String::new(),
    }
}

/// Back to the list, saying what was done to subscription `id`.
fn done(session: &Session, id: i64, what: &str) -> Response {
    let url = format!("/console/subscriptions?done={what}&id={id}");
    Redirect::to(&session.sealed(&url)).into_response()
}

/// Deletes a subscription and its deliveries.
pub async fn delete(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<IdForm>,
) -> Response {
    let id = match form.named(&session) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    // Deleting drops the queued deliveries with it: the form asks for the box to be ticked,
    // and a request without it (a script, a browser ignoring `required`) deletes nothing.
    if form.confirm.as_deref().is_none_or(str::is_empty) {
        return super::page_error(
            StatusCode::BAD_REQUEST,
            "Not deleted: tick the box to delete the subscription with its queued deliveries.",
        );
    }
    if let Some(refused) = unless_found(state.store().delete_subscription(id).await) {
        return refused;
    }
    tracing::info!(
        subscription.id = id,
        "subscription deleted from the console"
    );
    done(&session, id, "deleted")
}

/// Every field defaults, so a form missing one is refused in words (403 without its CSRF
/// token, 400 without a known action, 404 for no such subscription).
#[derive(Deserialize)]
pub struct PauseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: Option<i64>,
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
                StatusCode::BAD_REQUEST,
                "The action must be pause or resume.",
            );
        }
    };
    let Some(id) = form.id else {
        return none_named();
    };
    let switched = state
        .store()
        .set_subscription_paused(
            id,
            paused.then_some("paused from the console"),
            now_millis(),
        )
        .await;
    if let Some(refused) = unless_found(switched) {
        return refused;
    }
    tracing::info!(
        subscription = id,
        paused,
        "subscription switched from the console"
    );
    done(&session, id, if paused { "paused" } else { "resumed" })
}
