//! Group commit: writers own their connections and commit every request that queued while they
//! were busy in a single transaction, so N concurrent receivers cost one fsync rather than N.
//! Each caller is answered only after its rows are durable. PostgreSQL's writers are tasks, more
//! than one, so the next group is gathered and inserted while the previous one's commit syncs;
//! SQLite's is one thread of its own (`sqlite_writer`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection};
use tokio::sync::{Mutex, Semaphore, mpsc, oneshot};

use super::insert::{
    Partial, Plan, Prepared, complete, insert_rows, look_up_absorbed, pick, place, plan_any,
};
use super::{Recorded, StoreError, inbox, sqlite_writer};
use crate::signal::RejectedInput;

/// Requests one commit may carry; bounds the transaction and the latency of the first caller.
pub(super) const MAX_REQUESTS_PER_COMMIT: usize = 512;
/// Longest a writer waits for expected callers before committing without them.
pub(super) const LINGER: Duration = Duration::from_micros(300);
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
        let results = write_group(&mut link, &batch).await;
        for (job, result) in batch.drain(..).zip(results) {
            let _ = job.reply.send(result);
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

/// Commits a group and answers each of its callers. When the commit fails, nothing of the
/// group is stored and each request is committed on its own, so one bad request does not fail
/// its neighbours. Once it has succeeded, the group is durable and is never written again: a
/// failed lookup of the stored signals some of it duplicates is retried on a healed connection,
/// and only the callers whose duplicates still cannot be read back get an error. Writing them
/// again would report the group's new signals as duplicates of themselves.
async fn write_group(link: &mut Link, batch: &[Job]) -> Vec<Result<Vec<Recorded>, StoreError>> {
    let rows = Rows::of(batch);
    let plan = plan_any(&rows.signals);
    let started = Instant::now();
    let mut recorded = match store(link, &plan, &rows).await {
        Ok(recorded) => recorded,
        Err(error) => {
            tracing::warn!(%error, requests = batch.len(), "group commit failed; committing requests one by one");
            link.heal().await;
            let mut results = Vec::with_capacity(batch.len());
            for job in batch {
                results.push(write(link, &Rows::of(std::slice::from_ref(job))).await);
            }
            return results;
        }
    };
    record_timing(started, batch.len());
    let mut stored = look_up_absorbed(&mut link.conn, &plan, &rows.signals, &recorded).await;
    if let Err(error) = &stored {
        tracing::warn!(%error, "reading back the stored signals a committed group duplicates failed; trying again");
        link.heal().await;
        stored = look_up_absorbed(&mut link.conn, &plan, &rows.signals, &recorded).await;
    }
    let stored = match stored {
        Ok(stored) => {
            if let Some((vanished, again)) = vanished_rows(&plan, &rows, &recorded, &stored) {
                place_rewritten(&mut recorded, &vanished, write(link, &again).await);
            }
            stored
        }
        Err(error) => {
            tracing::warn!(%error, "reading back the stored signals a committed group duplicates failed again");
            HashMap::new()
        }
    };
    per_caller(batch, plan.finish(recorded, &rows.signals, &stored))
}

/// The signals of a committed group to write once more ([`Plan::vanished`]: the row that
/// absorbed each was deleted before the lookup found it) with their places in the group, so
/// their callers are answered instead of refused; `None` when there are none.
pub(super) fn vanished_rows<'a>(
    plan: &Plan<'_>,
    rows: &Rows<'a>,
    recorded: &Partial,
    stored: &HashMap<String, i64>,
) -> Option<(Vec<usize>, Rows<'a>)> {
    let vanished = plan.vanished(recorded, &rows.signals, stored);
    if vanished.is_empty() {
        return None;
    }
    tracing::info!(
        signals = vanished.len(),
        "stored duplicates were deleted before they were read back; writing the signals again"
    );
    let again = Rows {
        signals: pick(&rows.signals, &vanished),
        rejected: Vec::new(),
        now: rows.now,
    };
    Some((vanished, again))
}

/// Notes the answers of the [`vanished_rows`] written again; a signal that still cannot be
/// answered leaves its caller with an error.
pub(super) fn place_rewritten(
    recorded: &mut Partial,
    vanished: &[usize],
    written: Result<Vec<Recorded>, StoreError>,
) {
    match written {
        Ok(results) => place(recorded, vanished, results),
        Err(error) => {
            tracing::warn!(%error, "writing again signals whose duplicates were deleted failed");
        }
    }
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

/// Each caller's share of a group's results (which are in queue order): an error for a caller
/// with a result missing.
pub(super) fn per_caller(
    batch: &[Job],
    recorded: Partial,
) -> Vec<Result<Vec<Recorded>, StoreError>> {
    let mut recorded = recorded.into_iter();
    batch
        .iter()
        .map(|job| complete(recorded.by_ref().take(job.signals.len()).collect()))
        .collect()
}

/// A group's commit time and size, for `/metrics`.
pub(super) fn record_timing(started: Instant, requests: usize) {
    metrics::histogram!("store_group_commit_seconds").record(started.elapsed().as_secs_f64());
    metrics::counter!("store_group_commit_requests_total").increment(requests as u64);
}

/// One request's commit and lookup, for the fallback: durable when it returns.
async fn write(link: &mut Link, rows: &Rows<'_>) -> Result<Vec<Recorded>, StoreError> {
    let plan = plan_any(&rows.signals);
    let recorded = store(link, &plan, rows).await?;
    let stored = look_up_absorbed(&mut link.conn, &plan, &rows.signals, &recorded).await?;
    complete(plan.finish(recorded, &rows.signals, &stored))
}

/// Inserts and commits: durable when it returns, each signal's id noted unless a stored one
/// absorbed it. A group that is one INSERT (the usual burst: new signals with one conflict
/// rule, nothing refused) runs in autocommit, one round trip instead of three; PostgreSQL
/// answers it once its commit is flushed, as it would a COMMIT.
async fn store(link: &mut Link, plan: &Plan<'_>, rows: &Rows<'_>) -> Result<Partial, StoreError> {
    if rows.rejected.is_empty() && plan.statements.len() == 1 {
        return insert_rows(&mut link.conn, plan, &rows.signals, rows.now).await;
    }
    let mut tx = link.conn.begin().await?;
    let recorded = insert_rows(&mut tx, plan, &rows.signals, rows.now).await?;
    let rejected: Vec<RejectedInput> = rows.rejected.iter().map(|r| (*r).clone()).collect();
    inbox::insert_rejected(&mut tx, &rejected, rows.now).await?;
    tx.commit().await?;
    Ok(recorded)
}

/// Requests for the writers' tests.
#[cfg(test)]
pub(super) mod requests {
    use tokio::sync::oneshot;

    use super::Job;
    use crate::signal::{MarketoMember, NewSignal, Signal};
    use crate::store::insert::Prepared;

    /// An empty request whose caller has gone.
    pub(in crate::store) fn job() -> Job {
        let (reply, _answer) = oneshot::channel();
        Job {
            signals: Vec::new(),
            rejected: Vec::new(),
            now: 0,
            reply,
        }
    }

    /// A request carrying one signal with dedup key `key`.
    pub(in crate::store) fn carrying(key: &str) -> Job {
        let signal = Signal::MarketoMember(MarketoMember {
            lead_id: 7,
            program_id: 1001,
            email: None,
            status: None,
            trigger: None,
        });
        let mut request = job();
        request.signals = vec![Prepared::new(NewSignal::new(key.to_string(), signal)).unwrap()];
        request
    }

    /// Two requests for one group: a new signal, then one a signal stored as `stored_key`
    /// absorbs.
    pub(in crate::store) fn new_and_duplicate(stored_key: &str) -> Vec<Job> {
        let new = format!("lookup:new:{}", uuid::Uuid::new_v4().simple());
        vec![carrying(&new), carrying(stored_key)]
    }
}

#[cfg(test)]
#[path = "group_commit_tests.rs"]
mod tests;
