//! The HTTP surface: router, shared state and middleware. Handlers live in one file per concern.

mod admin;
pub mod error;
mod health;
pub mod inbound;
mod observe;
pub mod server;
mod shape;
mod state;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
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

pub fn router(state: AppState) -> Router {
    let http = &state.config().http;
    let body_limit = http.body_limit_bytes;
    let limits = shape::Limits {
        timeout: Duration::from_secs(http.request_timeout_secs),
        body_limit,
    };
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(observe::metrics))
        .route(
            "/v1/salesforce/outbound-messages",
            post(inbound::salesforce::receive),
        )
        .route("/v1/marketo/webhooks", post(inbound::marketo::receive))
        .route("/v1/trigger-events", get(admin::trigger_events))
        .route("/v1/member-of", get(admin::member_of))
        .route("/admin/dead-letters", get(admin::dead_letters))
        .route("/admin/dead-letters/{id}/replay", post(admin::replay))
        .route("/admin/outcomes", get(admin::outcomes))
        .route("/admin/mappings", get(admin::mappings))
        .route("/admin/mappings/{name}/{action}", post(admin::set_mapping))
        .route("/admin/sync/{action}", post(admin::set_sync))
        .route("/admin/reconcile", post(admin::reconcile))
        // Outermost first: every answer, timed out or refused by a layer, is shaped and counted.
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn(observe::record_request))
                .layer(axum::middleware::from_fn_with_state(
                    state.readiness().clone(),
                    observe::close_while_draining,
                ))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(observe::request_span))
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
                .layer(DefaultBodyLimit::disable())
                .layer(RequestBodyLimitLayer::new(body_limit)),
        )
        .with_state(state)
}
