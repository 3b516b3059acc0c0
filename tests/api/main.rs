//! All integration tests, in one binary: the real router on port 0, a real SQLite file (and
//! PostgreSQL when `CAMPAIGN_SYNC_TEST_POSTGRES_URL` is set).

mod admin;
mod cli;
mod connections;
mod connector_marketo;
mod connector_salesforce;
mod error_shapes;
mod health;
mod helpers;
mod marketo_inbound;
mod openapi;
mod poison;
mod salesforce_inbound;
mod sandbox;
mod settings_reconcile;
mod sim_marketo;
mod sim_salesforce;
mod store;
mod sync;
mod sync_edges;
mod token_faults;
mod world;
