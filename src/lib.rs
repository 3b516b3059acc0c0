//! campaign-sync: keeps Marketo programs and Salesforce campaigns in sync, both ways, in seconds.
//!
//! Receivers (`http::inbound`) verify and record signals in the `store`; the worker reads current
//! state through the `connectors`, plans with the pure `sync` module and writes back.

pub mod app;
pub mod commands;
pub mod config;
pub mod connectors;
pub mod cutover;
pub mod http;
pub mod ids;
pub mod instance_lock;
pub mod kinds;
pub mod liveness;
pub mod mappings;
pub mod mappings_import;
pub mod outbox;
pub mod quota;
pub mod replica;

pub mod sandbox;
pub mod signal;
pub mod sim;
pub mod store;
pub mod sync;
pub mod telemetry;
mod telemetry_help;
pub mod terminal;
pub mod upstream;
pub mod worker;
