//! The HTTP surface: router, shared state and middleware. Handlers live in one file per concern.

mod admin;
pub mod error;
mod health;
pub mod inbound;
mod observe;
mod state;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use state::{AppState, Readiness};

/// Every route the service serves, as `(method, path)`; the OpenAPI test checks it against
/// `openapi.yaml` in both directions.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("post", "/v1/salesforce/outbound-messages"),
    ("post", "/v1/marketo/webhooks"),
    ("get", "/v1/trigger-events"),
    ("get", "/v1/member-of"),
    ("get", "/admin/dead-letters"),
    ("post", "/admin/dead-letters/{id}/replay"),
    ("get", "/admin/outcomes"),
    ("get", "/admin/mappings"),
    ("post", "/admin/mappings/{name}/{action}"),
    ("post", "/admin/sync/{action}"),
    ("post", "/admin/reconcile"),
];

/// Every route on one listener: the default, when `admin_listen` is not set.
pub fn router(state: AppState) -> Router {
    finish(public_routes().merge(admin_routes()), state)
}

/// The `listen` router when `admin_listen` is set: everything but `/metrics` and `/admin/...`.
pub fn public_router(state: AppState) -> Router {
    finish(public_routes(), state)
}

/// The `admin_listen` router: `/metrics` and `/admin/...`, plus `/healthz` and `/readyz` so the
/// admin port can be probed on its own.
pub fn admin_router(state: AppState) -> Router {
    let probes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    finish(admin_routes().merge(probes), state)
}

/// What senders and API clients call: probes, receivers, the trigger-event feed.
fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(
            "/v1/salesforce/outbound-messages",
            post(inbound::salesforce::receive),
        )
        .route("/v1/marketo/webhooks", post(inbound::marketo::receive))
        .route("/v1/trigger-events", get(admin::trigger_events))
        .route("/v1/member-of", get(admin::member_of))
}

/// What operators call, which `admin_listen` keeps off the public listener (operator pages such
/// as a console belong here too).
fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(observe::metrics))
        .route("/admin/dead-letters", get(admin::dead_letters))
        .route("/admin/dead-letters/{id}/replay", post(admin::replay))
        .route("/admin/outcomes", get(admin::outcomes))
        .route("/admin/mappings", get(admin::mappings))
        .route("/admin/mappings/{name}/{action}", post(admin::set_mapping))
        .route("/admin/sync/{action}", post(admin::set_sync))
        .route("/admin/reconcile", post(admin::reconcile))
}

/// The middleware every listener gets: request ids, tracing, metrics, panics, timeout, body limit.
fn finish(routes: Router<AppState>, state: AppState) -> Router {
    let http = &state.config().http;
    let timeout = Duration::from_secs(http.request_timeout_secs);
    let body_limit = http.body_limit_bytes;
    routes
        .layer(axum::middleware::from_fn(observe::record_request))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(observe::request_span))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::custom(error::panic_response))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    timeout,
                ))
                .layer(DefaultBodyLimit::disable())
                .layer(RequestBodyLimitLayer::new(body_limit)),
        )
        .layer(axum::middleware::from_fn(
            inbound::salesforce::fault_for_oversized_body,
        ))
        .with_state(state)
}
