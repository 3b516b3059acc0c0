//! All integration tests, in one binary: the real router on port 0, a real SQLite file (and
//! PostgreSQL when `CAMPAIGN_SYNC_TEST_POSTGRES_URL` is set).

mod admin;
mod architecture;
mod binary;
mod cli;
mod cli_operator;
mod client_fixes;
mod connections;
mod connector_marketo;
mod connector_salesforce;
mod contract;
mod deploy_files;
mod error_shapes;
mod feeds;
mod health;
mod helpers;
mod marketo_inbound;
mod openapi;
mod poison;
mod salesforce_inbound;
mod sandbox;
mod secrets;
mod settings_reconcile;
mod sim_marketo;
mod sim_salesforce;
mod simulators;
mod simulators_serve;
mod store;
mod sync;
mod sync_burst;
mod sync_edges;
mod token_faults;
mod world;
