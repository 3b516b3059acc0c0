//! All integration tests, in one binary: the real router on port 0, a real SQLite file (and
//! PostgreSQL when `CAMPAIGN_SYNC_TEST_POSTGRES_URL` is set).

mod cli;
mod health;
mod helpers;
mod openapi;
mod store;
