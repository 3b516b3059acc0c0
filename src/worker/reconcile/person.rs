//! One reconciliation pass over one mapping, person by person: what differs from the mirror is
//! queued as signals and listed as changes; a pair new to the mirror is linked, and recorded in
//! sync without a write when both sides agree. Only differences are kept, never the sides.

use crate::connectors::salesforce::CampaignMember;
use crate::kinds::{Action, Connector, OutcomeResult, Target};
use crate::mappings::Mapping;
use crate::signal::NewSignal;
use crate::store::{MirrorRow, now_millis};
use crate::sync::{self, Decision, Observed, time::parse_millis};

use super::super::context::Context;
use super::super::record;
use super::super::work::WorkError;
use super::ReconcileReport;
use super::signals::{self, Change, Divergence};

/// A Marketo member as one person's look needs it.
#[derive(Debug, Clone, Copy)]
pub struct MkMember<'a> {
    pub lead_id: i64,
    pub status: Option<&'a str>,
    pub updated_at: Option<i64>,
}

/// One person as this pass sees them: the mirror row and each side's membership.
pub struct Unit<'a> {
    pub mirror: Option<&'a MirrorRow>,
    pub sf: Option<&'a CampaignMember>,
    pub mk: Option<MkMember<'a>>,
    pub email: Option<String>,
}

impl Unit<'_> {
    fn observed(&self) -> (Observed, Observed) {
        let sf = Observed {
            status: self.sf.and_then(|m| m.status.clone()),
            at: self
                .sf
                .and_then(|m| m.system_modstamp.as_deref())
                .and_then(parse_millis),
        };
        let mk = Observed {
            status: self.mk.and_then(|m| m.status.map(str::to_string)),
            at: self.mk.and_then(|m| m.updated_at),
        };
        (sf, mk)
    }
}

pub struct Pass<'a> {
    ctx: &'a Context,
    mapping: &'a Mapping,
    dry_run: bool,
    run: i64,
    pub report: ReconcileReport,
    queued: Vec<NewSignal>,
    /// Each change with its place in the listing: mirror people first, in mirror order.
    changes: Vec<(u64, Change)>,
    /// Each divergence with its place, likewise.
    diverged: Vec<(u64, Divergence)>,
    /// The step of each of the program channel's statuses: a write to an earlier step than the
    /// member's is refused by Marketo (1037), so it is listed as it will end.
    steps: std::collections::HashMap<String, i64>,
}

impl<'a> Pass<'a> {
    pub fn new(
        ctx: &'a Context,
        mapping: &'a Mapping,
        dry_run: bool,
        steps: std::collections::HashMap<String, i64>,
    ) -> Self {
        let run = now_millis();
        Pass {
            steps,
            ctx,
            mapping,
            dry_run,
            run,
            report: ReconcileReport {
                mapping: mapping.name().to_string(),
                run,
                ..ReconcileReport::default()
            },
            queued: Vec::new(),
            changes: Vec::new(),
            diverged: Vec::new(),
        }
    }

    /// A person the mirror knows: queues and lists what differs (no store work); one whose
    /// sides disagree though the mirror holds them as synced is listed as diverged.
    pub fn known(&mut self, unit: &Unit<'_>, place: u64) {
        if self.differs(unit, place) {
            return;
        }
        let (sf, mk) = unit.observed();
        if let Some(divergence) = signals::divergence(unit, &self.mapping.statuses, &sf, &mk) {
            self.diverged.push((place, divergence));
        }
    }

    /// A person new to the mirror: a pair that agrees is linked and recorded in sync, one that
    /// differs is linked before its signals are processed; one side alone is queued.
    pub async fn new_person(&mut self, unit: &Unit<'_>, place: u64) -> Result<(), WorkError> {
        let (sf, mk) = (unit.sf, unit.mk);
        let pair = sf.zip(mk);
        if pair.is_some() {
            self.report.linked += 1;
        }
        let (sf_seen, mk_seen) = unit.observed();
        let agree = mk_seen
            .status
            .as_deref()
            .and_then(|s| self.mapping.statuses.to_salesforce(s))
            == sf_seen.status;
        if let Some((sf, mk)) = pair
            && agree
        {
            if !self.dry_run {
                self.adopt_in_sync(unit, sf, mk).await?;
            }
            return Ok(());
        }
        let before = self.queued.len();
        let differs = self.differs(unit, place);
        if differs
            && !self.dry_run
            && self.queued.len() == before
            && let Some((sf, mk)) = pair
        {
            // Diverged, with nothing to write: linked and recorded with the sides as they are,
            // so a later change of either side is told from this disagreement.
            self.adopt_in_sync(unit, sf, mk).await?;
            return Ok(());
        }
        if differs
            && !self.dry_run
            && let Some((sf, mk)) = pair
        {
            // Both signals must find one person: link before the worker resolves them.
            let email = unit.email.as_deref();
            let (lead, person) = (Some(mk.lead_id), sf.person_id());
            self.ctx
                .store
                .link_identity(lead, person, email, self.run)
                .await?;
        }
        Ok(())
    }

    /// The org's time at this pass, as its answers showed it (else this machine's).
    fn org_now(&self) -> i64 {
        self.ctx
            .salesforce
            .server_time_at(self.run)
            .unwrap_or(self.run)
    }

    /// Queues the person's signals and lists their change; false when nothing differs.
    fn differs(&mut self, unit: &Unit<'_>, place: u64) -> bool {
        let before = self.queued.len();
        let counted = SideCounts::of(&self.report);
        let program_id = self.mapping.config.program_id;
        signals::queue(
            self.run,
            program_id,
            unit,
            &mut self.report,
            &mut self.queued,
        );
        if self.queued.len() == before {
            return false;
        }
        let (mut sf, mk) = unit.observed();
        let agree = mk
            .status
            .as_deref()
            .and_then(|s| self.mapping.statuses.to_salesforce(s))
            == sf.status;
        // As the worker will see it: a stamp from the future is taken as now.
        let org_now = self.org_now();
        sf.at = sync::time::believable(sf.at, org_now);
        let mirror = unit
            .mirror
            .map(|row| sync::time::believable_row(row.clone(), org_now));
        let decision = sync::decide(
            mirror.as_ref(),
            Some(&sf),
            Some(&mk),
            self.mapping.config.conflict_policy,
            &self.mapping.statuses,
        );
        match self.refused_move_back(&decision, &mk) {
            // Marketo keeps the later status: by default nothing else is written (a
            // divergence); with `reset_salesforce`, Salesforce is set back to Marketo's. So it
            // is when both changed in one second: which came last cannot be told, and
            // Marketo's status is the one both sides can hold.
            Some(kept) => {
                let config = &self.mapping.config;
                let reset = config.backward_policy
                    == crate::config::BackwardPolicy::ResetSalesforce
                    || sync::same_second(&sf, &mk, config.conflict_policy);
                if reset {
                    let back = Decision::SetSalesforce(kept);
                    if let Some(change) = signals::change(unit, &back, &sf, &mk) {
                        self.changes.push((place, change));
                    }
                } else if let Some(divergence) =
                    signals::divergence(unit, &self.mapping.statuses, &sf, &mk)
                {
                    // Listed as diverged, not as a difference to repair: nothing is written.
                    // Met at the first pairing, nothing is queued either (Marketo would refuse
                    // the move back, a call spent): the person is linked as they are. A known
                    // person's missed Salesforce change is still processed, so its outcome,
                    // trigger event and state are recorded as a live one's would be.
                    if unit.mirror.is_none() {
                        self.queued.truncate(before);
                        counted.restore(&mut self.report);
                    }
                    self.diverged.push((place, divergence));
                    return true;
                }
            }
            None => match signals::change(unit, &decision, &sf, &mk) {
                Some(change) => self.changes.push((place, change)),
                // No write, though the sides disagree: the record reads as older than what was
                // synced (a stamp from ahead of it). Named as diverged, with nothing queued,
                // rather than counted as a difference no line names and no repair mends.
                None if !agree => {
                    if let Some(divergence) =
                        signals::divergence(unit, &self.mapping.statuses, &sf, &mk)
                    {
                        self.queued.truncate(before);
                        counted.restore(&mut self.report);
                        self.diverged.push((place, divergence));
                        return true;
                    }
                }
                None => {}
            },
        }
        if agree {
            // Both sides already hold the same: only the stored state is behind.
            self.report.refreshed += 1;
        } else {
            self.report.differences += 1;
        }
        true
    }

    /// The Salesforce label of Marketo's status, when `decision` would move the member back to
    /// an earlier step, which Marketo refuses (1037).
    fn refused_move_back(&self, decision: &Decision, mk: &Observed) -> Option<String> {
        let Decision::SetMarketo(target) = decision else {
            return None;
        };
        let current = mk.status.as_deref()?;
        let step = |name: &str| self.steps.get(name).copied();
        if step(target)? >= step(current)? {
            return None;
        }
        self.mapping.statuses.to_salesforce(current)
    }

    /// Links the person and records both sides as they are (in sync, or diverged with nothing
    /// to write): no signal, no write to either API.
    async fn adopt_in_sync(
        &self,
        unit: &Unit<'_>,
        sf: &CampaignMember,
        mk: MkMember<'_>,
    ) -> Result<(), WorkError> {
        let store = &self.ctx.store;
        let email = unit.email.as_deref();
        let identity = store
            .link_identity(Some(mk.lead_id), sf.person_id(), email, self.run)
            .await?;
        let row = MirrorRow {
            mapping: self.mapping.name().to_string(),
            person: identity.id.to_string(),
            sf_member_id: Some(sf.id.clone()),
            sf_person_id: sf.person_id().map(str::to_string),
            sf_status: sf.status.clone(),
            sf_modstamp: sync::time::believable(
                sf.system_modstamp.as_deref().and_then(parse_millis),
                self.org_now(),
            ),
            mkto_lead_id: Some(mk.lead_id),
            mkto_status: mk.status.map(str::to_string),
            mkto_updated_at: mk.updated_at,
            synced_at: self.run,
        };
        store.upsert_mirror(&row).await?;
        Ok(())
    }

    /// Lists the changes in their places, queues the signals (unless a dry run) and records
    /// the warnings about duplicates.
    pub async fn finish(mut self) -> Result<ReconcileReport, WorkError> {
        self.changes.sort_by_key(|(place, _)| *place);
        self.report.changes = self.changes.into_iter().map(|(_, c)| c).collect();
        self.diverged.sort_by_key(|(place, _)| *place);
        self.report.diverged = self.diverged.into_iter().map(|(_, d)| d).collect();
        name_by_email(&self.ctx.store, &mut self.report).await?;
        // A preview queues nothing.
        if self.dry_run {
            self.report.signals_queued = 0;
            return Ok(self.report);
        }
        let (ctx, name) = (self.ctx, self.mapping.name());
        // A record an earlier run's repair still waits for (a held mapping, a paused side) is
        // left to it: each difference waits once.
        let keys: Vec<&str> = self.queued.iter().map(|s| s.dedup_key.as_str()).collect();
        let prefix = signals::REPAIR_PREFIX;
        let waiting = ctx.store.untried_repairs(prefix, &keys).await?;
        let before = self.queued.len();
        self.queued.retain(|s| {
            crate::store::repair_record(prefix, &s.dedup_key).is_none_or(|r| !waiting.contains(&r))
        });
        self.report.repairs_already_waiting = before - self.queued.len();
        self.report.signals_queued = self.queued.len();
        ctx.store.record(self.queued, self.run).await?;
        for warning in &self.report.warnings {
            tracing::warn!(mapping = name, %warning, "reconciliation warning");
            // No "warning" result exists: a skipped reconcile outcome carries the names, once
            // (a duplicate left alone is found again on every run; counted each time, it would
            // swell the skipped count with no change behind it).
            let reason = format!("warning: {warning}");
            if ctx.store.has_reconcile_outcome(name, &reason).await? {
                continue;
            }
            let target = Target::new(Connector::None, Action::Reconcile);
            record::outcome_now(ctx, name, target, OutcomeResult::Skipped, &reason).await?;
        }
        Ok(self.report)
    }
}

/// The report's per-side counts of differences queued as signals, kept before a person's are
/// counted so that a person whose signals are withdrawn (diverged, nothing to write) is not
/// counted as queued either.
#[derive(Clone, Copy)]
struct SideCounts([usize; 4]);

impl SideCounts {
    fn of(report: &ReconcileReport) -> Self {
        SideCounts([
            report.salesforce_changed,
            report.marketo_changed,
            report.salesforce_removed,
            report.marketo_removed,
        ])
    }

    fn restore(self, report: &mut ReconcileReport) {
        let [sf_changed, mk_changed, sf_removed, mk_removed] = self.0;
        report.salesforce_changed = sf_changed;
        report.marketo_changed = mk_changed;
        report.salesforce_removed = sf_removed;
        report.marketo_removed = mk_removed;
    }
}

/// Changes and divergences whose listing had no e-mail (a member gone from Salesforce, a
/// lead only Marketo has) are named by the e-mail the service knows them by, when it does.
async fn name_by_email(
    store: &crate::store::Store,
    report: &mut ReconcileReport,
) -> Result<(), WorkError> {
    let named = report
        .changes
        .iter_mut()
        .map(|c| (&mut c.person, c.marketo_lead_id, c.salesforce_id.as_deref()))
        .chain(
            report
                .diverged
                .iter_mut()
                .map(|d| (&mut d.person, d.marketo_lead_id, d.salesforce_id.as_deref())),
        );
    for (person, lead, salesforce) in named {
        if person.contains('@') {
            continue;
        }
        if let Some(email) = store
            .find_identity(lead, salesforce, None)
            .await?
            .and_then(|identity| identity.email)
        {
            *person = email;
        }
    }
    Ok(())
}
