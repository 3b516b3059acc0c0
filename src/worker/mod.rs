//! The sync worker: claim due signals with a lease → read current state → plan → write the
//! differences in API-sized batches → record mirror, outcomes and trigger events. It never holds
//! a transaction across an HTTP call, and it never sees an HTTP request.

pub mod compat;
mod deleted_poll;
mod flow;
mod identity;
pub mod mappings;
mod observe;
mod reconcile;
mod record;
pub mod retry;
mod round;
mod settings;
mod write_marketo;
mod write_salesforce;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::connectors::marketo::MarketoClient;
use crate::connectors::salesforce::SalesforceClient;
use crate::store::{LeaderLock, Store, StoreError, now_millis};

pub use mappings::Mappings;
pub use reconcile::ReconcileReport;
pub use settings::SettingsOutcome;

/// How often an idle worker looks for due signals (retries coming due, other replicas'
/// signals); signals recorded in this process wake it at once.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// How often a replica checks (or tries to take) the worker lock.
const LEADER_CHECK: Duration = Duration::from_secs(5);

/// Counts of one `run_pending` call, for tests and logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundReport {
    pub claimed: usize,
    pub completed: usize,
    pub retried: usize,
    pub dead: usize,
}

impl RoundReport {
    fn add(&mut self, other: RoundReport) {
        self.claimed += other.claimed;
        self.completed += other.completed;
        self.retried += other.retried;
        self.dead += other.dead;
    }
}

#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: Arc<Config>,
    salesforce: Arc<SalesforceClient>,
    marketo: Arc<MarketoClient>,
    mappings: Mappings,
    /// This worker's lease owner name; unique per process.
    owner: String,
    /// Where the deleted-records poll resumes (epoch ms), kept in memory: after a restart the
    /// poll looks back one interval and reconciliation covers anything older.
    deleted_since: tokio::sync::Mutex<Option<i64>>,
}

impl Worker {
    /// Fails only when an API client cannot be built.
    pub fn new(
        store: Store,
        config: Arc<Config>,
        mappings: Mappings,
    ) -> Result<Self, crate::connectors::ClientBuildError> {
        let salesforce = Arc::new(SalesforceClient::new(&config.salesforce)?);
        let marketo = Arc::new(MarketoClient::new(&config.marketo)?);
        Ok(Worker {
            inner: Arc::new(Inner {
                store,
                owner: format!("worker-{}", uuid::Uuid::new_v4().simple()),
                config,
                salesforce,
                marketo,
                mappings,
                deleted_since: tokio::sync::Mutex::new(None),
            }),
        })
    }

    pub fn salesforce(&self) -> &SalesforceClient {
        &self.inner.salesforce
    }

    pub fn marketo(&self) -> &MarketoClient {
        &self.inner.marketo
    }

    pub fn mappings(&self) -> &Mappings {
        &self.inner.mappings
    }

    /// Processes every signal due now, round after round, until none is left: the
    /// deterministic driver tests use instead of sleeping.
    pub async fn run_pending(&self) -> Result<RoundReport, StoreError> {
        let mut total = RoundReport::default();
        loop {
            let report = self.run_round().await?;
            if report.claimed == 0 {
                return Ok(total);
            }
            total.add(report);
        }
    }

    /// Claims one batch and processes it.
    async fn run_round(&self) -> Result<RoundReport, StoreError> {
        let worker = &self.inner.config.worker;
        let lease_ms = i64::try_from(worker.lease_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let claimed = self
            .inner
            .store
            .claim(
                &self.inner.owner,
                worker.claim_batch,
                lease_ms,
                now_millis(),
            )
            .await?;
        if claimed.is_empty() {
            return Ok(RoundReport::default());
        }
        round::process(self, claimed).await
    }

    /// Runs until `shutdown`: processes signals as they come due (after a short linger that
    /// lets a burst fill the batch) and polls Salesforce's deleted records on schedule.
    pub async fn run(self, shutdown: CancellationToken) {
        let linger = Duration::from_millis(self.inner.config.worker.batch_linger_ms);
        let poll_every = Duration::from_secs(self.inner.config.schedules.deleted_poll_secs.max(1));
        let settings_every =
            Duration::from_secs(self.inner.config.schedules.program_settings_secs.max(1));
        let reconcile_every =
            Duration::from_secs(self.inner.config.schedules.reconcile_secs.max(1));
        let start = tokio::time::Instant::now();
        let (mut next_poll, mut next_settings, mut next_reconcile) =
            (start, start, start + reconcile_every);
        tracing::info!(owner = %self.inner.owner, "worker started");
        let mut lock: Option<LeaderLock> = None;
        let mut next_lock_check = start;
        while !shutdown.is_cancelled() {
            let now = tokio::time::Instant::now();
            if now >= next_lock_check {
                next_lock_check = now + LEADER_CHECK;
                if let Some(held) = &mut lock
                    && !held.is_held().await
                {
                    tracing::warn!("lost the worker lock; another replica may take over");
                    lock = None;
                }
                if lock.is_none() {
                    match self.inner.store.try_lead().await {
                        Ok(Some(acquired)) => {
                            tracing::info!("this replica now runs the worker");
                            lock = Some(acquired);
                        }
                        Ok(None) => {}
                        Err(error) => tracing::warn!(%error, "could not try the worker lock"),
                    }
                }
            }
            if lock.is_none() {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(LEADER_CHECK) => {}
                }
                continue;
            }
            if now >= next_settings {
                self.check_statuses().await;
                if let Err(error) = self.sync_settings().await {
                    tracing::warn!(%error, "campaign settings pass failed");
                }
                next_settings = now + settings_every;
            }
            if now >= next_poll {
                if let Err(error) = self.poll_deleted().await {
                    tracing::warn!(%error, "deleted-records poll failed; will try again");
                }
                next_poll = now + poll_every;
            }
            if now >= next_reconcile {
                self.reconcile().await;
                self.purge().await;
                next_reconcile = now + reconcile_every;
            }
            match self.inner.store.claim_count_due(now_millis()).await {
                Ok(0) => {}
                Ok(_) => {
                    tokio::time::sleep(linger).await;
                    if let Err(error) = self.run_pending().await {
                        tracing::error!(%error, "worker round failed; the leases will expire and the signals come back");
                    }
                    continue;
                }
                Err(error) => tracing::warn!(%error, "could not look for due signals"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.inner.store.signals_recorded() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
        }
        tracing::info!("worker stopped");
    }

    /// Lists both sides of every enabled mapping and queues a signal per difference; the
    /// signals are then processed like any other (`run_pending` or the loop).
    pub async fn reconcile(
        &self,
    ) -> Vec<Result<ReconcileReport, (String, crate::connectors::CallError)>> {
        reconcile::reconcile_all(self).await
    }

    /// Checks status compatibility of every mapping, holding those that cannot translate.
    pub async fn check_statuses(&self) {
        compat::check_all(self).await;
    }

    /// The compatibility problems of one mapping, read from the live APIs now.
    pub async fn status_problems(
        &self,
        mapping: &mappings::Mapping,
    ) -> Result<Vec<String>, crate::connectors::CallError> {
        compat::problems(self.salesforce(), self.marketo(), mapping).await
    }

    /// Writes channel → Type and costs → ActualCost where they differ, for every enabled mapping.
    pub async fn sync_settings(&self) -> Result<(), StoreError> {
        settings::sync_all(self).await
    }

    /// Deletes processed signals older than `worker.retain_done_days`.
    pub async fn purge(&self) {
        let days = self.inner.config.worker.retain_done_days;
        if days == 0 {
            return;
        }
        let before = now_millis() - i64::try_from(days * 86_400_000).unwrap_or(i64::MAX / 2);
        match self.inner.store.purge_done(before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "old processed signals deleted"),
            Err(error) => tracing::warn!(%error, "could not purge processed signals"),
        }
    }

    /// Looks for CampaignMembers deleted in Salesforce and records a signal for each.
    pub async fn poll_deleted(&self) -> Result<usize, crate::connectors::CallError> {
        deleted_poll::poll(self, now_millis()).await
    }

    /// The same poll as of `now` (epoch ms): tests whose Salesforce clock runs ahead use it.
    pub async fn poll_deleted_at(&self, now: i64) -> Result<usize, crate::connectors::CallError> {
        deleted_poll::poll(self, now).await
    }
}
