//! `TestApp`: the real service on a free loopback port with a throwaway database.

use std::net::SocketAddr;

use campaign_sync::app::App;
use campaign_sync::config::{Config, Secret};
use campaign_sync::store::Store;
use campaign_sync::worker::Worker;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

/// A database a test owns alone: a temp SQLite file, or a fresh schema in the PostgreSQL test
/// server. Dropping it removes the SQLite file; PostgreSQL schemas are left for `.ci/run`'s
/// fresh database to discard.
pub struct TestDb {
    pub label: &'static str,
    pub url: String,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("campaign-sync.db").display());
        TestDb {
            label: "sqlite",
            url,
            _dir: Some(dir),
        }
    }

    /// `None` when `CAMPAIGN_SYNC_TEST_POSTGRES_URL` is unset, which the test's output says; in
    /// CI (`CI` set) a missing URL fails instead, so PostgreSQL is never skipped silently.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(base) = std::env::var("CAMPAIGN_SYNC_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but CAMPAIGN_SYNC_TEST_POSTGRES_URL is not: the PostgreSQL half of this test cannot run"
            );
            eprintln!("PostgreSQL part skipped: CAMPAIGN_SYNC_TEST_POSTGRES_URL is not set");
            return None;
        };
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = Store::open(&base)
            .await
            .expect("connect to test PostgreSQL");
        admin
            .execute_raw(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("create schema");
        admin.close().await;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        Some(TestDb {
            label: "postgres",
            url,
            _dir: None,
        })
    }

    /// Another handle on a database a test already owns (a second replica's).
    pub fn shared(url: &str) -> TestDb {
        TestDb {
            label: "shared",
            url: url.to_string(),
            _dir: None,
        }
    }

    /// SQLite always; PostgreSQL too when its URL is set.
    pub async fn all() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite()];
        if let Some(pg) = TestDb::postgres().await {
            dbs.push(pg);
        }
        dbs
    }

    pub async fn store(&self) -> Store {
        Store::connect(&self.url).await.expect("open test store")
    }
}

pub struct TestApp {
    pub address: SocketAddr,
    pub store: Store,
    pub shutdown: CancellationToken,
    pub client: reqwest::Client,
    pub worker: Worker,
    /// Kept alive so the SQLite file outlives the app.
    _db: TestDb,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(TestDb::sqlite(), |_| {}).await
    }

    /// Starts the service on `db` after `adjust` has changed the test configuration.
    pub async fn spawn_with(db: TestDb, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: Secret::new(&db.url),
            ..Config::default()
        };
        config.http.drain_delay_secs = 0;
        config.http.shutdown_timeout_secs = 5;
        // Tests drive the worker with `run_pending()`, never its background loop.
        config.worker.enabled = false;
        adjust(&mut config);
        let shutdown = CancellationToken::new();
        let app = App::build(config, shutdown.clone())
            .await
            .expect("build app");
        let address = app.local_addr();
        let store = app.state().store().clone();
        let worker = app.worker().clone();
        let server = tokio::spawn(app.run());
        TestApp {
            address,
            store,
            shutdown,
            client: reqwest::Client::new(),
            worker,
            _db: db,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// An admin call with the bearer `token`: the status and the JSON answer (`Null` when the
    /// answer has no JSON body).
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> (u16, serde_json::Value) {
        let response = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// Cancels the app and waits for it to stop.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.server.await.expect("server task")
    }
}
