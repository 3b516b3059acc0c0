//! All integration tests, in one binary: the real router on port 0, a real SQLite file (and
//! PostgreSQL when `CAMPAIGN_SYNC_TEST_POSTGRES_URL` is set).

mod admin;
mod cli;
mod connector_marketo;
mod connector_salesforce;
mod health;
mod helpers;
mod kill_burst;
mod marketo_inbound;
mod openapi;
mod salesforce_inbound;
mod sandbox;
mod service_process;
mod settings_reconcile;
mod sim_marketo;
mod sim_salesforce;
mod store;
mod store_writer;
mod sync;
mod sync_edges;
mod world;
