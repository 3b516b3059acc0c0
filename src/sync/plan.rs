//! The decision for one person in one mapping: which side changed since the mirror last saw it,
//! who wins when both did, and the single write that makes the other side agree.

use crate::config::ConflictPolicy;
use crate::kinds::{Action, Connector, Target};
use crate::store::MirrorRow;

use super::StatusMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Salesforce,
    Marketo,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Salesforce => Side::Marketo,
            Side::Marketo => Side::Salesforce,
        }
    }
}

/// What one side shows now. `status: None` means "not a member".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub status: Option<String>,
    /// The source's own timestamp of this state (SystemModstamp / updatedAt), epoch ms.
    pub at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to write; the reason is recorded as a skipped outcome.
    Skip(&'static str),
    SetMarketo(String),
    RemoveFromMarketo,
    SetSalesforce(String),
    RemoveFromSalesforce,
}

impl Decision {
    /// The status this decision writes, when it writes one.
    pub fn status(&self) -> Option<&str> {
        match self {
            Decision::SetMarketo(s) | Decision::SetSalesforce(s) => Some(s),
            _ => None,
        }
    }

    /// The write this decision makes: its system and kind (`none` for a skip).
    pub fn target(&self) -> Target {
        match self {
            Decision::Skip(_) => Target::NONE,
            Decision::SetMarketo(_) => Target::new(Connector::Marketo, Action::SetStatus),
            Decision::RemoveFromMarketo => Target::new(Connector::Marketo, Action::RemoveMember),
            Decision::SetSalesforce(_) => Target::new(Connector::Salesforce, Action::SetStatus),
            Decision::RemoveFromSalesforce => {
                Target::new(Connector::Salesforce, Action::RemoveMember)
            }
        }
    }
}

pub const ECHO: &str = "no change since the last sync: this side shows what the sync last wrote \
     or saw (an echo of our own write, a repeat, or a change the other side's later one \
     already overruled)";
/// [`ECHO`] as outcomes recorded before it named overruled changes say it.
pub const ECHO_BEFORE: &str = "no change since the last sync (echo of our own write or a repeat)";
/// Never synced, and not a member on the side that was looked at: nothing to mirror.
pub const NOT_A_MEMBER: &str = "never synced and not a member: nothing to mirror";
pub const STALE: &str = "stale: older than the state already synced";
pub const IN_SYNC: &str = "the other side already has this state";

/// Decides the write for one person. `salesforce` / `marketo` are the observations this round
/// has of each side (a side not observed is taken to be as the mirror remembers it).
pub fn decide(
    mirror: Option<&MirrorRow>,
    salesforce: Option<&Observed>,
    marketo: Option<&Observed>,
    policy: ConflictPolicy,
    map: &StatusMap,
) -> Decision {
    let Changes {
        salesforce: sf_changed,
        marketo: mk_changed,
        stale,
    } = changes(mirror, salesforce, marketo);
    let side = match (sf_changed, mk_changed) {
        (None, None) if stale => return Decision::Skip(STALE),
        (None, None) if mirror.is_none() => return Decision::Skip(NOT_A_MEMBER),
        (None, None) => return Decision::Skip(ECHO),
        (Some(_), None) => Side::Salesforce,
        (None, Some(_)) => Side::Marketo,
        (Some(s), Some(m)) => winner(s, m, policy),
    };
    match side {
        Side::Salesforce => {
            let source = sf_changed.expect("the winner changed");
            let current = marketo
                .map(|o| o.status.clone())
                .unwrap_or_else(|| mirror.and_then(|m| m.mkto_status.clone()));
            towards_marketo(source.status.as_deref(), current.as_deref(), map)
        }
        Side::Marketo => {
            let source = mk_changed.expect("the winner changed");
            let current = salesforce
                .filter(|_| !stale)
                .map(|o| o.status.clone())
                .unwrap_or_else(|| mirror.and_then(|m| m.sf_status.clone()));
            towards_salesforce(source.status.as_deref(), current.as_deref(), map)
        }
    }
}

/// What each side shows that differs from the last sync: a side not observed, or showing
/// what the mirror holds, did not change; a Salesforce notification older than the mirror's
/// state is stale and did not change either.
pub(super) struct Changes<'a> {
    pub salesforce: Option<&'a Observed>,
    pub marketo: Option<&'a Observed>,
    pub stale: bool,
}

pub(super) fn changes<'a>(
    mirror: Option<&MirrorRow>,
    salesforce: Option<&'a Observed>,
    marketo: Option<&'a Observed>,
) -> Changes<'a> {
    let stale = salesforce.is_some_and(|o| is_stale(o, mirror));
    Changes {
        salesforce: salesforce
            .filter(|o| !stale && o.status != mirror.and_then(|m| m.sf_status.clone())),
        marketo: marketo.filter(|o| o.status != mirror.and_then(|m| m.mkto_status.clone())),
        stale,
    }
}

/// Whose change wins when both sides changed since the last sync.
pub(super) fn winner(salesforce: &Observed, marketo: &Observed, policy: ConflictPolicy) -> Side {
    match policy {
        ConflictPolicy::SalesforceWins => Side::Salesforce,
        ConflictPolicy::MarketoWins => Side::Marketo,
        // Ties (both sides stamp whole seconds) go to Salesforce.
        ConflictPolicy::LastWriterWins if salesforce.at.unwrap_or(0) >= marketo.at.unwrap_or(0) => {
            Side::Salesforce
        }
        ConflictPolicy::LastWriterWins => Side::Marketo,
    }
}

/// Whether last-writer-wins gave Salesforce a tie it cannot really tell: both stamps in one
/// second (both sides stamp whole seconds), where Marketo's may be the later change.
/// Reconciliation then prefers the status both sides can hold.
pub fn same_second(salesforce: &Observed, marketo: &Observed, policy: ConflictPolicy) -> bool {
    match (policy, salesforce.at, marketo.at) {
        (ConflictPolicy::LastWriterWins, Some(s), Some(m)) => (0..1000).contains(&(s - m)),
        _ => false,
    }
}

/// A notification older than what the mirror holds says nothing new.
fn is_stale(observed: &Observed, mirror: Option<&MirrorRow>) -> bool {
    match (observed.at, mirror.and_then(|m| m.sf_modstamp)) {
        (Some(at), Some(seen)) => at < seen,
        _ => false,
    }
}

fn towards_marketo(sf_status: Option<&str>, mk_current: Option<&str>, map: &StatusMap) -> Decision {
    match sf_status {
        None if mk_current.is_some() => Decision::RemoveFromMarketo,
        None => Decision::Skip(IN_SYNC),
        Some(label) => {
            let name = map.to_marketo(label);
            if mk_current == Some(name.as_str()) {
                Decision::Skip(IN_SYNC)
            } else {
                Decision::SetMarketo(name)
            }
        }
    }
}

fn towards_salesforce(
    mk_status: Option<&str>,
    sf_current: Option<&str>,
    map: &StatusMap,
) -> Decision {
    match mk_status.and_then(|name| map.to_salesforce(name)) {
        None if sf_current.is_some() => Decision::RemoveFromSalesforce,
        None => Decision::Skip(IN_SYNC),
        Some(label) if sf_current == Some(label.as_str()) => Decision::Skip(IN_SYNC),
        Some(label) => Decision::SetSalesforce(label),
    }
}

#[cfg(test)]
mod tests;
