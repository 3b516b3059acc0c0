//! The sync worker: claim due signals with a lease → read current state → plan → write the
//! differences in API-sized batches → record mirror, outcomes and trigger events. It never holds
//! a transaction across an HTTP call, and it never sees an HTTP request.

//! A round's steps, each its own module, in the order data flows (each imports only the
//! leaves `work`, `context`, `mappings` and the steps after it, never one before):
//! `claim` → `observe` → `resolve` → `plan` → `write` → `record`, driven by `round` (and by
//! `flow` for flow actions). Scheduled passes: `compat`, `settings`, `deleted_poll`,
//! `reconcile`.

mod claim;
pub mod compat;
mod context;
mod deleted_poll;
mod flow;
pub mod mappings;
mod observe;
mod plan;
mod reconcile;
mod record;
mod resolve;
pub mod retry;
mod round;
mod settings;
mod work;
mod write;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::connectors::marketo::MarketoClient;
use crate::connectors::salesforce::SalesforceClient;
use crate::store::{LeaderLock, Store, StoreError, now_millis};

use context::Context;

pub use mappings::Mappings;
pub use reconcile::ReconcileReport;
pub use record::RoundReport;
pub use round::INTERNAL_ERROR;
pub use settings::SettingsOutcome;
pub use work::WorkError;
pub use write::NOT_PROVIDED;

/// How often an idle worker looks for due signals (retries coming due, other replicas'
/// signals); signals recorded in this process wake it at once.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// How often a replica checks (or tries to take) the worker lock.
const LEADER_CHECK: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Worker {
    ctx: Arc<Context>,
    /// Where the deleted-records poll resumes (epoch ms), kept in memory: after a restart the
    /// poll looks back one interval and reconciliation covers anything older.
    deleted_since: Arc<tokio::sync::Mutex<Option<i64>>>,
}

impl Worker {
    pub fn new(store: Store, config: Arc<Config>, mappings: Mappings) -> Self {
        let salesforce = SalesforceClient::new(&config.salesforce);
        let marketo = MarketoClient::new(&config.marketo);
        Worker {
            ctx: Arc::new(Context {
                store,
                owner: format!("worker-{}", uuid::Uuid::new_v4().simple()),
                config,
                salesforce,
                marketo,
                mappings,
            }),
            deleted_since: Arc::default(),
        }
    }

    pub fn salesforce(&self) -> &SalesforceClient {
        &self.ctx.salesforce
    }

    pub fn marketo(&self) -> &MarketoClient {
        &self.ctx.marketo
    }

    pub fn mappings(&self) -> &Mappings {
        &self.ctx.mappings
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
        round::run(&self.ctx).await
    }

    /// Runs until `shutdown`: processes signals as they come due (after a short linger that
    /// lets a burst fill the batch) and polls Salesforce's deleted records on schedule.
    pub async fn run(self, shutdown: CancellationToken) {
        let linger = Duration::from_millis(self.ctx.config.worker.batch_linger_ms);
        let poll_every = Duration::from_secs(self.ctx.config.schedules.deleted_poll_secs.max(1));
        let settings_every =
            Duration::from_secs(self.ctx.config.schedules.program_settings_secs.max(1));
        let reconcile_every = Duration::from_secs(self.ctx.config.schedules.reconcile_secs.max(1));
        let start = tokio::time::Instant::now();
        let (mut next_poll, mut next_settings, mut next_reconcile) =
            (start, start, start + reconcile_every);
        tracing::info!(owner = %self.ctx.owner, "worker started");
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
                    match self.ctx.store.try_lead().await {
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
            match self.ctx.store.claim_count_due(now_millis()).await {
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
                () = self.ctx.store.signals_recorded() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
        }
        tracing::info!("worker stopped");
    }

    /// Lists both sides of every enabled mapping and queues a signal per difference; the
    /// signals are then processed like any other (`run_pending` or the loop).
    pub async fn reconcile(&self) -> Vec<Result<ReconcileReport, (String, WorkError)>> {
        reconcile::reconcile_all(&self.ctx).await
    }

    /// Checks status compatibility of every mapping, holding those that cannot translate.
    pub async fn check_statuses(&self) {
        compat::check_all(&self.ctx).await;
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
        settings::sync_all(&self.ctx).await
    }

    /// Deletes processed signals older than `worker.retain_done_days`.
    pub async fn purge(&self) {
        let days = self.ctx.config.worker.retain_done_days;
        if days == 0 {
            return;
        }
        let before = now_millis() - i64::try_from(days * 86_400_000).unwrap_or(i64::MAX / 2);
        match self.ctx.store.purge_done(before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "old processed signals deleted"),
            Err(error) => tracing::warn!(%error, "could not purge processed signals"),
        }
    }

    /// Looks for CampaignMembers deleted in Salesforce and records a signal for each.
    pub async fn poll_deleted(&self) -> Result<usize, WorkError> {
        self.poll_deleted_at(now_millis()).await
    }

    /// The same poll as of `now` (epoch ms): tests whose Salesforce clock runs ahead use it.
    pub async fn poll_deleted_at(&self, now: i64) -> Result<usize, WorkError> {
        let mut since = self.deleted_since.lock().await;
        deleted_poll::poll(&self.ctx, &mut since, now).await
    }
}
