//! The Salesforce simulator: OAuth client credentials, the REST calls the service makes
//! (sObject rows, collections, SOQL, getDeleted) and outbound messages on CampaignMember, with
//! the bodies, error codes and limits of `reference/salesforce-notes.md`. It serves on a
//! loopback port; tests, benchmarks and the sandbox drive it over HTTP or through [`SalesforceSim`].

mod auth;
mod clock;
mod collections;
mod config;
mod control;
mod control_http;
mod describe;
mod error;
mod faults;
mod gate;
mod ids;
mod inspect;
mod long_requests;
mod org;
mod outbound;
mod query;
mod rest;
mod row_locks;
mod rules;
mod schema;
mod soap;
mod soql;
mod state;
mod strict;
mod usage;
mod view;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio_util::sync::CancellationToken;

use crate::sim::fault_rules::FaultRules;

pub use config::{OutboundConfig, SalesforceSimConfig, SimClient};
pub use control::MemberStatus;
pub use error::SfError;
pub use outbound::DeliveryReport;
pub use state::CallRecord;

use org::Org;
use state::Shared;

/// Why the simulator could not start or a control call was refused.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    #[error("cannot bind the simulator's listener")]
    Bind(#[from] std::io::Error),
    #[error("cannot build the outbound HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("no client {0} in the simulator configuration")]
    UnknownClient(String),
    #[error("no acknowledged notification {0} to deliver again")]
    UnknownNotification(String),
    #[error("no sObject type {0}")]
    UnknownType(String),
    #[error("Salesforce would refuse this: {0}")]
    Refused(#[from] SfError),
}

/// A running simulator. Dropping it stops the server and the outbound sender.
pub struct SalesforceSim {
    shared: Arc<Shared>,
    address: SocketAddr,
    generic_login: SocketAddr,
    stop: CancellationToken,
}

impl SalesforceSim {
    /// Binds `127.0.0.1:0`, serves, and starts the outbound sender when `outbound` is set.
    pub async fn spawn(config: SalesforceSimConfig) -> Result<SalesforceSim, SimError> {
        SalesforceSim::spawn_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Like `spawn`, on the given address.
    pub async fn spawn_on(
        config: SalesforceSimConfig,
        listen: SocketAddr,
    ) -> Result<SalesforceSim, SimError> {
        if let Some(problem) = config.problem() {
            return Err(SimError::Config(problem));
        }
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let address = listener.local_addr()?;
        let http = reqwest::Client::builder()
            // Salesforce gives a listener 60 seconds to answer an outbound message, and does
            // not follow a redirect: its page is not an acknowledgement.
            .timeout(outbound::ANSWER_WITHIN)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let shared = Arc::new(Shared {
            base_url: format!("http://{}", super::reachable(address)),
            org: Mutex::new(Org::new(
                config.outbound.is_some(),
                config.international_email,
                config.campaign_types.clone(),
            )),
            sessions: Mutex::new(HashMap::new()),
            revoked_clients: Mutex::new(std::collections::HashSet::new()),
            log: Mutex::new(Vec::new()),
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            api_usage: usage::DailyUsage::default(),
            cursors: Mutex::new(HashMap::new()),
            http,
            endpoint: Mutex::new(
                config
                    .outbound
                    .as_ref()
                    .map(|o| o.endpoint_url.clone())
                    .unwrap_or_default(),
            ),
            faults: Mutex::new(FaultRules::new(config.seed)),
            row_locks: row_locks::RowLocks::default(),
            long_requests: long_requests::LongRequests::new(
                config.long_request_threshold,
                config.max_long_requests,
            ),
            config,
        });
        let stop = CancellationToken::new();
        let app = router(shared.clone());
        let server_stop = stop.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(server_stop.cancelled_owned())
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "Salesforce simulator stopped");
            }
        });
        let login_address = shared
            .config
            .generic_login_address
            .unwrap_or(SocketAddr::new(address.ip(), 0));
        let generic_login =
            strict::serve_generic_login(shared.clone(), login_address, stop.clone()).await?;
        if shared.config.outbound.is_some() {
            tokio::spawn(outbound::run_sender(shared.clone(), stop.clone()));
        }
        Ok(SalesforceSim {
            shared,
            address,
            generic_login,
            stop,
        })
    }

    /// The org's My Domain host: serves `/services/oauth2/token` and `/services/data/vNN.N/…`;
    /// also the token's `instance_url`. See [`SalesforceSim::generic_login_url`] for the host
    /// that refuses the client-credentials flow.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn config(&self) -> &SalesforceSimConfig {
        &self.shared.config
    }
}

impl Drop for SalesforceSim {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let data = Router::new()
        .route(
            "/services/data/{version}/sobjects/{kind}",
            post(rest::create),
        )
        .route(
            "/services/data/{version}/sobjects/{kind}/",
            post(rest::create),
        )
        .route(
            "/services/data/{version}/sobjects/{kind}/{id}",
            get(rest::read).patch(rest::update).delete(rest::delete),
        )
        .route(
            "/services/data/{version}/sobjects/{kind}/deleted",
            get(rest::deleted),
        )
        .route(
            "/services/data/{version}/sobjects/{kind}/describe",
            get(describe::describe),
        )
        .route(
            "/services/data/{version}/sobjects/{kind}/describe/",
            get(describe::describe),
        )
        .route(
            "/services/data/{version}/sobjects/{kind}/deleted/",
            get(rest::deleted),
        )
        .route(
            "/services/data/{version}/composite/sobjects",
            post(collections::create)
                .patch(collections::update)
                .delete(collections::delete),
        )
        .route("/services/data/{version}/query", get(query::first_page))
        .route("/services/data/{version}/query/", get(query::first_page))
        .route(
            "/services/data/{version}/query/{locator}",
            get(query::next_page),
        )
        .route(
            "/services/data/{version}/{*rest}",
            axum::routing::any(rest::unknown_resource),
        )
        // No resource named at all: the same 404, after the token is checked.
        .route("/services/data", axum::routing::any(rest::unknown_resource))
        .route(
            "/services/data/",
            axum::routing::any(rest::unknown_resource),
        )
        .route(
            "/services/data/{version}",
            axum::routing::any(rest::unknown_resource),
        )
        .route(
            "/services/data/{version}/",
            axum::routing::any(rest::unknown_resource),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            gate::gate,
        ))
        // The gate bounds bodies (50 MB, refused in Salesforce's error shape); the handlers
        // read whatever it let through, rather than axum's 2 MB answered in plain text.
        .layer(axum::extract::DefaultBodyLimit::max(gate::MAX_BODY_BYTES));
    let routes = Router::new()
        .route(
            "/services/oauth2/token",
            post(auth::token).fallback(auth::token_wrong_method),
        )
        .route("/__sim/requests", get(inspect::requests))
        .route("/__sim/state", get(inspect::state))
        .route(
            "/__sim/faults",
            get(faults::list).post(faults::add).delete(faults::clear),
        )
        .route(
            "/__sim/outbound-endpoint",
            post(control_http::outbound_endpoint),
        )
        .route("/__sim/outbound/redeliver", post(control_http::redeliver))
        .route(
            "/__sim/limits/long-requests",
            post(long_requests::set_limit),
        )
        .route(
            "/__sim/picklists/campaign-type",
            post(control_http::campaign_type_picklist),
        )
        .route("/__sim/tokens/expire", post(control_http::expire_tokens))
        .route("/__sim/tokens/revoke", post(control_http::revoke_tokens))
        .route(
            "/__sim/credentials/revoke",
            post(control_http::revoke_credentials),
        )
        .route(
            "/__sim/credentials/restore",
            post(control_http::restore_credentials),
        )
        .route(
            "/__sim/leads/{id}/convert",
            post(control_http::convert_lead),
        )
        .route(
            "/__sim/{*rest}",
            axum::routing::any(|uri: axum::http::Uri| async move {
                crate::sim::unknown_control::answer("Salesforce", &uri)
            }),
        )
        .merge(data)
        .with_state(shared);
    // Around the whole router, so the 405 it answers already carries its `Allow` header.
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::map_response(rest::method_not_allowed))
}
