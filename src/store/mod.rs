//! The durable store: signals inbox, mirror, identities, trigger events and outcomes, on SQLite
//! (embedded default) or PostgreSQL behind one API. Times are epoch milliseconds passed in by the
//! caller, so lease and retry behaviour is testable without sleeping.

mod change_counts;
mod connect;
mod console_signouts;
pub mod cursors;
mod dead_letters;
mod extract_jobs;
mod failing_search;
mod group_commit;
mod history;
mod identities;
mod inbox;
mod insert;
mod journal;
mod leader;
mod leases;
pub mod member_ids;
mod mirror;
mod outbox;
mod outbox_claim;
mod outbox_share;
mod people;
mod person_names;
mod queries;
mod quota_days;
mod repairs;
mod retrying;
mod runtime;
mod sqlite_writer;
mod subscriptions;
mod superseded;
mod upstream_health;

use sqlx::AnyPool;

pub use crate::kinds::OutcomeResult;
pub use connect::GroupCommit;
pub use dead_letters::{DeadLetter, DeadPage};
pub use extract_jobs::OpenExtract;
pub use history::{Outcome, TriggerEvent};
pub use journal::{Journal, SignalEnd};
pub use leader::{LeaderLock, SILENT_HOLDER, holder_name};
pub use mirror::{IdentityRow, MirrorRow, fold_email, is_email_address};
pub use outbox::{
    Attempt, Delivery, DeliveryRow, Notice, OutboxCounts, Queue, TO_MARKETO_ACTIVITY,
    TO_MARKETO_REQUEST, TO_SUBSCRIPTION, envelope, trigger_payload,
};
pub use outbox_share::SubscriberShare;
pub use people::{
    NamedOutcome, NamedTriggerEvent, OutcomeFilter, ReceivedSignal, SkipKind, Timeline,
};
pub use person_names::PersonNames;
pub use queries::{Backlog, ChangeCounts, FailingFilter, FailingSignal, MappingScope};
pub use quota_days::QuotaDay;
pub use repairs::{RepairStates, repair_record};
pub use retrying::{Adoption, Settled};
pub use runtime::{Job, SYNC_SWITCH};
pub use subscriptions::{Rotation, Subscription};

use crate::signal::Signal;

/// A database error as an operator reads it: PostgreSQL's own message, without the line of
/// the server's source code sqlx appends (`… at line 350`), which reads like a place in a
/// query or a file of ours.
fn database_words(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(database) => {
            format!("error returned from database: {}", database.message())
        }
        other => other.to_string(),
    }
}

/// Each message already says its cause, so none is chained as a `source` too (a report
/// printing the chain would say it twice).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {}", database_words(.0))]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    #[error("stored payload is not a valid signal: {0}")]
    Payload(serde_json::Error),
    #[error("database url must start with sqlite: or postgres://")]
    UnsupportedUrl,
    #[error("the SQLite file {0} cannot be created: its directory does not exist")]
    NoDirectory(String),
    #[error("could not connect to PostgreSQL at {target}: {cause}")]
    Unreachable { target: String, cause: String },
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("the store's writer has stopped")]
    WriterGone,
    #[error("the signal duplicates a stored one whose id could not be read back")]
    DuplicateUnread,
    #[error("could not start the store's writer: {0}")]
    WriterStart(std::io::Error),
    #[error(
        "the round's leases went unrenewed for {0} s (the database unreachable or stalled): \
         stopped before another replica takes its signals over"
    )]
    LeasesLapsed(u64),
    #[error("the database did not answer within {0} s")]
    NoAnswer(u64),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Database(error)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(error)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        StoreError::Payload(error)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Sqlite(error)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Cheap to clone; every clone shares the pool and the SQLite writer.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The group commit that records concurrent callers' signals together (absent when
    /// opened with [`GroupCommit::Off`]).
    writer: Option<group_commit::Writer>,
    /// Woken after signals are committed, so an idle worker in this process starts at once.
    recorded: std::sync::Arc<tokio::sync::Notify>,
    /// A follower's connection for trying the worker lock (PostgreSQL).
    lock_candidate: leader::Candidate,
}

/// What `record` did with one signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub id: i64,
    /// An earlier delivery with the same dedup key was already stored; nothing new was written.
    pub duplicate: bool,
}

/// A signal leased to one worker until `lease_expires_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub id: i64,
    pub dedup_key: String,
    pub signal: Signal,
    /// Including this claim.
    pub attempts: i64,
    pub received_at: i64,
    /// Who an earlier try found the signal to be about, when it failed or waited.
    pub person: Option<String>,
}

/// A signal that failed for good (`dead`, replayable) or an input refused at the edge
/// (`rejected`), with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadSignal {
    pub id: i64,
    pub dedup_key: String,
    pub kind: String,
    /// `dead` or `rejected`.
    pub state: String,
    pub payload: serde_json::Value,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub updated_at: i64,
}

impl Store {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction that will write. On SQLite it takes the write lock at `BEGIN IMMEDIATE`:
    /// a deferred transaction that reads first and then writes cannot wait for the lock once
    /// another writer committed meanwhile, and fails at once with "database is locked"
    /// whatever the busy timeout; waiting at the start is covered by it.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Resolves once signals have been recorded through this store since the last wake-up.
    pub async fn signals_recorded(&self) {
        self.recorded.notified().await;
    }

    /// Answers when the database does: the readiness check.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool. On SQLite it first moves everything the WAL holds into the database file
    /// and empties the WAL, so the file alone (copied, backed up, opened elsewhere) is the data.
    pub async fn close(&self) {
        if self.backend == Backend::Sqlite
            && let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await
        {
            tracing::warn!(%error, "the final checkpoint failed; the WAL file holds the rest");
        }
        self.pool.close().await;
    }
}

/// Milliseconds since the Unix epoch, the store's unit of time.
pub fn now_millis() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
}

/// A signal's stored payload as the operator's lists show it: its JSON, or, for one that is
/// not JSON (damaged, or written by something else), its text as a string, so one such row
/// does not fail the whole list.
pub(crate) fn shown_payload(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
}

impl Store {
    /// Runs one statement as is: for administration scripts and test set-up.
    pub async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
