//! Rotating a subscription's signing secret from the console: the new secret is shown once, on
//! the page that answers, and the one it replaces keeps signing beside it for a day.

use axum::Form;
use axum::extract::State;
use axum::response::Response;

use super::session::Session;
use super::subscriptions::{IdForm, page, unless_found};
use super::when;
use crate::http::AppState;
use crate::outbox::sign;
use crate::store::now_millis;

/// How long the replaced secret keeps signing, as the API's default.
const OVERLAP_MS: i64 = 24 * 3600 * 1000;

pub async fn rotate(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<IdForm>,
) -> Response {
    let id = match form.named(&session) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    let secret = sign::generate_secret();
    let now = now_millis();
    let until = now + OVERLAP_MS;
    let rotated = state
        .store()
        .rotate_subscription_secret(id, &secret, Some(until), now)
        .await;
    if let Some(refused) = unless_found(rotated) {
        return refused;
    }
    tracing::info!(
        subscription.id = id,
        "subscription secret rotated from the console"
    );
    let notice = format!(
        "Subscription {id} has a new signing secret, shown only now (give it to the subscriber): \
         {secret} — the secret it replaces keeps signing each delivery beside it until {}, so \
         the subscriber can switch before then without refusing one. Rotating again replaces \
         this one.",
        when(Some(until))
    );
    page(&state, &session, notice).await
}
