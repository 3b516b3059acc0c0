//! The HTTP surface: router, shared state and middleware. Handlers live in one file per concern.

mod admin;
mod admin_dead_letters;
pub(crate) mod admin_jobs;
pub(crate) mod admin_people;
mod admin_secrets;
pub mod admin_status;
mod admin_subscriptions;
pub mod admin_upstreams;
mod console;
pub mod error;
mod health;
pub mod inbound;
mod observe;
mod query;
pub mod server;
mod shape;
mod state;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};

pub use state::{AppState, Readiness};

/// Which listener serves a route when `admin_listen` is set (otherwise `listen` serves all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listener {
    /// What senders and API clients call: receivers, the trigger-event feed.
    Public,
    /// What operators call, kept off the public listener.
    Admin,
    /// Probes, answered on both.
    Both,
}

/// Every route the service serves: the routers are built from this table, so the OpenAPI test
/// that reads it reads the real router.
fn routes() -> Vec<(Listener, &'static str, &'static str, MethodRouter<AppState>)> {
    use Listener::{Admin, Both, Public};
    vec![
        (Both, "get", "/healthz", get(health::healthz)),
        (Both, "get", "/readyz", get(health::readyz)),
        (Admin, "get", "/metrics", get(observe::metrics)),
        (
            Public,
            "post",
            inbound::salesforce::PATH,
            post(inbound::salesforce::receive),
        ),
        (
            Public,
            "post",
            inbound::marketo::PATH,
            post(inbound::marketo::receive),
        ),
        (
            Public,
            "get",
            "/v1/trigger-events",
            get(admin::trigger_events),
        ),
        (Public, "get", "/v1/member-of", get(admin::member_of)),
        (
            Admin,
            "get",
            "/admin/dead-letters",
            get(admin_dead_letters::dead_letters),
        ),
        (
            Admin,
            "post",
            "/admin/dead-letters/{id}/replay",
            post(admin_dead_letters::replay),
        ),
        (Admin, "get", "/admin/outcomes", get(admin_people::outcomes)),
        (Admin, "get", "/admin/mappings", get(admin::mappings)),
        (
            Admin,
            "post",
            "/admin/mappings/{name}/{action}",
            post(admin::set_mapping),
        ),
        (Admin, "post", "/admin/sync/{action}", post(admin::set_sync)),
        (
            Admin,
            "post",
            "/admin/reconcile",
            post(admin_jobs::reconcile),
        ),
        (Admin, "get", "/admin/jobs/{id}", get(admin_jobs::job)),
        (Admin, "get", "/admin/status", get(admin_status::status)),
        (
            Admin,
            "post",
            "/admin/upstreams/{system}/resume",
            post(admin_upstreams::resume),
        ),
        (Admin, "get", "/admin/people", get(admin_people::people)),
        (
            Admin,
            "get",
            "/admin/people/{id}/timeline",
            get(admin_people::timeline),
        ),
        (Admin, "get", "/admin/retrying", get(admin_people::retrying)),
        (
            Admin,
            "post",
            "/admin/dead-letters/replay",
            post(admin_people::replay_many),
        ),
        (Admin, "get", "/console", get(console::overview)),
        (Admin, "get", "/console/sign-in", get(console::sign_in_page)),
        (Admin, "post", "/console/sign-in", post(console::sign_in)),
        (Admin, "post", "/console/sign-out", post(console::sign_out)),
        (Admin, "get", "/console/errors", get(console::errors)),
        (
            Admin,
            "post",
            "/console/upstreams/resume",
            post(console::resume),
        ),
        (
            Admin,
            "get",
            "/console/errors.csv",
            get(console::errors_csv),
        ),
        (
            Admin,
            "post",
            "/admin/subscriptions",
            post(admin_subscriptions::create),
        ),
        (
            Admin,
            "get",
            "/admin/subscriptions",
            get(admin_subscriptions::list),
        ),
        (
            Admin,
            "post",
            "/admin/subscriptions/{id}/rotate-secret",
            post(admin_secrets::rotate),
        ),
        (
            Admin,
            "post",
            "/admin/subscriptions/{id}/{action}",
            post(admin_subscriptions::act),
        ),
        (
            Admin,
            "delete",
            "/admin/subscriptions/{id}",
            delete(admin_subscriptions::delete),
        ),
        (
            Admin,
            "get",
            "/admin/subscriptions/{id}/deliveries",
            get(admin_subscriptions::deliveries),
        ),
        (
            Admin,
            "get",
            "/admin/outbox/{destination}",
            get(admin_subscriptions::outbox),
        ),
        (
            Admin,
            "post",
            "/admin/outbox/{destination}/replay",
            post(admin_subscriptions::replay_outbox),
        ),
        (
            Admin,
            "post",
            "/console/errors/replay",
            post(console::replay),
        ),
        (Admin, "get", "/console/outcomes", get(console::outcomes)),
        (Admin, "get", "/console/people", get(console::people)),
        (Admin, "get", "/console/people/{id}", get(console::person)),
        (Admin, "get", "/console/mappings", get(console::mappings)),
        (
            Admin,
            "get",
            "/console/subscriptions",
            get(console::subscriptions),
        ),
        (
            Admin,
            "post",
            "/console/subscriptions/pause",
            post(console::pause_subscription),
        ),
        (
            Admin,
            "post",
            "/console/subscriptions/create",
            post(console::create_subscription),
        ),
        (
            Admin,
            "post",
            "/console/subscriptions/delete",
            post(console::delete_subscription),
        ),
        (
            Admin,
            "post",
            "/console/subscriptions/replay",
            post(console::replay_subscription),
        ),
        (
            Admin,
            "post",
            "/console/subscriptions/rotate-secret",
            post(console::rotate_subscription_secret),
        ),
        (
            Admin,
            "post",
            "/console/mappings/switch",
            post(console::switch),
        ),
        (
            Admin,
            "post",
            "/console/reconcile",
            post(console::reconcile),
        ),
    ]
}

/// `(method, path)` of every route the router serves.
pub fn served_routes() -> Vec<(&'static str, &'static str)> {
    routes().into_iter().map(|(_, m, p, _)| (m, p)).collect()
}

/// Every route on one listener: the default, when `admin_listen` is not set.
pub fn router(state: AppState) -> Router {
    let limit = state.config().http.body_limit_bytes;
    finish(build(|_| true, limit).fallback(no_route), state, true)
}

/// The `listen` router when `admin_listen` is set: everything but `/metrics` and `/admin/...`.
pub fn public_router(state: AppState) -> Router {
    let limit = state.config().http.body_limit_bytes;
    let routes = build(|l| l != Listener::Admin, limit).fallback(not_on_public);
    finish(routes, state, false)
}

/// The `admin_listen` router: `/metrics` and `/admin/...`, plus `/healthz` and `/readyz` so the
/// admin port can be probed on its own.
pub fn admin_router(state: AppState) -> Router {
    let limit = state.config().http.body_limit_bytes;
    let routes = build(|l| l != Listener::Public, limit).fallback(not_on_admin);
    finish(routes, state, true)
}

/// The routes `keep` selects, one method router per path. Every route but the two receivers
/// refuses a body over `body_limit` (413) before its handler runs; the receivers check the
/// caller's network and token first and then apply the same limit themselves, so a stranger is
/// refused as one whatever the size of what it sends.
fn build(keep: impl Fn(Listener) -> bool, body_limit: usize) -> Router<AppState> {
    let mut by_path: std::collections::BTreeMap<&str, MethodRouter<AppState>> =
        std::collections::BTreeMap::new();
    for (listener, _, path, handler) in routes() {
        if !keep(listener) {
            continue;
        }
        // Console pages carry the browser-facing headers (no caching, no framing, no scripts).
        let handler = if path.starts_with("/console") {
            handler.layer(axum::middleware::from_fn(console::security_headers))
        } else {
            handler
        };
        let handler = if inbound::RECEIVERS.contains(&path) {
            handler
        } else {
            handler
                .layer(RequestBodyLimitLayer::new(body_limit))
                .layer(axum::middleware::from_fn(inbound::refuse_coded_body))
        };
        let merged = match by_path.remove(path) {
            Some(existing) => existing.merge(handler),
            None => handler,
        };
        by_path.insert(path, merged);
    }
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler)
        })
}

/// The middleware every listener gets: request ids, tracing, metrics, panics, timeout, body limit.
/// `console`: whether this listener serves the console (its errors are then HTML pages).
fn finish(routes: Router<AppState>, state: AppState, console: bool) -> Router {
    let http = &state.config().http;
    let body_limit = http.body_limit_bytes;
    let limits = shape::Limits {
        timeout: Duration::from_secs(http.request_timeout_secs),
        body_limit,
        console,
    };
    routes
        // Outermost first: every answer, timed out or refused by a layer, is shaped and counted.
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn(observe::record_request))
                .layer(axum::middleware::from_fn_with_state(
                    state.readiness().clone(),
                    observe::close_while_draining,
                ))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(observe::request_span)
                        // A 5xx is not an error of its own: `/readyz` answers 503 to every
                        // probe throughout a drain, a timeout logs itself, and a handler that
                        // fails logs why at ERROR; so the layer's own line is for debugging.
                        .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(axum::middleware::from_fn_with_state(
                    limits,
                    shape::error_bodies,
                ))
                .layer(CatchPanicLayer::custom(error::panic_response))
                .layer(axum::middleware::from_fn_with_state(
                    limits,
                    shape::enforce_timeout,
                ))
                .layer(DefaultBodyLimit::disable()),
        )
        .with_state(state)
}

/// What the 404 of a path no route serves says (`endpoint not found`), which no handler's 404
/// says: tests tell the two apart by it.
pub const NO_ROUTE: &str = "endpoint";

/// No route matched: the documented JSON 404.
async fn no_route() -> Response {
    error::ApiError::NotFound(NO_ROUTE.into()).into_response()
}

/// No route matched on the public listener while `admin_listen` is set: a path the admin
/// listener serves says so.
async fn not_on_public(uri: axum::http::Uri) -> Response {
    let path = uri.path();
    let admin = path == "/metrics"
        || ["/admin", "/console"]
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")));
    if !admin {
        return no_route().await;
    }
    elsewhere("served only on the admin listener (admin_listen), not on this one")
}

/// No route matched on the admin listener: a receiver's path says where to send to instead.
async fn not_on_admin(uri: axum::http::Uri) -> Response {
    if inbound::RECEIVERS.contains(&uri.path()) {
        return elsewhere(
            "this listener does not receive webhooks: send them to the service's `listen` \
             address, not `admin_listen`",
        );
    }
    no_route().await
}

fn elsewhere(message: &str) -> Response {
    error::ApiError::Status {
        status: axum::http::StatusCode::NOT_FOUND,
        message: format!("{NO_ROUTE} not found: {message}"),
    }
    .into_response()
}
