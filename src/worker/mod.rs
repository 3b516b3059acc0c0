//! The sync worker: claim due signals with a lease → read current state → plan → write the
//! differences in API-sized batches → record mirror, outcomes and trigger events. It never holds
//! a transaction across an HTTP call, and it never sees an HTTP request.
//!
//! A round's steps, each its own module, in the order data flows (each imports only the leaves
//! `work` and `context` and the steps after it, never one before): `claim` → `observe` →
//! `resolve` → `plan` → `write` → `record`, driven by `round` (and by `flow` for flow actions).
//! Scheduled passes: `compat`, `settings`, `deleted_poll`, `reconcile` (streaming both sides;
//! `reconcile::adopt` pairs people new to the mirror), `jobs`; `run` is the
//! supervised loop that leads, schedules them and processes signals.

mod claim;
pub mod compat;
mod context;
mod deleted_poll;
mod feeds;
mod flow;
mod jobs;
mod lease;
mod observe;
mod plan;
mod programs;
mod reconcile;
mod record;
mod resolve;
pub mod retry;
mod round;
mod run;
mod schedule;
mod settings;
mod work;
mod write;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::connectors::marketo::MarketoClient;
use crate::connectors::salesforce::SalesforceClient;
use crate::liveness::Liveness;
use crate::store::{Store, StoreError, now_millis};

use context::Context;

pub use crate::mappings::Mappings;
pub use reconcile::{Change, Divergence, REPAIR_PREFIX, ReconcileReport, SettingChange};
pub use record::RoundReport;
pub use round::INTERNAL_ERROR;
pub use settings::SettingsOutcome;
pub use work::WorkError;
pub use write::NOT_PROVIDED;

#[derive(Clone)]
pub struct Worker {
    ctx: Arc<Context>,
    liveness: Liveness,
    /// What the settings pass and the compatibility check know of Marketo between passes.
    programs: Arc<tokio::sync::Mutex<programs::ProgramCache>>,
}

impl Worker {
    /// Fails only when an API client cannot be built.
    pub fn new(
        store: Store,
        config: Arc<Config>,
        mappings: Mappings,
        liveness: Liveness,
    ) -> Result<Self, crate::connectors::ClientBuildError> {
        let quota = liveness.quota();
        quota
            .salesforce
            .set_budget(config.salesforce.daily_call_budget);
        quota.marketo.set_budget(config.marketo.daily_call_budget);
        let salesforce =
            SalesforceClient::new(&config.salesforce)?.sharing(quota.salesforce.clone());
        let marketo = MarketoClient::new(&config.marketo)?.sharing(quota.marketo.clone());
        Ok(Worker {
            ctx: Arc::new(Context {
                store,
                owner: format!("worker-{}", uuid::Uuid::new_v4().simple()),
                config,
                salesforce,
                marketo,
                mappings,
            }),
            liveness,
            programs: Arc::default(),
        })
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

    pub fn store(&self) -> &Store {
        &self.ctx.store
    }

    /// This worker's lease owner name.
    pub fn owner(&self) -> &str {
        &self.ctx.owner
    }

    /// Processes every signal due now, round after round, until none is left: the
    /// deterministic driver tests use instead of sleeping.
    pub async fn run_pending(&self) -> Result<RoundReport, StoreError> {
        self.run_pending_until(&CancellationToken::new()).await
    }

    /// As `run_pending`, but stops between rounds once `shutdown` is cancelled.
    pub async fn run_pending_until(
        &self,
        shutdown: &CancellationToken,
    ) -> Result<RoundReport, StoreError> {
        self.run_rounds_for(shutdown, Duration::MAX).await
    }

    /// Rounds until none is due, `shutdown` is cancelled, or `budget` has passed (checked
    /// between rounds), after reading the shared switches.
    pub async fn run_rounds_for(
        &self,
        shutdown: &CancellationToken,
        budget: Duration,
    ) -> Result<RoundReport, StoreError> {
        self.ctx.mappings.refresh(&self.ctx.store).await?;
        let started = std::time::Instant::now();
        let mut total = RoundReport::default();
        while !shutdown.is_cancelled() && started.elapsed() < budget {
            let report = round::run(&self.ctx).await?;
            self.liveness.round_ended(now_millis());
            if report.claimed == 0 {
                break;
            }
            total.add(report);
        }
        Ok(total)
    }

    /// Runs until `shutdown`, supervised: leads when it holds the worker lock, runs the
    /// scheduled passes and queued jobs, and processes signals as they come due.
    pub async fn run(self, shutdown: CancellationToken) {
        run::supervise(self, shutdown).await
    }

    /// Runs the jobs admins queued (reconciliations), oldest first, until none waits.
    pub async fn run_jobs(&self) -> Result<usize, StoreError> {
        jobs::run_queued(&self.ctx).await
    }

    /// Lists both sides of every enabled mapping and queues a signal per difference; the
    /// signals are then processed like any other (`run_pending` or the loop).
    pub async fn reconcile(&self) -> Vec<Result<ReconcileReport, (String, WorkError)>> {
        reconcile::reconcile_all(&self.ctx).await
    }

    /// Reconciles one mapping (the `reconcile` command); with `dry_run`, only reads both sides
    /// and reports the changes, writing nothing to either API or the sync's state (a bulk
    /// extract's job is written down while it runs, as every extract's is).
    pub async fn reconcile_mapping(
        &self,
        mapping: &crate::mappings::Mapping,
        dry_run: bool,
    ) -> Result<ReconcileReport, WorkError> {
        reconcile::reconcile_one(&self.ctx, mapping, dry_run).await
    }

    /// Checks status compatibility of every mapping, holding those that cannot translate.
    pub async fn check_statuses(&self) {
        let mut cache = self.programs.lock().await;
        compat::check_all(&self.ctx, &mut cache, compat::Record::Shared).await;
    }

    /// As [`Worker::check_statuses`], holding and releasing mappings in this process alone
    /// (the `reconcile` command's dry run, which changes no stored state).
    pub async fn check_statuses_here(&self) {
        let mut cache = self.programs.lock().await;
        compat::check_all(&self.ctx, &mut cache, compat::Record::HereOnly).await;
    }

    /// The compatibility problems of one mapping, read from the live APIs now.
    pub async fn status_problems(
        &self,
        mapping: &crate::mappings::Mapping,
    ) -> Result<Vec<String>, crate::connectors::CallError> {
        compat::problems(self.salesforce(), self.marketo(), mapping).await
    }

    /// Writes channel → Type and costs → ActualCost where they differ, for every enabled mapping.
    pub async fn sync_settings(&self) -> Result<(), StoreError> {
        let mut cache = self.programs.lock().await;
        settings::sync_all(&self.ctx, &mut cache).await
    }

    /// Deletes processed signals and ended outbox deliveries older than
    /// `worker.retain_done_days`.
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
        match self.ctx.store.purge_delivered(before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "old outbox deliveries deleted"),
            Err(error) => tracing::warn!(%error, "could not purge outbox deliveries"),
        }
    }

    /// Looks for CampaignMembers deleted in Salesforce and records a signal for each.
    pub async fn poll_deleted(&self) -> Result<usize, WorkError> {
        self.poll_deleted_at(now_millis()).await
    }

    /// Cancels the Marketo bulk extract jobs a stopped process left open (written down in the
    /// store and not waited for in five minutes); returns how many. No Marketo call when none is.
    pub async fn cancel_left_extracts(&self) -> usize {
        reconcile::cancel_left_extracts(&self.ctx).await
    }

    /// Reads Marketo's activity log since its stored cursor and records a signal per member
    /// change in a mapped program.
    pub async fn read_marketo_activities(&self) -> Result<usize, WorkError> {
        feeds::read_marketo(&self.ctx, now_millis()).await
    }

    /// Queries mapped campaigns' members changed since the stored `SystemModstamp` cursor and
    /// records a signal for each.
    pub async fn read_salesforce_changes(&self) -> Result<usize, WorkError> {
        self.read_salesforce_changes_at(now_millis()).await
    }

    /// Starts the feeds no service has read yet at `at` (epoch ms): a cut-over's last read of
    /// the sides. Returns the feeds started; those with a position keep it.
    pub async fn start_feeds_at(&self, at: i64) -> Result<Vec<&'static str>, WorkError> {
        feeds::start_at(&self.ctx, at, now_millis()).await
    }

    /// The same query as of `now` (epoch ms), for a fresh cursor: tests whose Salesforce clock
    /// runs ahead use it.
    pub async fn read_salesforce_changes_at(&self, now: i64) -> Result<usize, WorkError> {
        feeds::read_salesforce(&self.ctx, now).await
    }

    /// Tells subscribers of a side's pause no round has announced (one set by a scheduled poll
    /// or a token refresh while no change was waiting: refused credentials, the daily quota);
    /// when a side's pause has ended, makes the changes postponed meanwhile due.
    pub async fn catch_up_after_pauses(&self) {
        let quota = self.liveness.quota();
        let mut journal = crate::store::Journal::default();
        record::announce_pauses(&mut journal, [&quota.marketo, &quota.salesforce]);
        if !journal.is_empty()
            && let Err(error) = record::commit(&self.ctx, &journal).await
        {
            tracing::warn!(%error, "could not tell subscribers of a side's pause");
        }
        for side in [&quota.marketo, &quota.salesforce] {
            if side.take_ended(now_millis()) {
                match self.ctx.store.catch_up(now_millis()).await {
                    // Lifted by an admin: the lift made them due already (and said so).
                    Ok(0) => tracing::debug!(
                        system = side.system(),
                        "quota pause ended; no postponed change was left waiting"
                    ),
                    Ok(due) => {
                        tracing::info!(
                            system = side.system(),
                            due,
                            "quota pause ended; postponed changes are due"
                        )
                    }
                    Err(error) => tracing::warn!(%error, "could not make postponed changes due"),
                }
            }
        }
    }

    /// The process-wide daily-quota pauses and call counts.
    pub fn quota(&self) -> &crate::quota::Quota {
        self.liveness.quota()
    }

    /// The same poll as of `now` (epoch ms): tests whose Salesforce clock runs ahead use it.
    pub async fn poll_deleted_at(&self, now: i64) -> Result<usize, WorkError> {
        deleted_poll::poll(&self.ctx, &self.programs, now).await
    }
}
