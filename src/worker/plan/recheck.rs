//! Reading the other side before a write: a change there whose signal has not arrived yet (a
//! Marketo webhook in flight, an outbound message Salesforce has not sent or is retrying) is
//! still a conflict, so the mapping's policy decides it, not the order the signals arrive in.
//!
//! A side is read only when its change could win: the policy that lets it win always, never
//! under the other (except that a retried Marketo change reads Salesforce under marketo_wins,
//! to find a member deleted meanwhile and add it anew), and under last-writer-wins Salesforce
//! always (its calls are plentiful, and an outbound message sent late carries the record as it
//! is then, so a later change there overwritten unread would come back as an echo of our own
//! write) but Marketo, whose daily quota is the scarce one, only for a change that is not fresh
//! (a retried signal, or one stamped over a minute ago) or whose person has a Marketo change
//! waiting to be retried: a fresh Salesforce change overwritten there by mistake is refused by Marketo's progression when Marketo is further on (see the
//! 1037 rule), and otherwise loses only to a change whose webhook is seconds behind; so a
//! Salesforce bulk load keeps its Marketo call counts.

use tracing::Instrument;

use crate::config::ConflictPolicy;
use crate::store::now_millis;
use crate::sync::time::parse_millis;
use crate::sync::{Decision, Observed};

use super::super::context::{Context, api_span};
use super::super::work::{Person, Work, WorkError, observed_member, salesforce_person};
use crate::mappings::Mapping;
use crate::worker::plan::decide;

/// How old a change may be and still be written unread under last-writer-wins.
const FRESH_CHANGE_MS: i64 = 60_000;

/// The side a planned write goes to, whose current state it would overwrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Marketo,
    Salesforce,
}

impl Target {
    fn of(decision: &Decision) -> Option<Target> {
        match decision {
            Decision::SetMarketo(_) | Decision::RemoveFromMarketo => Some(Target::Marketo),
            Decision::SetSalesforce(_) | Decision::RemoveFromSalesforce => Some(Target::Salesforce),
            Decision::Skip(_) => None,
        }
    }
}

/// Reads each side a planned write would overwrite unread, where [`reads_first`] says to, and
/// decides those people again with what it shows.
pub(super) async fn other_sides(ctx: &Context, mapping: &Mapping, work: &mut [Work]) {
    let now = now_millis();
    let policy = mapping.config.conflict_policy;
    // Without a last sync (no mirror row) there is no "changed since": the side the signal
    // came from is the change, and reconciliation adopts what predates us.
    let planned = |target: Target| {
        move |w: &Work| {
            w.is_open()
                && w.mirror.is_some()
                && Target::of(&w.decision) == Some(target)
                && unread(target, &w.person)
        }
    };
    let waiting = marketo_changes_waiting(ctx, mapping, work, now).await;
    let marketo: Vec<usize> = indices(work, |w| {
        planned(Target::Marketo)(w)
            && (reads_first(policy, Target::Marketo, &w.person, now)
                || w.identity()
                    .mkto_lead_id
                    .is_some_and(|l| waiting.contains(&l)))
    });
    let salesforce: Vec<usize> = indices(work, |w| {
        planned(Target::Salesforce)(w) && reads_first(policy, Target::Salesforce, &w.person, now)
    });
    if !marketo.is_empty() {
        read_marketo(ctx, mapping, work, &marketo).await;
    }
    if !salesforce.is_empty() {
        read_salesforce(ctx, mapping, work, &salesforce).await;
    }
}

/// The leads of Salesforce changes headed unread for Marketo (fresh ones under last-writer-wins,
/// any under salesforce_wins) whose own Marketo change waits to be tried again (it met a member
/// deleted meanwhile, a refusal, an outage): a known conflict, so Marketo is read first after
/// all: under last-writer-wins it may win, under salesforce_wins it loses, and is recorded as
/// overruled on its waiting signal rather than ending as an echo of the write. A failed look is
/// only logged: the change is then written as planned.
async fn marketo_changes_waiting(
    ctx: &Context,
    mapping: &Mapping,
    work: &[Work],
    now: i64,
) -> std::collections::HashSet<i64> {
    let policy = mapping.config.conflict_policy;
    if policy == ConflictPolicy::MarketoWins {
        return Default::default();
    }
    let leads: Vec<i64> = work
        .iter()
        .filter(|w| {
            w.is_open()
                && w.mirror.is_some()
                && Target::of(&w.decision) == Some(Target::Marketo)
                && unread(Target::Marketo, &w.person)
                && !reads_first(policy, Target::Marketo, &w.person, now)
        })
        .filter_map(|w| w.identity().mkto_lead_id)
        .collect();
    if leads.is_empty() {
        return Default::default();
    }
    let program = mapping.config.program_id;
    match ctx.store.retrying_marketo_leads(program, &leads).await {
        Ok(waiting) => waiting,
        Err(error) => {
            tracing::warn!(%error, "could not look for Marketo changes waiting to be retried");
            Default::default()
        }
    }
}

fn indices(work: &[Work], wanted: impl Fn(&Work) -> bool) -> Vec<usize> {
    (0..work.len()).filter(|&i| wanted(&work[i])).collect()
}

/// Whether the round has no reading of the side the write goes to.
fn unread(target: Target, person: &Person) -> bool {
    match target {
        Target::Marketo => person.mk.is_none(),
        Target::Salesforce => person.sf.is_none(),
    }
}

/// Whether a write to `target` reads it first: when a change there could win. That is always
/// under the policy that favours it, never under the other, and under last-writer-wins always
/// for Salesforce, for Marketo only when the change being written is not fresh.
fn reads_first(policy: ConflictPolicy, target: Target, person: &Person, now_ms: i64) -> bool {
    let source = match target {
        Target::Marketo => person.sf.as_ref(),
        Target::Salesforce => person.mk.as_ref(),
    };
    match (policy, target) {
        (ConflictPolicy::MarketoWins, Target::Marketo)
        | (ConflictPolicy::SalesforceWins, Target::Salesforce) => true,
        // A retried Marketo change may have met a deleted member: read to write it anew.
        (ConflictPolicy::MarketoWins, Target::Salesforce) => retried(person),
        (ConflictPolicy::SalesforceWins, Target::Marketo) => false,
        (ConflictPolicy::LastWriterWins, Target::Salesforce) => true,
        (ConflictPolicy::LastWriterWins, Target::Marketo) => {
            retried(person)
                || source
                    .and_then(|o| o.at)
                    .is_some_and(|at| at < now_ms - FRESH_CHANGE_MS)
        }
    }
}

fn retried(person: &Person) -> bool {
    person.signals.iter().any(|s| s.attempts > 1)
}

/// Decides one person again with what the other side showed.
fn redecide(mapping: &Mapping, slot: &mut Work, read: impl FnOnce(&mut Person)) {
    let mut person = slot.person.clone();
    read(&mut person);
    *slot = decide(mapping, person, slot.mirror.take());
}

/// Marketo's members for the planned Marketo writes. A lead the read does not return may be
/// out of the program or merged into another (whose id the write finds again): not knowing
/// which, the first decision stands rather than reading it as a removal. A failed read fails
/// those people's work, retried like the write it guards.
async fn read_marketo(ctx: &Context, mapping: &Mapping, work: &mut [Work], due: &[usize]) {
    let mut leads: Vec<i64> = due
        .iter()
        .filter_map(|&i| work[i].identity().mkto_lead_id)
        .collect();
    leads.sort_unstable();
    leads.dedup();
    if leads.is_empty() {
        return;
    }
    let read = ctx
        .marketo
        .members(mapping.config.program_id, &leads)
        .instrument(api_span("marketo", "members", leads.len()))
        .await;
    for &i in due {
        let Some(lead) = work[i].identity().mkto_lead_id else {
            continue;
        };
        match &read {
            Ok(members) => {
                if let Some(member) = members.iter().find(|m| m.lead_id == lead) {
                    redecide(mapping, &mut work[i], |p| {
                        p.mk = Some(observed_member(Some(member)));
                    });
                }
            }
            Err(error) => work[i].fail(WorkError::reading(
                "reading the Marketo program member",
                error.clone(),
            )),
        }
    }
}

/// The campaign's members for the planned Salesforce writes (one query per 200 people). Our
/// own last write reads as no change (its stamp is not older than the mirror's). A member the
/// mirror holds that the query does not return may have been deleted: see [`deleted_members`].
async fn read_salesforce(ctx: &Context, mapping: &Mapping, work: &mut [Work], due: &[usize]) {
    let mut people: Vec<String> = due
        .iter()
        .filter_map(|&i| salesforce_person(work[i].identity()).map(str::to_string))
        .collect();
    people.sort_unstable();
    people.dedup();
    if people.is_empty() {
        return;
    }
    let campaign = mapping.config.campaign_id.as_str();
    let read = ctx
        .salesforce
        .members_for(campaign, &people)
        .instrument(api_span("salesforce", "members_for", people.len()))
        .await;
    let mut missing = Vec::new();
    for &i in due {
        let Some(person) = salesforce_person(work[i].identity()).map(str::to_string) else {
            continue;
        };
        match &read {
            Ok(members) => match members.iter().find(|m| m.person_id() == Some(&person)) {
                Some(member) => redecide(mapping, &mut work[i], |p| {
                    p.sf = Some(Observed {
                        status: member.status.clone(),
                        at: member.system_modstamp.as_deref().and_then(parse_millis),
                    });
                    p.sf_member_id = Some(member.id.clone());
                }),
                None if synced_member(&work[i]).is_some() => missing.push(i),
                None => {}
            },
            Err(error) => work[i].fail(WorkError::reading(
                "reading the Salesforce campaign member",
                error.clone(),
            )),
        }
    }
    if !missing.is_empty() {
        deleted_members(ctx, mapping, work, &missing).await;
    }
}

/// The member id the mirror holds for a person Salesforce had as a member at the last sync.
fn synced_member(work: &Work) -> Option<&str> {
    let mirror = work.mirror.as_ref()?;
    mirror.sf_status.as_ref()?;
    mirror.sf_member_id.as_deref()
}

/// Members the campaign no longer lists: those Salesforce reports deleted are decided again as
/// not members since their deletion, so the policy weighs the deletion against the change being
/// written (under last-writer-wins a later Marketo change adds the person back, an earlier one
/// gives way). The rest keep the first decision: a deletion in the current minute is not
/// reported yet (the write to it is refused and retried), and a member whose Lead or Contact
/// changed is found again by the write.
async fn deleted_members(ctx: &Context, mapping: &Mapping, work: &mut [Work], missing: &[usize]) {
    let ids: Vec<String> = missing
        .iter()
        .filter_map(|&i| synced_member(&work[i]).map(str::to_string))
        .collect();
    let since = missing
        .iter()
        .filter_map(|&i| work[i].mirror.as_ref())
        .map(|m| m.sf_modstamp.unwrap_or(m.synced_at))
        .min()
        .unwrap_or_default();
    let now = now_millis();
    let org_now = ctx.salesforce.server_time_at(now).unwrap_or(now);
    let ids_ref: Vec<&str> = ids.iter().map(String::as_str).collect();
    let dates = ctx
        .salesforce
        .deletion_dates(&ids_ref, since, org_now)
        .instrument(api_span("salesforce", "deleted_members", ids.len()))
        .await;
    let dates = match dates {
        Ok(dates) => dates,
        Err(error) => {
            return missing.iter().for_each(|&i| {
                work[i].fail(WorkError::reading(
                    "reading when Salesforce deleted the campaign member",
                    error.clone(),
                ))
            });
        }
    };
    for &i in missing {
        let deleted = synced_member(&work[i])
            .and_then(|id| dates.get(id))
            .copied();
        if let Some(at) = deleted {
            redecide(mapping, &mut work[i], |p| {
                p.sf = Some(Observed {
                    status: None,
                    at: Some(at),
                });
                p.sf_member_id = None;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::IdentityRow;
    use crate::worker::work::SignalRef;

    const NOW: i64 = 1_800_000_000_000;

    /// A person whose change on `from` (attempts so far, stamped `changed_at`) goes to the
    /// other side.
    fn person(from: Target, attempts: i64, changed_at: i64) -> Person {
        let observed = Some(Observed {
            status: Some("Attended".into()),
            at: Some(changed_at),
        });
        Person {
            identity: IdentityRow {
                id: 7,
                mkto_lead_id: Some(42),
                ..IdentityRow::default()
            },
            signals: vec![SignalRef { id: 1, attempts }],
            from_salesforce: Vec::new(),
            sf: observed.clone().filter(|_| from == Target::Salesforce),
            sf_member_id: None,
            mk: observed.filter(|_| from == Target::Marketo),
            failed: None,
        }
    }

    #[test]
    fn a_side_is_read_first_when_a_change_there_could_win() {
        use ConflictPolicy::*;
        for (target, source) in [
            (Target::Marketo, Target::Salesforce),
            (Target::Salesforce, Target::Marketo),
        ] {
            let fresh = person(source, 1, NOW - 5_000);
            let retried = person(source, 2, NOW - 5_000);
            let old = person(source, 1, NOW - FRESH_CHANGE_MS - 1);
            let favours_target = if target == Target::Marketo {
                MarketoWins
            } else {
                SalesforceWins
            };
            let favours_source = if target == Target::Marketo {
                SalesforceWins
            } else {
                MarketoWins
            };
            let cases = [
                (favours_source, &fresh, false),
                (favours_source, &retried, target == Target::Salesforce),
                (favours_source, &old, false),
                (favours_target, &fresh, true),
                // Salesforce is read first always; Marketo's quota is spared for fresh ones.
                (LastWriterWins, &fresh, target == Target::Salesforce),
                (LastWriterWins, &retried, true),
                (LastWriterWins, &old, true),
            ];
            for (policy, person, reads) in cases {
                assert_eq!(
                    reads_first(policy, target, person, NOW),
                    reads,
                    "{policy:?} writing to {target:?}: {person:?}"
                );
            }
        }
    }
}
