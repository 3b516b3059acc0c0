//! The subscriptions page: each subscriber's URL, event types, state (why paused), waiting
//! deliveries with the last failed try, and dead deliveries, with
//! create (the signing secret shown once, on the page that answers), pause and resume, replay
//! of the dead deliveries, and delete, as the admin API offers them.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::Session;
use super::{forbidden, render, unavailable, when};
use crate::http::AppState;
use crate::http::admin_subscriptions::{checked, every_event_type};
use crate::http::query::Query;
use crate::outbox::sign;
use crate::store::{Queue, now_millis};

pub struct SubscriptionRow {
    id: i64,
    url: String,
    event_types: String,
    paused: bool,
    /// When the subscriber asked to be left alone until, if that is still ahead.
    waiting_until: String,
    dead: usize,
    /// Why the latest dead delivery died, or empty.
    last_dead: String,
    /// Deliveries waiting to be sent (1000 at most are counted).
    pending: usize,
    /// The last failed try among the waiting ones: its error and attempts so far, or empty.
    last_try: String,
    /// Why it is paused, when it is and that is known.
    pause_reason: String,
    since: String,
    /// Until when the secret a rotation replaced still signs beside the current one, or empty.
    previous_until: String,
}

#[derive(Template)]
#[template(path = "console/subscriptions.html")]
struct SubscriptionsPage {
    page: &'static str,
    csrf: String,
    notice: String,
    /// Every event type a subscription may name, for the create form.
    event_types: String,
    /// A new id for the create form on every page.
    form_id: String,
    /// A refused create form, shown again filled in beside why (all empty otherwise).
    refused: Refused,
    subscriptions: Vec<SubscriptionRow>,
}

/// A refused create form: why, and what it held, to show it again filled in.
#[derive(Default)]
struct Refused {
    why: String,
    url: String,
    types: String,
}

/// The page after an action says what it did: `replayed` dead deliveries of subscription
/// `id`, or what was `done` to it (`paused`, `resumed`, `deleted`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AfterReplay {
    replayed: Option<u64>,
    id: Option<i64>,
    done: Option<String>,
    /// The session's seal of the report above (see `Session::sealed`): without it the page
    /// shows no notice.
    #[serde(rename = "seal")]
    _seal: Option<String>,
}

pub async fn subscriptions(
    State(state): State<AppState>,
    session: Session,
    uri: axum::http::Uri,
    Query(after): Query<AfterReplay>,
) -> Response {
    let notice = match (after.replayed, after.id, after.done.as_deref()) {
        _ if !session.sealed_here(&uri) => String::new(),
        (Some(n), Some(id), _) => match state.store().subscription(id).await {
            Ok(s) => replayed_notice(n, id, s.is_some_and(|s| s.paused)),
            Err(error) => return unavailable(error),
        },
        (None, Some(id), Some(done)) => super::subscription_switches::done_notice(id, done),
        _ => String::new(),
    };
    page(&state, &session, notice).await
}

/// What a replay of a subscription's dead deliveries did; a paused one sends nothing yet.
fn replayed_notice(replayed: u64, id: i64, paused: bool) -> String {
    let done = format!("{replayed} dead delivery(ies) of subscription {id} made due again.");
    if paused {
        format!(
            "{done} The subscription is paused: nothing is sent until it is resumed (Resume, \
             below)."
        )
    } else {
        done
    }
}

/// Why the latest dead delivery died, in words (empty when none is dead).
fn last_dead(dead: &[crate::store::DeliveryRow]) -> String {
    dead.iter()
        .max_by_key(|d| d.updated_at)
        .map(|d| {
            format!(
                "latest died {}: {}",
                when(Some(d.updated_at)),
                d.last_error.as_deref().unwrap_or("no reason kept")
            )
        })
        .unwrap_or_default()
}

/// The last failed try among waiting deliveries, in words (empty when none has failed yet).
fn last_try(pending: &[crate::store::DeliveryRow]) -> String {
    pending
        .iter()
        .filter(|d| d.last_error.is_some())
        .max_by_key(|d| d.updated_at)
        .map(|d| {
            format!(
                "last try {}: {} ({} attempt(s) so far)",
                when(Some(d.updated_at)),
                d.last_error.as_deref().unwrap_or_default(),
                d.attempts
            )
        })
        .unwrap_or_default()
}

/// The page, with a notice above the list (the secret of a subscription just created).
pub(super) async fn page(state: &AppState, session: &Session, notice: String) -> Response {
    page_with(state, session, notice, None).await
}

async fn page_with(
    state: &AppState,
    session: &Session,
    notice: String,
    refused: Option<Refused>,
) -> Response {
    let all = match state.store().subscriptions().await {
        Ok(all) => all,
        Err(error) => return unavailable(error),
    };
    let mut rows = Vec::with_capacity(all.len());
    for s in all {
        let (dead, pending) = match (
            state
                .store()
                .deliveries(Queue::subscription(s.id), Some("dead"), 0, 1000)
                .await,
            state
                .store()
                .deliveries(Queue::subscription(s.id), Some("pending"), 0, 1000)
                .await,
        ) {
            (Ok(dead), Ok(pending)) => (dead, pending),
            (Err(error), _) | (_, Err(error)) => return unavailable(error),
        };
        rows.push(SubscriptionRow {
            id: s.id,
            url: s.url,
            event_types: s.event_types.join(", "),
            paused: s.paused,
            waiting_until: s
                .throttled_until
                .filter(|until| *until > now_millis())
                .map(|until| when(Some(until)))
                .unwrap_or_default(),
            dead: dead.len(),
            last_dead: last_dead(&dead),
            pending: pending.len(),
            last_try: last_try(&pending),
            pause_reason: s.pause_reason.unwrap_or_default(),
            since: when(Some(s.created_at)),
            previous_until: s
                .previous_secret_until
                .map(|until| when(Some(until)))
                .unwrap_or_default(),
        });
    }
    render(&SubscriptionsPage {
        page: "subscriptions",
        csrf: session.csrf(),
        notice,
        event_types: every_event_type().join(", "),
        form_id: uuid::Uuid::new_v4().to_string(),
        refused: refused.unwrap_or_default(),
        subscriptions: rows,
    })
}

/// The create form: a URL and event types (separated by commas or spaces).
#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    event_types: String,
    /// The form's own id, new on every page: the same form sent again creates nothing more.
    #[serde(default)]
    form_id: String,
}

/// Creates a subscription with a new signing secret and answers the page with the secret,
/// shown this once; a URL or event type the API would refuse is refused in its words, on the
/// page again (400) with the field it names.
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<CreateForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return forbidden();
    }
    let types = form
        .event_types
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let (url, types) = match checked(form.url.trim(), types) {
        Ok(valid) => valid,
        // The page again, its notice saying which field was refused and why.
        Err(error) => {
            let why = match error.field_name() {
                Some(field) => format!("Not created: {field}: {error}"),
                None => format!("Not created: {error}"),
            };
            let refused = Refused {
                why,
                url: form.url.clone(),
                types: form.event_types.clone(),
            };
            let mut response = page_with(&state, &session, String::new(), Some(refused)).await;
            if response.status().is_success() {
                *response.status_mut() = StatusCode::BAD_REQUEST;
            }
            return response;
        }
    };
    let secret = sign::generate_secret();
    let form_id = form.form_id.trim();
    let created = if form_id.is_empty() {
        state
            .store()
            .create_subscription(&url, &types, &secret, now_millis())
            .await
            .map(|created| (created, true))
    } else {
        state
            .store()
            .create_subscription_once(&url, &types, &secret, form_id, now_millis())
            .await
    };
    let created = match created {
        Ok((created, true)) => created,
        Ok((existing, false)) => {
            let notice = format!(
                "This form created subscription {} already (the page was sent again, by a \
                 refresh or a second click): nothing more was created. Its signing secret was \
                 shown when it was created.",
                existing.id
            );
            return page(&state, &session, notice).await;
        }
        Err(error) => return unavailable(error),
    };
    let shown = crate::outbox::shown_url(&url);
    tracing::info!(subscription.id = created.id, url = %shown, "subscription created from the console");
    let notice = format!(
        "Subscription {} created. Its signing secret, shown only now (give it to the subscriber \
         to check signatures): {secret}",
        created.id
    );
    page(&state, &session, notice).await
}

/// A form naming one subscription.
#[derive(Deserialize)]
pub struct IdForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: Option<i64>,
    /// The delete form's box, ticked to delete the queued deliveries too (`on` when ticked).
    #[serde(default)]
    pub(super) confirm: Option<String>,
    /// The page's form id, on the rotate form: the same form sent again rotates nothing more.
    #[serde(default)]
    pub(super) form_id: String,
}

impl IdForm {
    /// The subscription the form names, once its CSRF token is this session's: else the page
    /// refusing it (403 for the token, 400 for a form naming none).
    pub(super) fn named(&self, session: &Session) -> Result<i64, Box<Response>> {
        if !session.check_csrf(&self.csrf) {
            return Err(Box::new(forbidden()));
        }
        self.id.ok_or_else(|| Box::new(none_named()))
    }
}

/// The page when a subscription was not found (404) or the store failed; none when it was.
pub(super) fn unless_found(found: Result<bool, crate::store::StoreError>) -> Option<Response> {
    match found {
        Ok(true) => None,
        Ok(false) => Some(super::page_error(
            StatusCode::NOT_FOUND,
            "No such subscription.",
        )),
        Err(error) => Some(unavailable(error)),
    }
}

/// The page answering a form that names no subscription (400).
pub(super) fn none_named() -> Response {
    super::page_error(
        StatusCode::BAD_REQUEST,
        "The form names no subscription (its id is missing).",
    )
}

/// Makes a subscription's dead deliveries due again, in their order.
pub async fn replay(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<IdForm>,
) -> Response {
    let id = match form.named(&session) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    let store = state.store();
    if let Some(refused) = unless_found(store.subscription(id).await.map(|s| s.is_some())) {
        return refused;
    }
    let replayed = match store
        .replay_deliveries(Queue::subscription(id), None, now_millis())
        .await
    {
        Ok(n) => n,
        Err(error) => return unavailable(error),
    };
    tracing::info!(
        subscription.id = id,
        replayed,
        "dead deliveries replayed from the console"
    );
    let url = format!("/console/subscriptions?replayed={replayed}&id={id}");
    Redirect::to(&session.sealed(&url)).into_response()
}
