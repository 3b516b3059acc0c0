//! Conflicts in the record: the change a round's decision overruled, recorded as skipped with
//! the winner named, and outcomes that go with a signal of their change waiting to be retried.

use crate::kinds::{OutcomeResult, Target};
use crate::mappings::Mapping;
use crate::store::Journal;
use crate::sync;

use super::super::work::Work;
use super::outcome;

/// The losing side's signals of a conflict this round settled, returned so the write's outcome
/// goes with the winner's; the first is recorded as skipped with the winner named (a second
/// signal of the same change, such as the change feed's beside the outbound message's, is not
/// counted again), or one outcome without a signal when the round read the losing change from
/// its side rather than from a signal. A conflict the applied write settled, one whose winning
/// Salesforce move back Marketo refused while Salesforce keeps it (diverged), or Salesforce's
/// change that Marketo refused for its own later one (set on Salesforce instead); another
/// write that did not apply overrules nothing.
pub(super) fn overruled(
    journal: &mut Journal,
    mapping: &Mapping,
    work: &Work,
    done: &sync::Done,
) -> Vec<i64> {
    let (side, reason) = match (done, &work.overruled) {
        // The winner's write applied, or a Salesforce move back Marketo refused while
        // Salesforce keeps it (diverged): either way the losing change is not written.
        (sync::Done::Applied | sync::Done::Diverged(_), Some(lost)) => {
            (lost.side, lost.reason.clone())
        }
        (sync::Done::Skipped(why), _) if why.starts_with(sync::outcome::MARKETO_WINS) => {
            let change = match work.person.sf.as_ref().and_then(|o| o.status.as_deref()) {
                Some(status) => format!("Salesforce change to {status:?}"),
                None => "Salesforce change".to_string(),
            };
            let reason = format!("{}: {why}; this {change} is not written", sync::OVERRULED);
            (sync::Side::Salesforce, reason)
        }
        _ => return Vec::new(),
    };
    let from_salesforce = |id: &i64| work.person.from_salesforce.contains(id);
    let ids: Vec<i64> = work
        .person
        .signals
        .iter()
        .map(|s| s.id)
        .filter(|id| from_salesforce(id) == (side == sync::Side::Salesforce))
        .collect();
    // A losing change read from its side before its own signal came is recorded all the same;
    // the signal, when it comes, finds its change already written over (stale, or an echo). A
    // signal of it that waits to be retried takes the outcome and ends with it.
    if ids.is_empty() {
        adopt(journal, mapping, work, side);
    }
    outcome(
        journal,
        ids.first().copied(),
        Some(mapping.name()),
        Some(&work.person.key()),
        Target::NONE,
        OutcomeResult::Skipped,
        Some(&reason),
    );
    ids
}

/// The outcome recorded next goes with a signal of `side`'s change for this person that waits
/// to be retried, if there is one when the journal is committed.
pub(super) fn adopt(journal: &mut Journal, mapping: &Mapping, work: &Work, side: sync::Side) {
    let sf_member_id = work.person.sf_member_id.clone();
    journal.adoptions.push(crate::store::Adoption {
        outcome: journal.outcomes.len(),
        person: crate::store::Settled {
            program_id: mapping.config.program_id,
            campaign_id: mapping.config.campaign_id.clone(),
            mkto_lead_id: work.identity().mkto_lead_id,
            sf_person_id: work.salesforce_person().map(str::to_string),
            sf_member_id: sf_member_id
                .or_else(|| work.mirror.as_ref().and_then(|m| m.sf_member_id.clone())),
        },
        marketo: side == sync::Side::Marketo,
    });
}
