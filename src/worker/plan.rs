//! Step 4, plan: the decision for each person (from `sync::decide`, against the mirror) and the
//! order the writes run in. Marketo is written first because a Marketo refusal to move back
//! (1037) may plan a Salesforce reset, which runs last.
//!
//! A Salesforce change headed for Marketo may first be checked against Marketo: a Marketo change
//! whose webhook has not arrived yet is still a conflict, and the mapping's policy should decide
//! it rather than the order the signals happen to arrive in. See [`reads_marketo_first`].

use tracing::Instrument;

use crate::config::ConflictPolicy;
use crate::store::{MirrorRow, StoreError, now_millis};
use crate::sync::{self, Decision, Done};

use super::context::{Context, api_span};
use super::work::{Person, Phase, Work, WorkError, observed_member};
use crate::mappings::Mapping;

/// Every person's planned work, and the order the writes run in.
pub struct Plan {
    pub work: Vec<Work>,
}

impl Plan {
    /// Resets follow the Marketo results they depend on; the rest is independent.
    pub const PHASES: [Phase; 3] = [Phase::Marketo, Phase::Salesforce, Phase::Resets];
}

pub async fn plan(
    ctx: &Context,
    mapping: &Mapping,
    people: Vec<Person>,
) -> Result<Plan, StoreError> {
    let keys: Vec<String> = people.iter().map(Person::key).collect();
    let mut mirrors = ctx.store.mirrors(mapping.name(), &keys).await?;
    let mut work: Vec<Work> = people
        .into_iter()
        .map(|person| {
            let mirror = mirrors.remove(&person.key());
            decide(mapping, person, mirror)
        })
        .collect();
    recheck_marketo(ctx, mapping, &mut work).await;
    Ok(Plan { work })
}

/// The pure part: the decision, its actor and, for a skip or an earlier failure, the outcome.
pub fn decide(mapping: &Mapping, person: Person, mirror: Option<MirrorRow>) -> Work {
    let decision = sync::decide(
        mirror.as_ref(),
        person.sf.as_ref(),
        person.mk.as_ref(),
        mapping.config.conflict_policy,
        &mapping.statuses,
    );
    let actor = sync::actor(&decision, person.sf.is_some());
    let outcome = match (&person.failed, &decision) {
        (Some(error), _) => Some(Err(error.clone())),
        (None, sync::Decision::Skip(reason)) => Some(Ok(Done::Skipped(reason.to_string()))),
        (None, _) => None,
    };
    Work {
        person,
        mirror,
        decision,
        actor,
        outcome,
        reset: None,
        sf_written_at: None,
    }
}

/// How old a Salesforce change may be and still be written to Marketo unread under
/// last-writer-wins: a Marketo change that beats it must fall after it, and within this window
/// its webhook is usually still on its way (or arrives in the same round).
const FRESH_CHANGE_MS: i64 = 60_000;

/// Whether a Salesforce change headed for Marketo reads Marketo first. Under `marketo_wins`
/// always: any Marketo change since the last sync must win. Under last-writer-wins only when
/// the change is not fresh (a retried signal, or a notification stamped over a minute ago):
/// only a Marketo change made after it could win, and a fresh one leaves seconds for that, so
/// bulk changes keep costing one Marketo call per 300. Never under `salesforce_wins`.
fn reads_marketo_first(policy: ConflictPolicy, person: &Person, now_ms: i64) -> bool {
    match policy {
        ConflictPolicy::SalesforceWins => false,
        ConflictPolicy::MarketoWins => true,
        ConflictPolicy::LastWriterWins => {
            person.signals.iter().any(|s| s.attempts > 1)
                || person
                    .sf
                    .as_ref()
                    .and_then(|o| o.at)
                    .is_some_and(|at| at < now_ms - FRESH_CHANGE_MS)
        }
    }
}

/// The leads whose planned Marketo write rests on the mirror's memory of Marketo rather than
/// on a reading of it, where [`reads_marketo_first`] says to read.
fn unread_marketo(policy: ConflictPolicy, work: &[Work], now_ms: i64) -> Vec<i64> {
    let mut leads: Vec<i64> = work
        .iter()
        .filter(|w| w.is_open() && w.person.mk.is_none())
        .filter(|w| {
            matches!(
                w.decision,
                Decision::SetMarketo(_) | Decision::RemoveFromMarketo
            )
        })
        .filter(|w| reads_marketo_first(policy, &w.person, now_ms))
        .filter_map(|w| w.identity().mkto_lead_id)
        .collect();
    leads.sort_unstable();
    leads.dedup();
    leads
}

/// Reads Marketo for the writes [`unread_marketo`] finds and decides them again with what it
/// shows. A failed read fails those people's work, to be retried like the write it guards.
async fn recheck_marketo(ctx: &Context, mapping: &Mapping, work: &mut [Work]) {
    let leads = unread_marketo(mapping.config.conflict_policy, work, now_millis());
    if leads.is_empty() {
        return;
    }
    let read = ctx
        .marketo
        .members(mapping.config.program_id, &leads)
        .instrument(api_span("marketo", "members", leads.len()))
        .await;
    for slot in work.iter_mut() {
        let Some(lead) = slot.identity().mkto_lead_id.filter(|l| leads.contains(l)) else {
            continue;
        };
        match &read {
            // A lead the read does not return may be out of the program or merged into
            // another (whose id the write finds again): not knowing which, the first decision
            // stands rather than reading it as a removal.
            Ok(members) => {
                if let Some(member) = members.iter().find(|m| m.lead_id == lead) {
                    let mut person = slot.person.clone();
                    person.mk = Some(observed_member(Some(member)));
                    *slot = decide(mapping, person, slot.mirror.take());
                }
            }
            Err(error) => slot.fail(WorkError::Call(error.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::IdentityRow;
    use crate::sync::Observed;
    use crate::worker::work::SignalRef;

    const NOW: i64 = 1_800_000_000_000;

    fn person(attempts: i64, changed_at: i64) -> Person {
        Person {
            identity: IdentityRow {
                id: 7,
                mkto_lead_id: Some(42),
                ..IdentityRow::default()
            },
            signals: vec![SignalRef { id: 1, attempts }],
            sf: Some(Observed {
                status: Some("Attended".into()),
                at: Some(changed_at),
            }),
            sf_member_id: None,
            mk: None,
            failed: None,
        }
    }

    #[test]
    fn marketo_is_read_first_unless_salesforce_wins_or_the_change_is_fresh() {
        use ConflictPolicy::*;
        let fresh = person(1, NOW - 5_000);
        let retried = person(2, NOW - 5_000);
        let old = person(1, NOW - FRESH_CHANGE_MS - 1);
        let cases = [
            (SalesforceWins, &fresh, false),
            (SalesforceWins, &retried, false),
            (SalesforceWins, &old, false),
            (MarketoWins, &fresh, true),
            (LastWriterWins, &fresh, false),
            (LastWriterWins, &retried, true),
            (LastWriterWins, &old, true),
        ];
        for (policy, person, reads) in cases {
            assert_eq!(
                reads_marketo_first(policy, person, NOW),
                reads,
                "{policy:?} {person:?}"
            );
        }
    }
}
