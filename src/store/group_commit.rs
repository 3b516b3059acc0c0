//! Group commit: writers own their connections and commit every request that queued while they
//! were busy in a single transaction, so N concurrent receivers cost one fsync rather than N.
//! Each caller is answered only after its rows are durable. PostgreSQL's writers are tasks, more
//! than one, so the next group is gathered and inserted while the previous one's commit syncs;
//! SQLite's is one thread of its own (`sqlite_writer`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection};
use tokio::sync::{Mutex, Semaphore, mpsc, oneshot};

use super::insert::{Prepared, insert_planned, plan_any};
use super::{Recorded, StoreError, inbox, sqlite_writer};
use crate::signal::RejectedInput;

/// Requests one commit may carry; bounds the transaction and the latency of the first caller.
pub(super) const MAX_REQUESTS_PER_COMMIT: usize = 512;
/// Longest a writer waits for expected callers before committing without them.
pub(super) const LINGER: Duration = Duration::from_millis(1);
/// Requests waiting for a writer; a caller beyond this waits to enqueue (back-pressure).
const QUEUE: usize = 4096;

pub(super) struct Job {
    pub(super) signals: Vec<Prepared>,
    /// Inputs refused at the edge, stored as `rejected` in the same transaction.
    pub(super) rejected: Vec<RejectedInput>,
    pub(super) now: i64,
    pub(super) reply: Reply,
}

/// Where a caller waits for its rows to be durable.
pub(super) type Reply = oneshot::Sender<Result<Vec<Recorded>, StoreError>>;

#[derive(Clone)]
pub(super) enum Writer {
    /// PostgreSQL's writer tasks, sharing one queue.
    Tasks(mpsc::Sender<Job>),
    /// SQLite's writer thread; a caller holds one of [`QUEUE`] permits until its job is
    /// answered, which bounds the thread's unbounded queue.
    Thread {
        jobs: std::sync::mpsc::Sender<Job>,
        room: Arc<Semaphore>,
    },
}

/// A PostgreSQL writer's connection and how to open it again when it breaks.
pub(super) struct Link {
    conn: AnyConnection,
    options: AnyConnectOptions,
}

impl Link {
    pub(super) async fn open(options: &AnyConnectOptions) -> Result<Link, StoreError> {
        Ok(Link {
            conn: AnyConnection::connect_with(options).await?,
            options: options.clone(),
        })
    }

    /// Replaces a connection that no longer answers; one that does is kept.
    async fn heal(&mut self) {
        if self.conn.ping().await.is_ok() {
            return;
        }
        match Link::open(&self.options).await {
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
        Writer::Tasks(jobs)
    }

    /// SQLite's writer thread on the database file at `path`; `setup` holds the pragmas.
    pub(super) fn spawn_sqlite(
        path: &std::path::Path,
        setup: &'static str,
    ) -> Result<Self, StoreError> {
        let (jobs, queue) = std::sync::mpsc::channel();
        sqlite_writer::spawn(path, setup, queue)?;
        Ok(Writer::Thread {
            jobs,
            room: Arc::new(Semaphore::new(QUEUE)),
        })
    }

    pub(super) async fn record(
        &self,
        signals: Vec<Prepared>,
        rejected: Vec<RejectedInput>,
        now: i64,
    ) -> Result<Vec<Recorded>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            signals,
            rejected,
            now,
            reply,
        };
        match self {
            Writer::Tasks(jobs) => {
                jobs.send(job).await.map_err(|_| StoreError::WriterGone)?;
                answer.await.map_err(|_| StoreError::WriterGone)?
            }
            Writer::Thread { jobs, room } => {
                let _permit = room.acquire().await.map_err(|_| StoreError::WriterGone)?;
                jobs.send(job).map_err(|_| StoreError::WriterGone)?;
                answer.await.map_err(|_| StoreError::WriterGone)?
            }
        }
    }
}

async fn run(mut link: Link, queue: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut batch = Vec::with_capacity(MAX_REQUESTS_PER_COMMIT);
    let mut expected = 0;
    loop {
        // The queue is held only while gathering: once this group is taken, the next writer
        // gathers the next one while this one commits.
        let mut jobs = queue.lock().await;
        if jobs.recv_many(&mut batch, MAX_REQUESTS_PER_COMMIT).await == 0 {
            break;
        }
        linger(&mut jobs, &mut batch, expected).await;
        drop(jobs);
        let answered = batch.len();
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
                    let result = write(&mut link, &Rows::of(std::slice::from_ref(&job))).await;
                    let _ = job.reply.send(result);
                }
            }
        }
        // The callers just answered are likely to send again, beside those already waiting;
        // when another writer is gathering, the waiting ones are its.
        let waiting = queue.try_lock().map_or(0, |jobs| jobs.len());
        expected = (answered + waiting).min(MAX_REQUESTS_PER_COMMIT);
    }
    let _ = link.conn.close().await;
}

/// Waits briefly for more requests while fewer have arrived than are `expected`: a caller
/// answered a moment ago is usually on its way back, and one group of all of them costs one
/// sync instead of two. Never longer than [`LINGER`], so a caller that does not come back
/// costs at most that; a lone caller (expected 1) never waits.
async fn linger(jobs: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>, expected: usize) {
    let deadline = tokio::time::Instant::now() + LINGER;
    while batch.len() < expected {
        let room = MAX_REQUESTS_PER_COMMIT - batch.len();
        match tokio::time::timeout_at(deadline, jobs.recv_many(batch, room)).await {
            Ok(received) if received > 0 => {}
            _ => break,
        }
    }
}

/// Records how long the group took and how many requests shared it, so `/metrics` shows where
/// a durable acknowledgement's time goes.
async fn commit_together(link: &mut Link, batch: &[Job]) -> Result<Vec<Vec<Recorded>>, StoreError> {
    let started = Instant::now();
    let recorded = write(link, &Rows::of(batch)).await?;
    record_timing(started, batch.len());
    Ok(per_caller(batch, recorded))
}

/// What one commit writes: the requests' signals and refused inputs in queue order, as one set
/// of statements, and the one `now` they share (the latest, which only decides when the signals
/// are first due).
pub(super) struct Rows<'a> {
    pub(super) signals: Vec<&'a Prepared>,
    pub(super) rejected: Vec<&'a RejectedInput>,
    pub(super) now: i64,
}

impl<'a> Rows<'a> {
    pub(super) fn of(batch: &'a [Job]) -> Self {
        Rows {
            signals: batch.iter().flat_map(|job| &job.signals).collect(),
            rejected: batch.iter().flat_map(|job| &job.rejected).collect(),
            now: batch.iter().map(|job| job.now).max().unwrap_or_default(),
        }
    }
}

/// Each caller's share of a group's results (which are in queue order).
pub(super) fn per_caller(batch: &[Job], recorded: Vec<Recorded>) -> Vec<Vec<Recorded>> {
    let mut recorded = recorded.into_iter();
    batch
        .iter()
        .map(|job| recorded.by_ref().take(job.signals.len()).collect())
        .collect()
}

/// A group's commit time and size, for `/metrics`.
pub(super) fn record_timing(started: Instant, requests: usize) {
    metrics::histogram!("store_group_commit_seconds").record(started.elapsed().as_secs_f64());
    metrics::counter!("store_group_commit_requests_total").increment(requests as u64);
}

/// Inserts and commits: durable when it returns. A group that is one INSERT (the usual burst:
/// new signals with one conflict rule, nothing refused) runs in autocommit, one round trip
/// instead of three; PostgreSQL answers it once its commit is flushed, as it would a COMMIT.
async fn write(link: &mut Link, rows: &Rows<'_>) -> Result<Vec<Recorded>, StoreError> {
    let plan = plan_any(&rows.signals);
    if rows.rejected.is_empty() && plan.statements.len() == 1 {
        return insert_planned(&mut link.conn, &plan, &rows.signals, rows.now).await;
    }
    let mut tx = link.conn.begin().await?;
    let recorded = insert_planned(&mut tx, &plan, &rows.signals, rows.now).await?;
    let rejected: Vec<RejectedInput> = rows.rejected.iter().map(|r| (*r).clone()).collect();
    inbox::insert_rejected(&mut tx, &rejected, rows.now).await?;
    tx.commit().await?;
    Ok(recorded)
}

/// An empty request whose caller has gone, for the gathering tests.
#[cfg(test)]
pub(super) fn job() -> Job {
    let (reply, _answer) = oneshot::channel();
    Job {
        signals: Vec::new(),
        rejected: Vec::new(),
        now: 0,
        reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_writer_lingers_only_for_expected_callers_and_at_most_the_linger() {
        let (jobs, mut queue) = mpsc::channel(16);
        let mut batch = Vec::new();

        // Nothing more expected: no wait at all, even with the clock frozen.
        jobs.send(job()).await.unwrap();
        queue.recv_many(&mut batch, 16).await;
        let started = tokio::time::Instant::now();
        linger(&mut queue, &mut batch, 1).await;
        assert_eq!(started.elapsed(), Duration::ZERO);

        // Two more expected, one comes while the writer waits: the group takes it; the third
        // never comes, so the wait ends at the linger bound.
        let late = jobs.clone();
        tokio::spawn(async move { late.send(job()).await.unwrap() });
        let started = tokio::time::Instant::now();
        linger(&mut queue, &mut batch, 3).await;
        assert_eq!(batch.len(), 2);
        assert!(started.elapsed() >= LINGER);
        assert!(started.elapsed() <= LINGER + Duration::from_millis(1));

        // Everyone expected arrives: the wait ends with the last of them, not at the bound.
        batch.clear();
        jobs.send(job()).await.unwrap();
        queue.recv_many(&mut batch, 16).await;
        let late = jobs.clone();
        tokio::spawn(async move { late.send(job()).await.unwrap() });
        let started = tokio::time::Instant::now();
        linger(&mut queue, &mut batch, 2).await;
        assert_eq!(batch.len(), 2);
        assert!(started.elapsed() < LINGER);
    }
}
