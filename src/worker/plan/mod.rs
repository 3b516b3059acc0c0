//! Step 4, plan: the decision for each person (from `sync::decide`, against the mirror) and the
//! order the writes run in. Marketo is written first because a Marketo refusal to move back
//! (1037) may plan a Salesforce reset, which runs last.
//!
//! A change headed for the other side may first be checked against that side ([`recheck`]): a
//! change there whose signal has not arrived yet is still a conflict, and the mapping's policy
//! should decide it rather than the order the signals happen to arrive in.

mod recheck;

use crate::store::{MirrorRow, StoreError, now_millis};
use crate::sync::{self, Done};

use super::context::Context;
use super::work::{Person, Phase, Work};
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
    let now = now_millis();
    let org_now = ctx.salesforce.server_time_at(now).unwrap_or(now);
    let mut work: Vec<Work> = people
        .into_iter()
        .map(|mut person| {
            // A Salesforce stamp from the future would win every conflict, and held in the
            // mirror would make every later change look stale: taken as now instead.
            if let Some(sf) = &mut person.sf {
                sf.at = sync::time::believable(sf.at, org_now);
            }
            let mirror = mirrors
                .remove(&person.key())
                .map(|row| sync::time::believable_row(row, org_now));
            decide(mapping, person, mirror)
        })
        .collect();
    recheck::other_sides(ctx, mapping, &mut work).await;
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
    let overruled = sync::overruled(
        mirror.as_ref(),
        person.sf.as_ref(),
        person.mk.as_ref(),
        mapping.config.conflict_policy,
    );
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
        was_member: false,
        left_alone: false,
        note: None,
        overruled,
    }
}
