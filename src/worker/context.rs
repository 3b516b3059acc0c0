//! What every step of the worker reaches: the store, both API clients, the configuration, the
//! mappings and this process's lease owner name. A leaf beside `work`.

use std::sync::Arc;

use crate::config::Config;
use crate::connectors::marketo::MarketoClient;
use crate::connectors::salesforce::SalesforceClient;
use crate::store::Store;

use crate::mappings::Mappings;

pub struct Context {
    pub store: Store,
    pub config: Arc<Config>,
    pub salesforce: SalesforceClient,
    pub marketo: MarketoClient,
    pub mappings: Mappings,
    /// This worker's lease owner name; unique per process.
    pub owner: String,
}

/// The span around one API call: which system, which operation, how many records.
pub fn api_span(system: &'static str, operation: &'static str, batch: usize) -> tracing::Span {
    tracing::debug_span!("api", system, operation, batch)
}
