//! Opening the store: URL → backend, connection settings, migrations.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, Executor};

use super::{Backend, Store, StoreError, group_commit};

/// Whether concurrent callers' signal inserts share commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupCommit {
    On,
    Off,
}

/// Group-commit writers on PostgreSQL: while one waits for its commit to be flushed, the next
/// gathers and inserts the following group. SQLite has one writer at a time, so one writer.
const POSTGRES_WRITERS: usize = 4;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Durability and concurrency settings every SQLite connection gets. `synchronous=FULL` makes a
/// commit durable before it returns (with `fdatasync`: `.cargo/config.toml`); WAL lets readers
/// run beside the one writer.
pub(super) const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;";

/// How long the first PostgreSQL connection may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens one connection first, so a server that is down, a wrong password or a missing database
/// is reported with its own cause and where it was looked for (the pool would only say it
/// timed out waiting for a connection).
async fn reachable(url: &str, options: &AnyConnectOptions) -> Result<(), StoreError> {
    let unreachable = |cause: String| StoreError::Unreachable {
        target: postgres_target(url),
        cause,
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, sqlx::AnyConnection::connect_with(options)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(error)) => Err(unreachable(connect_cause(&error))),
        Err(_) => Err(unreachable(format!(
            "no answer within {} s",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

/// Why a first connection failed, in the server's own words (sqlx adds the line of the server's
/// source that raised it, which tells the operator nothing), with what to do when the database
/// is not there.
fn connect_cause(error: &sqlx::Error) -> String {
    let Some(db) = error.as_database_error() else {
        return error.to_string();
    };
    // 3D000: invalid_catalog_name, the database named in the URL does not exist.
    if db.code().as_deref() == Some("3D000") {
        return format!(
            "{}; create it first (createdb, or CREATE DATABASE as a user allowed to)",
            db.message()
        );
    }
    db.message().to_string()
}

/// `host:port/database as user` from a PostgreSQL URL, the password left out.
pub(super) fn postgres_target(url: &str) -> String {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return "the configured database_url".to_string();
    };
    let host = parsed.host_str().unwrap_or("localhost");
    let port = parsed.port().unwrap_or(5432);
    let database = parsed.path().trim_start_matches('/');
    let mut target = format!("{host}:{port}");
    if !database.is_empty() {
        target.push_str(&format!("/{database}"));
    }
    if !parsed.username().is_empty() {
        target.push_str(&format!(" as {}", parsed.username()));
    }
    target
}

impl Store {
    /// Connects and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let store = Self::open(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating (the `migrate` command migrates explicitly).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, GroupCommit::On).await
    }

    /// Like [`Store::open`], choosing whether signal inserts go through the group-commit writers
    /// (the benchmark compares both; the service always uses them).
    pub async fn open_with(url: &str, group_commit: GroupCommit) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        // SQLite's own answer ("unable to open database file") names neither file nor cause.
        if let Some(file) = crate::instance_lock::sqlite_file(url)
            && file
                .parent()
                .is_some_and(|dir| !dir.as_os_str().is_empty() && !dir.is_dir())
        {
            return Err(StoreError::NoDirectory(file.display().to_string()));
        }
        let url = with_create_mode(url, backend);
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect_with(options.clone())
                    .await?
            }
            Backend::Postgres => {
                reachable(&url, &options).await?;
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options.clone())
                    .await?
            }
        };
        let writer = match (group_commit, backend) {
            (GroupCommit::Off, _) => None,
            (GroupCommit::On, Backend::Sqlite) => sqlite_file(&url)?
                .map(|path| group_commit::Writer::spawn_sqlite(&path, SQLITE_PRAGMAS))
                .transpose()?,
            (GroupCommit::On, Backend::Postgres) => {
                let mut links = Vec::with_capacity(POSTGRES_WRITERS);
                for _ in 0..POSTGRES_WRITERS {
                    links.push(group_commit::Link::open(&options).await?);
                }
                Some(group_commit::Writer::spawn(links))
            }
        };
        Ok(Store {
            pool,
            backend,
            writer,
            recorded: std::sync::Arc::default(),
            lock_candidate: super::leader::Candidate::default(),
        })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }
}

fn backend_of(url: &str) -> Result<Backend, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// The file a SQLite URL names; `None` for an in-memory database, which only the pool's
/// connections share, so its signals are written without the group-commit thread.
fn sqlite_file(url: &str) -> Result<Option<PathBuf>, StoreError> {
    let options = SqliteConnectOptions::from_str(url)?;
    let path = options.get_filename();
    let in_memory =
        url.contains("mode=memory") || path.as_os_str().is_empty() || path == Path::new(":memory:");
    Ok((!in_memory).then(|| path.to_path_buf()))
}

/// A SQLite file is created when missing unless the URL already says otherwise.
fn with_create_mode(url: &str, backend: Backend) -> String {
    if backend != Backend::Sqlite || url.contains("mode=") {
        return url.to_string();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}mode=rwc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode_once() {
        assert_eq!(
            with_create_mode("sqlite://x.db", Backend::Sqlite),
            "sqlite://x.db?mode=rwc"
        );
        assert_eq!(
            with_create_mode("sqlite://x.db?mode=ro", Backend::Sqlite),
            "sqlite://x.db?mode=ro"
        );
        assert!(matches!(
            backend_of("mysql://x"),
            Err(StoreError::UnsupportedUrl)
        ));
    }

    #[test]
    fn a_postgres_target_names_where_without_the_password() {
        assert_eq!(
            postgres_target("postgres://sync:hunter2@db.internal:6432/campaigns?sslmode=require"),
            "db.internal:6432/campaigns as sync"
        );
        assert_eq!(postgres_target("postgres://db"), "db:5432");
    }

    #[test]
    fn the_bundled_sqlite_syncs_with_fdatasync() {
        // `.cargo/config.toml` hands this to libsqlite3-sys, which compiles SQLite with it.
        let flags = option_env!("LIBSQLITE3_FLAGS").unwrap_or_default();
        assert!(
            flags.split_whitespace().any(|f| f == "-DHAVE_FDATASYNC=1"),
            "LIBSQLITE3_FLAGS = {flags:?}"
        );
    }

    #[tokio::test]
    async fn a_sqlite_file_in_a_missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("missing").join("campaign-sync.db");
        let url = format!("sqlite://{}", file.display());
        let error = match Store::open(&url).await {
            Err(error) => error.to_string(),
            Ok(_) => panic!("opened a file in a missing directory"),
        };
        assert!(error.contains(&file.display().to_string()), "{error}");
        assert!(error.contains("directory does not exist"), "{error}");
    }
}
