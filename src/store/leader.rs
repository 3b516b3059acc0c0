//! One worker at a time: on PostgreSQL a session advisory lock on a dedicated connection, so a
//! replica that dies (or loses its connection) releases it and another takes over. SQLite is
//! one process, which leads by definition.

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Row};

use super::{Backend, Store, StoreError};

/// How long the lock's connection may take to answer a ping or a try.
const PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What the lock's session names itself: this prefix, what holds it, and the replica.
const LABEL_PREFIX: &str = "campaign-sync ";

/// What holds the lock here, as every replica's overview names it (`worker myhost pid 7`):
/// cut to what PostgreSQL keeps of an `application_name` (63 bytes) after the prefix, so the
/// leader's own view and the others' agree.
pub fn holder_name(holder: &str) -> String {
    let mut name = format!("{holder} {}", crate::replica::name());
    while name.len() > 63 - LABEL_PREFIX.len() {
        name.pop();
    }
    name
}

/// How long a worker's lock session may go without a query before a replica trying the lock
/// ends it: the leader checks its lock at least every five seconds, so one silent this long
/// is frozen (`SIGSTOP`, `docker pause`, a stalled VM) or cut off behind something that keeps
/// its connection open (a proxy, a pooler), and would otherwise hold the lock for good.
pub const SILENT_HOLDER: std::time::Duration = std::time::Duration::from_secs(30);

/// The session holding the worker lock in this database, as `pg_locks` (`l`) joined with
/// `pg_stat_activity` (`a`) find it: `$1` and `$2` bind [`WORKER_LOCK_KEY`]'s high and low 32
/// bits, as `pg_locks` shows a bigint advisory key.
macro_rules! lock_holder {
    () => {
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND l.classid = CAST($1 AS bigint)::oid AND l.objid = CAST($2 AS bigint)::oid \
         AND l.objsubid = 1"
    };
}

/// Arbitrary but fixed: "campaign-sync worker" as a number.
const WORKER_LOCK_KEY: i64 = 0x6361_6d70_7379_6e63;

/// Held while this process runs the worker; dropping it closes the connection, releasing the
/// lock.
pub struct LeaderLock {
    conn: Option<AnyConnection>,
}

impl LeaderLock {
    /// Whether the lock's connection still answers (a lost connection means a lost lock). One
    /// that does not answer within [`PING_TIMEOUT`] (a half-open connection the network dropped
    /// silently) counts as lost: the worker stops rather than hang on it.
    ///
    /// The check is a query, which marks the session as heard from (`pg_stat_activity`'s
    /// `state_change`): a holder silent for [`SILENT_HOLDER`] has stopped (see
    /// [`Store::try_lead`]).
    pub async fn is_held(&mut self) -> bool {
        match &mut self.conn {
            None => true,
            Some(conn) => matches!(
                tokio::time::timeout(PING_TIMEOUT, sqlx::query("SELECT 1").execute(conn)).await,
                Ok(Ok(_))
            ),
        }
    }
}

/// A follower's connection for trying the lock, kept between tries so a replica waiting to
/// lead does not open and close a PostgreSQL connection every few seconds.
pub(super) type Candidate = std::sync::Arc<tokio::sync::Mutex<Option<AnyConnection>>>;

impl Store {
    /// Takes the worker lock if no other replica holds it. A follower keeps the connection it
    /// tried with for the next try; one that fails is dropped and the next try opens another.
    ///
    /// `holder` says what holds the lock (`worker`, `reconcile command`): the lock's session
    /// carries it with this replica's name as its `application_name`, which is how every
    /// replica can say who leads ([`Store::worker_leader`]).
    pub async fn try_lead(&self, holder: &str) -> Result<Option<LeaderLock>, StoreError> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(LeaderLock { conn: None }));
        }
        let mut candidate = self.lock_candidate.lock().await;
        let mut conn = match candidate.take() {
            Some(conn) => conn,
            None => {
                let conn: PoolConnection<Any> = self.pool.acquire().await?;
                // Out of the pool: the session lock must end with this connection, not be
                // lent on.
                conn.detach()
            }
        };
        // A kept connection the network dropped silently would never answer. The session
        // names its holder on every try, whoever tried on it before, and asks the server to
        // probe it: a holder cut off without a reset (a partition, a host gone) is dropped by
        // PostgreSQL within about 25 s, releasing the lock, instead of the system's default
        // two hours.
        let asked = sqlx::query(
            "SELECT set_config('application_name', $2, false), \
             set_config('tcp_keepalives_idle', '10', false), \
             set_config('tcp_keepalives_interval', '5', false), \
             set_config('tcp_keepalives_count', '3', false), pg_try_advisory_lock($1)",
        )
        .bind(WORKER_LOCK_KEY)
        .bind(format!("{LABEL_PREFIX}{}", holder_name(holder)))
        .fetch_one(&mut conn);
        let row = tokio::time::timeout(PING_TIMEOUT, asked)
            .await
            .map_err(|_| {
                sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the database did not answer the worker-lock try in time",
                ))
            })??;
        let acquired: bool = row.try_get(4)?;
        if acquired {
            return Ok(Some(LeaderLock { conn: Some(conn) }));
        }
        if holder == "worker" {
            end_silent_holder(&mut conn).await;
        }
        *candidate = Some(conn);
        Ok(None)
    }

    /// Who holds the worker lock now, as its session names it (`worker myhost pid 7`): `None`
    /// when nobody does, or on SQLite, where only this process could (the caller knows whether
    /// it leads).
    pub async fn worker_leader(&self) -> Result<Option<String>, StoreError> {
        if self.backend == Backend::Sqlite {
            return Ok(None);
        }
        let row = sqlx::query(concat!(
            "SELECT a.application_name ",
            lock_holder!(),
            " LIMIT 1"
        ))
        .bind(WORKER_LOCK_KEY >> 32)
        .bind(WORKER_LOCK_KEY & 0xffff_ffff)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let name: Option<String> = row.try_get(0)?;
        Ok(Some(
            match name.as_deref().and_then(|n| n.strip_prefix(LABEL_PREFIX)) {
                Some(holder) => holder.to_string(),
                // Held by a session that did not name itself (a campaign-sync before names).
                None => "a replica that does not give its name".to_string(),
            },
        ))
    }

    /// Whether some replica holds the worker lock now (SQLite: this process, always). A job
    /// queued while none does waits until one takes it (a failover takes seconds).
    pub async fn worker_lock_held(&self) -> Result<bool, StoreError> {
        if self.backend == Backend::Sqlite {
            return Ok(true);
        }
        Ok(self.worker_leader().await?.is_some())
    }
}

/// Ends the session of a worker holding the lock that has not been heard from for
/// [`SILENT_HOLDER`] (idle since its last query), so the next try takes the lock. A `reconcile`
/// command's session is left alone (it checks nothing while it runs), as is one in a query.
async fn end_silent_holder(conn: &mut AnyConnection) {
    let ended = sqlx::query(concat!(
        "SELECT a.application_name, pg_terminate_backend(a.pid) ",
        lock_holder!(),
        " AND a.state = 'idle' AND a.application_name LIKE $3 \
         AND a.state_change < now() - make_interval(secs => $4)"
    ))
    .bind(WORKER_LOCK_KEY >> 32)
    .bind(WORKER_LOCK_KEY & 0xffff_ffff)
    .bind(format!("{LABEL_PREFIX}worker %"))
    .bind(SILENT_HOLDER.as_secs_f64())
    .fetch_optional(&mut *conn);
    match tokio::time::timeout(PING_TIMEOUT, ended).await {
        Ok(Ok(Some(row))) => {
            let name: Option<String> = row.try_get(0).ok().flatten();
            tracing::warn!(
                holder = name.as_deref().unwrap_or_default(),
                silent_secs = SILENT_HOLDER.as_secs(),
                "the worker lock's holder has not been heard from (a frozen process, or cut off \
                 behind a proxy): its session is ended so another replica can lead"
            );
        }
        Ok(Ok(None)) => {}
        Ok(Err(error)) => {
            tracing::debug!(%error, "could not look for a silent worker-lock holder");
        }
        Err(_) => tracing::debug!("looking for a silent worker-lock holder took too long"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lock's session asks PostgreSQL to probe it (when `CAMPAIGN_SYNC_TEST_POSTGRES_URL`
    /// names a server; over TCP, where the settings apply).
    #[tokio::test]
    async fn the_lock_session_is_probed_by_the_server() {
        let Ok(url) = std::env::var("CAMPAIGN_SYNC_TEST_POSTGRES_URL") else {
            return;
        };
        let store = Store::open(&url).await.unwrap();
        // Held, or (another test's worker leads this database) kept for the next try: the
        // session tried on is set up either way.
        let mut conn = match store.try_lead("test").await.unwrap() {
            Some(lock) => lock.conn.expect("a PostgreSQL session"),
            None => store.lock_candidate.lock().await.take().expect("kept"),
        };
        for (setting, expected) in [
            ("tcp_keepalives_idle", "10"),
            ("tcp_keepalives_interval", "5"),
            ("tcp_keepalives_count", "3"),
        ] {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
            let value: String = row.try_get(0).unwrap();
            assert_eq!(value, expected, "{setting}");
        }
    }
}
