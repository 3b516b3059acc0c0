//! Group commit: writer tasks own their connections and commit every request that queued while
//! they were busy in a single transaction, so N concurrent receivers cost one fsync rather than
//! N. Each caller is answered only after its rows are durable. With more than one writer
//! (PostgreSQL), the next group is gathered and inserted while the previous one's commit syncs.

use std::sync::Arc;
use std::time::Instant;

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection, Executor};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::insert::{Prepared, insert_and_commit_sqlite, insert_signals};
use super::{Backend, Recorded, StoreError};

/// Requests one commit may carry; bounds the transaction and the latency of the first caller.
const MAX_REQUESTS_PER_COMMIT: usize = 512;
/// Requests waiting for a writer; a caller beyond this waits to enqueue (back-pressure).
const QUEUE: usize = 4096;

struct Job {
    signals: Vec<Prepared>,
    now: i64,
    reply: oneshot::Sender<Result<Vec<Recorded>, StoreError>>,
}

#[derive(Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

/// A writer's connection and how to open it again when it breaks.
pub(super) struct Link {
    conn: AnyConnection,
    options: AnyConnectOptions,
    backend: Backend,
    /// Statements every new connection runs first (SQLite's pragmas).
    setup: &'static str,
}

impl Link {
    pub(super) async fn open(
        options: &AnyConnectOptions,
        backend: Backend,
        setup: &'static str,
    ) -> Result<Link, StoreError> {
        let mut conn = AnyConnection::connect_with(options).await?;
        if !setup.is_empty() {
            conn.execute(setup).await?;
        }
        Ok(Link {
            conn,
            options: options.clone(),
            backend,
            setup,
        })
    }

    /// Replaces a connection that no longer answers; one that does is kept.
    async fn heal(&mut self) {
        if self.conn.ping().await.is_ok() {
            return;
        }
        match Link::open(&self.options, self.backend, self.setup).await {
            Ok(fresh) => *self = fresh,
            Err(error) => tracing::warn!(%error, "group-commit writer could not reconnect"),
        }
    }
}

impl Writer {
    /// One task per link; they take turns gathering a group from the shared queue.
    pub(super) fn spawn(links: Vec<Link>) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for link in links {
            tokio::spawn(run(link, Arc::clone(&queue)));
        }
        Writer { jobs }
    }

    pub(super) async fn record(
        &self,
        signals: Vec<Prepared>,
        now: i64,
    ) -> Result<Vec<Recorded>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            signals,
            now,
            reply,
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

async fn run(mut link: Link, queue: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut batch = Vec::with_capacity(MAX_REQUESTS_PER_COMMIT);
    loop {
        // The queue is held only while gathering: once this group is taken, the next writer
        // gathers the next one while this one commits.
        let gathered = queue
            .lock()
            .await
            .recv_many(&mut batch, MAX_REQUESTS_PER_COMMIT)
            .await;
        if gathered == 0 {
            break;
        }
        match commit_together(&mut link, &batch).await {
            Ok(results) => {
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            // One bad request must not fail its neighbours: fall back to one commit each.
            Err(error) => {
                tracing::warn!(%error, requests = batch.len(), "group commit failed; committing requests one by one");
                link.heal().await;
                for job in batch.drain(..) {
                    let result = commit_one(&mut link, &job).await;
                    let _ = job.reply.send(result);
                }
            }
        }
    }
    let _ = link.conn.close().await;
}

/// Records how long the group took and how many requests shared it, so `/metrics` shows where
/// a durable acknowledgement's time goes.
async fn commit_together(link: &mut Link, batch: &[Job]) -> Result<Vec<Vec<Recorded>>, StoreError> {
    // One set of statements for every queued request; all of a group share one `now` (the
    // latest), which only decides when the signals are first due.
    let now = batch.iter().map(|job| job.now).max().unwrap_or_default();
    let all: Vec<&Prepared> = batch.iter().flat_map(|job| &job.signals).collect();
    let started = Instant::now();
    let mut recorded = write(link, &all, now).await?.into_iter();
    metrics::histogram!("store_group_commit_seconds").record(started.elapsed().as_secs_f64());
    metrics::counter!("store_group_commit_requests_total").increment(batch.len() as u64);
    Ok(batch
        .iter()
        .map(|job| recorded.by_ref().take(job.signals.len()).collect())
        .collect())
}

async fn commit_one(link: &mut Link, job: &Job) -> Result<Vec<Recorded>, StoreError> {
    let signals: Vec<&Prepared> = job.signals.iter().collect();
    write(link, &signals, job.now).await
}

/// Inserts and commits: durable when it returns.
async fn write(
    link: &mut Link,
    signals: &[&Prepared],
    now: i64,
) -> Result<Vec<Recorded>, StoreError> {
    match link.backend {
        Backend::Sqlite => insert_and_commit_sqlite(&mut link.conn, signals, now).await,
        Backend::Postgres => {
            let mut tx = link.conn.begin().await?;
            let recorded = insert_signals(&mut tx, signals, now).await?;
            tx.commit().await?;
            Ok(recorded)
        }
    }
}
