//! Rotating a subscription's signing secret from the console: the new secret is shown once, on
//! the page that answers, and the one it replaces keeps signing beside it for a day. The same
//! form sent again (a refresh, a second click) rotates nothing more: it shows the secret its
//! first sending set, since the browser may have dropped that answer, and a second rotation
//! would end the overlap of the secret the subscriber still checks with.

use axum::Form;
use axum::extract::State;
use axum::response::Response;

use super::session::Session;
use super::subscriptions::{IdForm, page, unless_found};
use super::when;
use crate::http::AppState;
use crate::outbox::sign;
use crate::store::{Rotation, now_millis};

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
    let form_id = form.form_id.trim();
    let rotated = if form_id.is_empty() {
        state
            .store()
            .rotate_subscription_secret(id, &secret, Some(until), now)
            .await
    } else {
        let once = state
            .store()
            .rotate_subscription_secret_once(id, &secret, until, form_id, now)
            .await;
        match once {
            Ok(Rotation::Rotated) => Ok(true),
            Ok(Rotation::Missing) => Ok(false),
            Ok(Rotation::Already {
                secret,
                previous_until,
            }) => {
                let notice = format!(
                    "This form rotated subscription {id}'s signing secret already (the page was \
                     sent again, by a refresh or a second click): nothing more was changed. The \
                     secret it set, to give the subscriber: {secret} — the secret it replaced \
                     signs beside it until {}.",
                    when(previous_until)
                );
                return page(&state, &session, notice).await;
            }
            Err(error) => Err(error),
        }
    };
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
