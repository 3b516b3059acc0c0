//! Opening the store: URL → backend, connection settings, migrations.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::Executor;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;

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
