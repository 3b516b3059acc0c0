//! SQLite group commit: one writer task owns a connection and commits every request that queued
//! while the previous commit was syncing in a single transaction, so N concurrent receivers cost
//! one fsync rather than N. Each caller is answered only after its rows are durable.

use sqlx::{AnyConnection, Connection};
use tokio::sync::{mpsc, oneshot};

use super::{Recorded, StoreError, inbox};
use crate::signal::{NewSignal, RejectedInput};

/// Requests one commit may carry; bounds the transaction and the latency of the first caller.
const MAX_REQUESTS_PER_COMMIT: usize = 512;

struct Job {
    signals: Vec<NewSignal>,
    rejected: Vec<RejectedInput>,
    now: i64,
    reply: oneshot::Sender<Result<Vec<Recorded>, StoreError>>,
}

#[derive(Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub(super) fn spawn(conn: AnyConnection) -> Self {
        let (jobs, inbox) = mpsc::channel(4096);
        tokio::spawn(run(conn, inbox));
        Writer { jobs }
    }

    pub(super) async fn record(
        &self,
        signals: Vec<NewSignal>,
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
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

async fn run(mut conn: AnyConnection, mut inbox: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_REQUESTS_PER_COMMIT);
    while inbox.recv_many(&mut batch, MAX_REQUESTS_PER_COMMIT).await > 0 {
        match commit_together(&mut conn, &batch).await {
            Ok(results) => {
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            // One bad request must not fail its neighbours: fall back to one commit each.
            Err(error) => {
                tracing::warn!(%error, requests = batch.len(), "group commit failed; committing requests one by one");
                for job in batch.drain(..) {
                    let result = commit_one(&mut conn, &job).await;
                    let _ = job.reply.send(result);
                }
            }
        }
    }
    let _ = conn.close().await;
}

async fn commit_together(
    conn: &mut AnyConnection,
    batch: &[Job],
) -> Result<Vec<Vec<Recorded>>, StoreError> {
    // One set of statements for every queued request; all of a group share one `now` (the
    // latest), which only decides when the signals are first due.
    let now = batch.iter().map(|job| job.now).max().unwrap_or_default();
    let all: Vec<NewSignal> = batch
        .iter()
        .flat_map(|job| job.signals.iter().cloned())
        .collect();
    let mut tx = conn.begin().await?;
    let mut recorded = inbox::insert_signals(&mut tx, &all, now).await?.into_iter();
    let rejected: Vec<RejectedInput> = batch
        .iter()
        .flat_map(|job| job.rejected.iter().cloned())
        .collect();
    inbox::insert_rejected(&mut tx, &rejected, now).await?;
    tx.commit().await?;
    Ok(batch
        .iter()
        .map(|job| recorded.by_ref().take(job.signals.len()).collect())
        .collect())
}

async fn commit_one(conn: &mut AnyConnection, job: &Job) -> Result<Vec<Recorded>, StoreError> {
    let mut tx = conn.begin().await?;
    let result = inbox::insert_signals(&mut tx, &job.signals, job.now).await?;
    inbox::insert_rejected(&mut tx, &job.rejected, job.now).await?;
    tx.commit().await?;
    Ok(result)
}
