//! Rules of a real org that need more than one record's checks: the generic login host that
//! refuses the client-credentials flow (only the org's My Domain host issues such tokens),
//! converting a lead into a contact, and a Campaign's row held by another transaction.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::state::{CallRecord, Shared, lock};
use super::{SalesforceSim, SimError};

/// Serves `login.salesforce.com`'s token endpoint on a listener of its own at `address`: every
/// client-credentials request gets `invalid_grant` "request not supported on this domain".
pub(super) async fn serve_generic_login(
    shared: Arc<Shared>,
    address: SocketAddr,
    stop: CancellationToken,
) -> Result<SocketAddr, SimError> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let address = listener.local_addr()?;
    let app = Router::new()
        .route(
            "/services/oauth2/token",
            post(generic_token).fallback(generic_wrong_method),
        )
        .with_state(shared)
        .layer(axum::middleware::map_response(
            super::rest::method_not_allowed,
        ));
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::warn!(%error, "Salesforce simulator's generic login host stopped");
        }
    });
    Ok(address)
}

/// Another method than POST on the generic host: the main host's 405, logged as it logs one.
async fn generic_wrong_method(
    state: State<Arc<Shared>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> Response {
    let shared = Arc::clone(&state.0);
    let response = super::auth::token_wrong_method(state, method, uri).await;
    let mut log = crate::sim::salesforce::state::lock(&shared.log);
    if let Some(entry) = log.last_mut() {
        entry.host = Some("generic_login".to_owned());
    }
    response
}

async fn generic_token(
    State(shared): State<Arc<Shared>>,
    uri: axum::http::Uri,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let params = form.map(|Form(params)| params).unwrap_or_default();
    let (error, description) = match params.get("grant_type").map(String::as_str) {
        Some("client_credentials") => ("invalid_grant", "request not supported on this domain"),
        _ => ("unsupported_grant_type", "grant type not supported"),
    };
    let mut entry = CallRecord::token(
        params.get("client_id").cloned().unwrap_or_default(),
        StatusCode::BAD_REQUEST.as_u16(),
        Some(error.to_owned()),
    );
    entry.host = Some("generic_login".to_owned());
    entry.query = crate::sim::calls::redacted_query(uri.query());
    shared.record(entry);
    let body = json!({"error": error, "error_description": description});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

impl SalesforceSim {
    /// A stand-in for `https://login.salesforce.com`: its token endpoint refuses the
    /// client-credentials flow, as the real generic hosts do. `base_url` is the My Domain host.
    pub fn generic_login_url(&self) -> String {
        format!("http://{}", crate::sim::reachable(self.generic_login))
    }

    /// Converts a lead as a Salesforce user would (`convertLead`): returns the new Contact's id;
    /// the lead reads `IsConverted` and `ConvertedContactId`, its members carry the `ContactId`.
    pub fn convert_lead_to_contact(&self, lead_id: &str) -> Result<String, SimError> {
        Ok(lock(&self.shared.org).convert_lead(lead_id)?)
    }

    /// Makes the next `writes` CampaignMember writes touching `campaign_id` fail, record by
    /// record, with `UNABLE_TO_LOCK_ROW`.
    pub fn hold_campaign_lock(&self, campaign_id: &str, writes: u32) -> Result<(), SimError> {
        Ok(lock(&self.shared.org).hold_campaign_lock(campaign_id, writes)?)
    }
}
