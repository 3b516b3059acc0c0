//! One round: sort claimed signals by mapping, build each touched person's work, plan, write,
//! record, and settle every signal (done, retry later, or dead).

use std::collections::BTreeMap;
use std::sync::Arc;

use tracing::Instrument;

use crate::connectors::CallError;
use crate::signal::Signal;
use crate::store::{Claimed, IdentityRow, Journal, MirrorRow, StoreError};
use crate::sync::{Decision, Observed, decide};

use super::mappings::Mapping;
use super::{RoundReport, Worker, flow, observe, record, write_marketo, write_salesforce};

/// How a planned write ended, short of a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Applied,
    Skipped(String),
    Diverged(String),
}

/// One person's work within one mapping this round.
pub struct PersonWork {
    pub identity: IdentityRow,
    /// The signals (id, attempts so far) this person's outcome settles.
    pub signals: Vec<(i64, i64)>,
    pub sf: Option<Observed>,
    pub sf_member_id: Option<String>,
    pub mk: Option<Observed>,
    pub mirror: Option<MirrorRow>,
    pub decision: Decision,
    /// Which side's change drove the decision (the trigger event's actor).
    pub actor: &'static str,
    pub outcome: Option<Result<Done, CallError>>,
    /// Salesforce status to write after Marketo refused to move back (reset policy).
    pub reset_to: Option<String>,
    /// Whether that reset was written.
    pub reset_applied: bool,
}

impl PersonWork {
    pub fn person_key(&self) -> String {
        self.identity.id.to_string()
    }

    pub fn fail(&mut self, error: &CallError) {
        self.outcome = Some(Err(error.clone()));
    }

    pub fn is_open(&self) -> bool {
        self.outcome.is_none()
    }
}

pub async fn process(worker: &Worker, claimed: Vec<Claimed>) -> Result<RoundReport, StoreError> {
    let mut journal = Journal::default();
    let mut report = RoundReport {
        claimed: claimed.len(),
        ..RoundReport::default()
    };
    let mut by_mapping: BTreeMap<String, (Arc<Mapping>, Vec<Claimed>)> = BTreeMap::new();
    let mut flows = Vec::new();
    let mut settled = Vec::new();
    for item in claimed {
        match mapping_of(worker, &item).await? {
            Route::Mapping(mapping) => {
                by_mapping
                    .entry(mapping.name().to_string())
                    .or_insert_with(|| (mapping.clone(), Vec::new()))
                    .1
                    .push(item);
            }
            Route::Flow => flows.push(item),
            Route::Unmapped(reason) => {
                record::unmapped(&mut journal, &item, &reason);
                settled.push((item.id, item.attempts, Ok(())));
            }
        }
    }
    for (_, (mapping, items)) in by_mapping {
        if !worker.mappings().writes(&mapping) {
            for item in &items {
                record::postpone(&mut journal, item);
            }
            continue;
        }
        let span = tracing::info_span!("sync", mapping = mapping.name(), signals = items.len());
        let works = sync_mapping(worker, &mapping, &items, &mut journal)
            .instrument(span)
            .await?;
        settled.extend(works.skipped);
        settled.extend(record::signal_results(&works.people));
    }
    settled.extend(flow::apply(worker, flows, &mut journal).await?);
    record::settle(
        &mut journal,
        &worker.inner.config.worker,
        settled,
        &mut report,
    );
    record::commit(worker, &journal).await?;
    Ok(report)
}

enum Route {
    Mapping(Arc<Mapping>),
    Flow,
    Unmapped(String),
}

async fn mapping_of(worker: &Worker, item: &Claimed) -> Result<Route, StoreError> {
    let mappings = worker.mappings();
    Ok(match &item.signal {
        Signal::SalesforceMember(m) => match m
            .campaign_id
            .as_deref()
            .and_then(|c| mappings.by_campaign(c))
        {
            Some(mapping) => Route::Mapping(mapping.clone()),
            None => Route::Unmapped(format!(
                "campaign {} is not mapped to a program",
                m.campaign_id.as_deref().unwrap_or("(absent)")
            )),
        },
        Signal::MarketoMember(m) => match mappings.by_program(m.program_id) {
            Some(mapping) => Route::Mapping(mapping.clone()),
            None => Route::Unmapped(format!(
                "program {} is not mapped to a campaign",
                m.program_id
            )),
        },
        Signal::SalesforceMemberDeleted(d) => {
            let rows = worker.inner.store.mirror_by_member(&d.member_id).await?;
            match rows.first().and_then(|r| mappings.by_name(&r.mapping)) {
                Some(mapping) => Route::Mapping(mapping.clone()),
                None => Route::Unmapped(format!("deleted member {} was never synced", d.member_id)),
            }
        }
        Signal::MarketoFlowAction(_) => Route::Flow,
    })
}

/// Everything one mapping's signals need: observe, plan, write, record.
async fn sync_mapping(
    worker: &Worker,
    mapping: &Mapping,
    items: &[Claimed],
    journal: &mut Journal,
) -> Result<observe::Touched, StoreError> {
    let observe::Touched {
        people: mut works,
        skipped,
    } = observe::collect(worker, mapping, items).await?;
    let people: Vec<String> = works.iter().map(PersonWork::person_key).collect();
    let mut mirrors = worker.inner.store.mirrors(mapping.name(), &people).await?;
    for work in &mut works {
        if work.outcome.is_some() {
            continue;
        }
        work.mirror = mirrors.remove(&work.person_key());
        work.decision = decide(
            work.mirror.as_ref(),
            work.sf.as_ref(),
            work.mk.as_ref(),
            mapping.config.conflict_policy,
            &mapping.statuses,
        );
        work.actor = match work.decision {
            Decision::SetMarketo(_) | Decision::RemoveFromMarketo => "salesforce",
            Decision::SetSalesforce(_) | Decision::RemoveFromSalesforce => "marketo",
            Decision::Skip(reason) => {
                work.outcome = Some(Ok(Done::Skipped(reason.to_string())));
                if work.sf.is_some() {
                    "salesforce"
                } else {
                    "marketo"
                }
            }
        };
    }
    write_marketo::apply(worker, mapping, &mut works).await;
    write_salesforce::apply(worker, mapping, &mut works).await;
    for work in &works {
        record::person(journal, mapping, work);
    }
    Ok(observe::Touched {
        people: works,
        skipped,
    })
}
