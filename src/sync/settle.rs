//! What an ended write means for the mirror and the trigger feed: the next mirror row, the
//! outcome's target, and the trigger events an applied change produces. Pure; the worker
//! records the result.

use crate::kinds::{Action, Actor, Connector, Target, TriggerKind};
use crate::store::MirrorRow;

use super::{Decision, Done, Observed, Reset};

/// One person's round, as far as recording needs it.
#[derive(Debug, Clone, Copy)]
pub struct Ended<'a> {
    pub mirror: Option<&'a MirrorRow>,
    pub salesforce: Option<&'a Observed>,
    pub marketo: Option<&'a Observed>,
    pub decision: &'a Decision,
    pub done: &'a Done,
    pub reset: Option<&'a Reset>,
    pub actor: Actor,
    /// What this round knows of the person's CampaignMember, Lead/Contact and Marketo lead.
    pub member_id: Option<&'a str>,
    pub person_id: Option<&'a str>,
    pub lead_id: Option<i64>,
    /// The org's time just before our Salesforce write was applied (a lower bound): the
    /// mirror's Salesforce stamp moves up to it, so a notification older than our write is
    /// stale however late it arrives.
    pub sf_written_at: Option<i64>,
    /// The write found the person already a member, though neither this round nor the mirror
    /// knew their status: a status change (from an unknown status), not an addition.
    pub was_member: bool,
}

/// A trigger event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: TriggerKind,
    pub old_status: Option<String>,
    pub new_status: Option<String>,
    pub actor: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub row: MirrorRow,
    pub target: Target,
    pub events: Vec<Event>,
}

/// The mirror row after this write, the outcome's target and its trigger events. `now` stamps
/// the row.
pub fn settle(mapping: &str, person: &str, ended: Ended<'_>, now: i64) -> Settled {
    let synced_sf = ended.mirror.and_then(|m| m.sf_status.clone());
    let mut row = ended.mirror.cloned().unwrap_or(MirrorRow {
        mapping: mapping.to_string(),
        person: person.to_string(),
        ..MirrorRow::default()
    });
    if let Some(sf) = ended.salesforce {
        let stale = matches!((sf.at, row.sf_modstamp), (Some(at), Some(seen)) if at < seen);
        if !stale {
            row.sf_status = sf.status.clone();
            row.sf_modstamp = sf.at.max(row.sf_modstamp);
        }
    }
    if let Some(mk) = ended.marketo {
        row.mkto_status = mk.status.clone();
        row.mkto_updated_at = mk.at;
    }
    // What each side showed before this write: what this round observed of it, or else what
    // the mirror last saw. A first reconciliation has no mirror, yet a member it moves was
    // a member before, so its event is a status change, not an addition.
    let old_sf = row.sf_status.clone();
    let old_mk = row.mkto_status.clone();
    let applied = *ended.done == Done::Applied;
    let gone = matches!(ended.done, Done::Applied | Done::Skipped(_));
    let event = |kind, old, new| {
        Some(Event {
            kind,
            old_status: old,
            new_status: new,
            actor: ended.actor,
        })
    };
    let (target, event) = match ended.decision {
        Decision::SetMarketo(status) if applied => {
            row.mkto_status = Some(status.clone());
            let kind = if old_mk.is_none() && !ended.was_member {
                TriggerKind::AddedToProgram
            } else {
                TriggerKind::ProgramStatusChanged
            };
            (
                Target::new(Connector::Marketo, Action::SetStatus),
                event(kind, old_mk, Some(status.clone())),
            )
        }
        Decision::RemoveFromMarketo if gone => {
            row.mkto_status = None;
            let kind = TriggerKind::RemovedFromProgram;
            (
                Target::new(Connector::Marketo, Action::RemoveMember),
                event(kind, old_mk, None).filter(|_| applied),
            )
        }
        Decision::SetSalesforce(label) if applied => {
            row.sf_status = Some(label.clone());
            let kind = if old_sf.is_none() {
                TriggerKind::AddedToCampaign
            } else {
                TriggerKind::CampaignStatusChanged
            };
            (
                Target::new(Connector::Salesforce, Action::SetStatus),
                event(kind, old_sf, Some(label.clone())),
            )
        }
        Decision::RemoveFromSalesforce if gone => {
            row.sf_status = None;
            let kind = TriggerKind::RemovedFromCampaign;
            (
                Target::new(Connector::Salesforce, Action::RemoveMember),
                event(kind, old_sf, None).filter(|_| applied),
            )
        }
        Decision::SetMarketo(_) | Decision::RemoveFromMarketo => {
            (Target::new(Connector::Marketo, Action::SetStatus), None)
        }
        Decision::SetSalesforce(_) | Decision::RemoveFromSalesforce => {
            (Target::new(Connector::Salesforce, Action::SetStatus), None)
        }
        Decision::Skip(_) => (Target::NONE, None),
    };
    let sf_applied = matches!(
        ended.decision,
        Decision::SetSalesforce(_) | Decision::RemoveFromSalesforce
    ) && applied;
    if sf_applied || ended.reset.is_some_and(|r| r.applied) {
        row.sf_modstamp = row.sf_modstamp.max(ended.sf_written_at);
    }
    let mut events: Vec<Event> = event.into_iter().collect();
    events.extend(moved_back(&ended, synced_sf, row.sf_status.as_ref()));
    if *ended.decision == Decision::Skip(super::IN_SYNC) {
        events.extend(moved_alike(&ended));
    }
    if let Some(reset) = ended.reset.filter(|r| r.applied) {
        row.sf_status = Some(reset.to.clone());
        events.push(Event {
            kind: TriggerKind::CampaignStatusChanged,
            old_status: ended.salesforce.and_then(|o| o.status.clone()),
            new_status: Some(reset.to.clone()),
            actor: reset.actor,
        });
    }
    row.sf_member_id = if row.sf_status.is_some() {
        ended.member_id.map(str::to_string).or(row.sf_member_id)
    } else {
        None
    };
    row.sf_person_id = ended.person_id.map(str::to_string).or(row.sf_person_id);
    row.mkto_lead_id = ended.lead_id.or(row.mkto_lead_id);
    row.synced_at = now;
    Settled {
        row,
        target,
        events,
    }
}

/// A Salesforce status change Marketo refused as a move back still happened in Salesforce:
/// its event is the campaign's, by Salesforce (the status Marketo's native trigger *Status is
/// Changed in SFDC Campaign* would have seen), though nothing was written. `synced` is what the
/// mirror held, `seen` what this round observed (a stale observation leaves it as synced).
fn moved_back(ended: &Ended<'_>, synced: Option<String>, seen: Option<&String>) -> Option<Event> {
    // Diverged, or set back under `reset_salesforce` (a skip once the reset landed).
    let refused = matches!(ended.decision, Decision::SetMarketo(_))
        && (matches!(ended.done, Done::Diverged(_))
            || ended.reset.is_some_and(|r| r.actor == Actor::CampaignSync));
    let seen = seen?;
    if !refused || ended.salesforce.is_none() || synced.as_ref() == Some(seen) {
        return None;
    }
    let kind = if synced.is_none() {
        TriggerKind::AddedToCampaign
    } else {
        TriggerKind::CampaignStatusChanged
    };
    Some(Event {
        kind,
        old_status: synced,
        new_status: Some(seen.clone()),
        actor: Actor::Salesforce,
    })
}

/// Both sides moved since the last sync, to the same state: the change reached the side whose
/// stamp is later (ties: Salesforce) with nothing left to write. That is an earlier attempt's
/// write whose answer was lost (a timeout, a replica stopped before recording it) or the same
/// change made on both sides; either way the person's membership changed, and its trigger
/// event is the one the write would have made.
fn moved_alike(ended: &Ended<'_>) -> Option<Event> {
    let mirror = ended.mirror?;
    let (sf, mk) = (ended.salesforce?, ended.marketo?);
    let stale = matches!((sf.at, mirror.sf_modstamp), (Some(at), Some(seen)) if at < seen);
    if stale || sf.status == mirror.sf_status || mk.status == mirror.mkto_status {
        return None;
    }
    let event = |old: &Option<String>, new: &Option<String>, kinds: [TriggerKind; 3], actor| {
        let kind = match (old, new) {
            (None, _) => kinds[0],
            (_, None) => kinds[2],
            _ => kinds[1],
        };
        Some(Event {
            kind,
            old_status: old.clone(),
            new_status: new.clone(),
            actor,
        })
    };
    if sf.at.unwrap_or(0) >= mk.at.unwrap_or(0) {
        use TriggerKind::{AddedToCampaign, CampaignStatusChanged, RemovedFromCampaign};
        let kinds = [AddedToCampaign, CampaignStatusChanged, RemovedFromCampaign];
        event(&mirror.sf_status, &sf.status, kinds, Actor::Marketo)
    } else {
        use TriggerKind::{AddedToProgram, ProgramStatusChanged, RemovedFromProgram};
        let kinds = [AddedToProgram, ProgramStatusChanged, RemovedFromProgram];
        event(&mirror.mkto_status, &mk.status, kinds, Actor::Salesforce)
    }
}

#[cfg(test)]
mod backward_tests;
#[cfg(test)]
mod tests;
