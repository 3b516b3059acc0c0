//! The `reconcile` command (with `--dry-run` and `--json`), used to take over from Marketo's
//! native campaign sync: per mapping, link people, list the changes, repair them and verify.

use serde::Serialize;

use crate::config::Config;
use crate::store::Store;
use crate::worker::{Change, Divergence, Mappings, ReconcileReport, SettingChange, Worker};

/// What to do besides reading.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReconcileOptions {
    /// Only read both sides and list the changes; change nothing in either system or the
    /// sync's state.
    pub dry_run: bool,
    /// One JSON object per mapping per line instead of text.
    pub json: bool,
}

/// One mapping's result, as printed with `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct MappingResult {
    pub name: String,
    pub dry_run: bool,
    pub linked: usize,
    pub differences: usize,
    /// People in sync on both sides whose stored state was out of date (brought up to date;
    /// nothing written to either API).
    pub refreshed: usize,
    pub repaired: usize,
    pub failed: usize,
    pub changes: Vec<Change>,
    /// Changes still to make after the repairs ran (failed or left to retry).
    pub unrepaired: Vec<Change>,
    pub warnings: Vec<String>,
    /// People held as synced whose sides still disagree (a move back Marketo refused): no write
    /// is planned for them.
    pub diverged: Vec<Divergence>,
    /// The campaign settings (Type, ActualCost) that differ: what Salesforce holds and what the
    /// settings pass of `serve` would write at its next pass (at its start on a cut-over). This
    /// command never writes them. `None`: the campaign could not be read (a warning says why).
    pub settings: Option<Vec<SettingChange>>,
    /// API calls per side this mapping cost (reads, repairs and the check after them).
    pub calls: Calls,
    /// When the last read of both sides began (epoch ms): the check after the repairs, else
    /// the reconciliation itself.
    #[serde(skip)]
    pub read_at: i64,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Calls {
    pub salesforce: u64,
    pub marketo: u64,
}

pub async fn reconcile(config: Config, options: ReconcileOptions) -> anyhow::Result<()> {
    if !config.sync_enabled && !options.dry_run {
        anyhow::bail!(
            "campaign sync is off in the configuration (sync_enabled = false): nothing would be repaired; use --dry-run to list the differences"
        );
    }
    // On SQLite a running `serve` holds the file: its worker would race this one.
    let _instance_lock =
        crate::instance_lock::acquire(config.database_url.expose()).map_err(|error| {
            anyhow::anyhow!(
                "{error}; to reconcile while `serve` runs on it, ask the service: POST /admin/reconcile (?dryRun=true to preview)"
            )
        })?;
    let store = Store::connect(config.database_url.expose()).await?;
    // The repairs go through the worker path; only one worker may run against a store.
    let Some(_lock) = store.try_lead("reconcile command").await? else {
        anyhow::bail!(
            "another replica is running the worker; ask it with POST /admin/reconcile instead (POST /admin/reconcile?dryRun=true to preview)"
        );
    };
    let mappings = Mappings::configured(&config.mappings, config.sync_enabled);
    // The switches every replica shares: what the admin API or the console turned off stays off.
    mappings.refresh(&store).await?;
    if let Some(why) = mappings.switched_off().filter(|_| !options.dry_run) {
        store.close().await;
        anyhow::bail!("nothing would be repaired: {why}; use --dry-run to list the differences");
    }
    let worker = Worker::new(
        store.clone(),
        std::sync::Arc::new(config),
        mappings.clone(),
        crate::liveness::Liveness::default(),
    )?;
    // Its calls count against the day's shared budget like a replica's, and a pause in force
    // holds for it too.
    share_calls(&worker, &store).await;
    // Statuses changed since the service last checked them: a mapping fixed since it was held
    // repairs now, and one that no longer matches is held (and told, the dry run too) before
    // its repairs are met by a refusal.
    if options.dry_run {
        worker.check_statuses_here().await;
    } else {
        worker.check_statuses().await;
        earlier_work(&worker).await;
    }
    let mut problems = Vec::new();
    // Repairs left for the service (failed or to retry) beside mappings that could not even be
    // listed, which the service only reconciles again on its next pass.
    let (mut left, mut unlisted, mut unchecked) = (0, 0, 0);
    let mut held = 0;
    let mut first_read: Option<i64> = None;
    for mapping in mappings.all().iter().filter(|m| m.is_enabled()) {
        match one(&worker, mapping, options).await {
            Ok(result) => {
                print(&result, options.json)?;
                first_read = Some(first_read.map_or(result.read_at, |t| t.min(result.read_at)));
                left += result.unrepaired.len();
                if mapping.is_held() {
                    held += result.unrepaired.len();
                }
                problems.extend(
                    result.unrepaired.iter().map(|c| {
                        format!("mapping {:?}: not repaired: {}", result.name, describe(c))
                    }),
                );
            }
            Err(error) if error.is::<AfterQueued>() => {
                unchecked += 1;
                let problem = format!("{error:#}");
                print_failed(mapping.name(), &problem, options.json)?;
                problems.push(format!("mapping {:?}: {problem}", mapping.name()));
            }
            Err(error) => {
                unlisted += 1;
                let problem = format!("could not be reconciled: {error:#}");
                print_failed(mapping.name(), &problem, options.json)?;
                problems.push(format!("mapping {:?}: {problem}", mapping.name()));
            }
        }
    }
    if let Some(at) = first_read.filter(|_| !options.dry_run) {
        start_feeds(&worker, at).await;
    }
    share_calls(&worker, &store).await;
    store.close().await;
    if problems.is_empty() {
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    anyhow::bail!("{}", ending(left, held, unchecked, unlisted))
}

/// Processes the changes earlier runs (or the service) left due before any mapping is read, so
/// each mapping's report, repairs and calls are its own run's.
async fn earlier_work(worker: &Worker) {
    let before = calls(worker);
    match worker.run_pending().await {
        Ok(done) if done.claimed > 0 => {
            let now = calls(worker);
            eprintln!(
                "processed {} change(s) left waiting before this run (calls: Salesforce {}, \
                 Marketo {})",
                done.claimed,
                now.salesforce - before.salesforce,
                now.marketo - before.marketo
            );
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "could not process the changes left waiting"),
    }
}

/// On a database no service has run on yet (a cut-over), the change feeds start where this
/// run last read the sides, so the first `serve` reads what changed since, however long
/// pointing the webhooks and outbound messages at it takes.
/// A failure is told, not fatal: the repairs stand.
async fn start_feeds(worker: &Worker, at: i64) {
    match worker.start_feeds_at(at).await {
        Ok(started) if !started.is_empty() => tracing::info!(
            feeds = ?started,
            since = %crate::sync::time::format_millis(at),
            "the change feeds start where this reconciliation read the sides"
        ),
        Ok(_) => {}
        Err(error) => eprintln!(
            "warning: the change feeds could not be started where this reconciliation read the \
             sides ({error}); changes made before the service first runs wait for its daily \
             reconciliation, or run this command again just before starting it"
        ),
    }
}

/// The command's last line when something was left: what the service will do about it.
/// `held`: of the `left`, those of mappings held for their statuses. `unchecked`: mappings
/// whose repairs were queued but not all seen through.
fn ending(left: usize, held: usize, unchecked: usize, unlisted: usize) -> String {
    let mut parts = Vec::new();
    if left > held {
        parts.push(format!(
            "{} repair(s) not made; the service retries those left to retry, and the dead \
             ones wait for a replay (GET /admin/dead-letters)",
            left - held
        ));
    }
    if held > 0 {
        parts.push(format!(
            "{held} repair(s) of held mappings wait until their statuses are fixed (see each \
             mapping's warning; `check-config --online` names them)"
        ));
    }
    if unchecked > 0 {
        parts.push(format!(
            "{unchecked} mapping(s) had repairs queued that were not seen through; the service \
             processes what is left"
        ));
    }
    if unlisted > 0 {
        parts.push(format!(
            "{unlisted} mapping(s) could not be reconciled (nothing of theirs was listed or \
             queued); once the cause named above is fixed, run it again, or the service's next \
             reconciliation takes them"
        ));
    }
    parts.join("; ")
}

/// Adds the calls made so far to the shared daily count and takes on what it says.
async fn share_calls(worker: &Worker, store: &Store) {
    if let Err(error) = worker
        .quota()
        .share(store, crate::store::now_millis())
        .await
    {
        tracing::warn!(%error, "could not share the daily call counts");
    }
}

/// A mapping whose repairs were queued (so its listing went through) and then failed.
#[derive(Debug, thiserror::Error)]
#[error("repairs were queued; {0}")]
struct AfterQueued(String);

async fn one(
    worker: &Worker,
    mapping: &crate::mappings::Mapping,
    options: ReconcileOptions,
) -> anyhow::Result<MappingResult> {
    let before = calls(worker);
    let mut read_at = crate::store::now_millis();
    let mut report = worker.reconcile_mapping(mapping, options.dry_run).await?;
    let mut unrepaired = Vec::new();
    let mut repaired = 0;
    let mut diverged = report.diverged;
    // A change whose repair an earlier run queued (still waiting: a held mapping, a retry not
    // yet due) is queued no second time, but is no less left to make: it is checked too.
    if !options.dry_run && !report.changes.is_empty() {
        let progress = crate::terminal::progress::RepairWatch::start(worker.store().clone()).await;
        let done = worker.run_pending().await;
        progress.finish().await;
        let done = done.map_err(|e| AfterQueued(format!("processing them failed: {e}")))?;
        tracing::info!(
            mapping = mapping.name(),
            claimed = done.claimed,
            retried = done.retried,
            dead = done.dead,
            "repairs processed"
        );
        // What is still different after the repairs is what failed or waits for a retry.
        read_at = crate::store::now_millis();
        let after: ReconcileReport = worker
            .reconcile_mapping(mapping, true)
            .await
            .map_err(|e| AfterQueued(format!("the check after them failed: {e}")))?;
        // Only what this run planned: a difference the check finds that the run did not list
        // (a change made meanwhile) is the service's to sync, not a repair that failed.
        let planned = |c: &Change| {
            report
                .changes
                .iter()
                .any(|p| p.person == c.person && p.side == c.side)
        };
        unrepaired = after.changes.into_iter().filter(planned).collect();
        diverged = after.diverged;
        // A change Marketo refused (a move back) is not repaired: it is listed as diverged.
        let still = |c: &Change| {
            unrepaired
                .iter()
                .any(|u| u.person == c.person && u.side == c.side)
                || diverged.iter().any(|d| d.person == c.person)
        };
        repaired = report.changes.iter().filter(|c| !still(c)).count();
        // A repair that created a record (a Marketo lead for a Salesforce-only member) names it.
        for change in report.changes.iter_mut().filter(|c| !still(c)) {
            if let Err(error) = change.name_created(worker.store()).await {
                tracing::warn!(%error, person = change.person, "could not read what a repair created");
            }
        }
    }
    let now = calls(worker);
    Ok(MappingResult {
        name: report.mapping,
        dry_run: options.dry_run,
        linked: report.linked,
        differences: report.differences,
        refreshed: report.refreshed,
        repaired,
        failed: unrepaired.len(),
        changes: report.changes,
        unrepaired,
        warnings: report.warnings,
        diverged,
        settings: report.settings,
        calls: Calls {
            salesforce: now.salesforce - before.salesforce,
            marketo: now.marketo - before.marketo,
        },
        read_at,
    })
}

fn calls(worker: &Worker) -> Calls {
    Calls {
        salesforce: worker.salesforce().calls_made(),
        marketo: worker.marketo().calls_made(),
    }
}

#[path = "cutover_text.rs"]
mod text;
#[cfg(test)]
use text::summary;
pub use text::{describe, describe_divergence, describe_setting};
use text::{print, print_failed};

#[cfg(test)]
#[path = "cutover_tests.rs"]
mod tests;
