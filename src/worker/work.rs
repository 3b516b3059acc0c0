//! The values one round moves through its steps: a claimed signal's handle, what it says about
//! one person, the person with their identity and both sides' state, and the planned work with
//! its result. A leaf: it imports nothing else from the worker.

use crate::connectors::CallError;
use crate::connectors::marketo::MemberRecord;
use crate::kinds::{Actor, Target};
use crate::store::{IdentityRow, MirrorRow, StoreError};
use crate::sync::time::parse_millis;
use crate::sync::{Decision, Done, Observed, Overruled, Reset};

/// A claimed signal this round settles: its id and attempts so far (this claim included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalRef {
    pub id: i64,
    pub attempts: i64,
}

/// Why a person's work failed this round: a call's classified error, or the store. Both are
/// settled by the retry schedule; only a permanent call error is dead at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkError {
    #[error(transparent)]
    Call(#[from] CallError),
    /// A read the person's write depended on failed: what was being read, and the call's error.
    #[error("{reading}: {error}")]
    Read {
        reading: &'static str,
        error: CallError,
    },
    #[error("store: {0}")]
    Store(String),
}

impl From<StoreError> for WorkError {
    fn from(error: StoreError) -> Self {
        WorkError::Store(error.to_string())
    }
}

impl WorkError {
    /// A failed read, named by what was being read (`reading the Marketo program member`).
    pub fn reading(reading: &'static str, error: CallError) -> Self {
        WorkError::Read { reading, error }
    }

    /// The call's error, for a call that failed (a write, or a read it depended on).
    fn call(&self) -> Option<&CallError> {
        match self {
            WorkError::Call(error) | WorkError::Read { error, .. } => Some(error),
            WorkError::Store(_) => None,
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.call().is_none_or(CallError::is_retryable)
    }

    /// When the daily-quota pause that stopped this work ends, if one did.
    pub fn paused_until(&self) -> Option<i64> {
        self.call().and_then(CallError::paused_until)
    }

    /// The server's hint of when to come back, when it gave one.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self.call() {
            Some(CallError::Retry { after, .. }) => *after,
            _ => None,
        }
    }
}

/// What a side says now, read from a signal or re-read from the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    NotRead,
    Read(Observed),
    Failed(CallError),
}

/// What one signal says about one person, before identities are resolved.
#[derive(Debug, Clone)]
pub struct Seen {
    pub signal: SignalRef,
    pub mkto_lead: Option<i64>,
    pub sf_person: Option<String>,
    pub email: Option<String>,
    /// The Salesforce state the signal carries, with the CampaignMember id when known.
    pub salesforce: Option<(Observed, Option<String>)>,
    pub marketo: Reading,
    /// When the signal's Marketo webhook arrived: the latest Marketo's change can have been
    /// made, which a lead that is no longer a member (a removal) carries no time of its own for.
    pub webhook_at: Option<i64>,
    /// The identity, when the signal names it already (a deletion of a synced member).
    pub person: Option<i64>,
}

/// A signal whose change is a duplicate's: recorded as skipped for the person, with the reason.
pub struct PassedOver {
    pub signal: SignalRef,
    pub person: i64,
    pub reason: String,
}

/// One person in one mapping this round: who they are and what each side shows.
#[derive(Debug, Clone)]
pub struct Person {
    pub identity: IdentityRow,
    pub signals: Vec<SignalRef>,
    /// Which of `signals` brought Salesforce's state (the others brought Marketo's).
    pub from_salesforce: Vec<i64>,
    pub sf: Option<Observed>,
    pub sf_member_id: Option<String>,
    pub mk: Option<Observed>,
    /// A read this person's decision would need failed.
    pub failed: Option<WorkError>,
}

impl Person {
    pub fn key(&self) -> String {
        self.identity.id.to_string()
    }
}

/// A person with the planned write and, once written, how it ended.
#[derive(Debug, Clone)]
pub struct Work {
    pub person: Person,
    pub mirror: Option<MirrorRow>,
    pub decision: Decision,
    /// The side whose change drove the decision (the trigger event's actor).
    pub actor: Actor,
    /// `None` while the write is still to be done.
    pub outcome: Option<Result<Done, WorkError>>,
    /// Setting Salesforce back after Marketo refused to move back (reset policy).
    pub reset: Option<Reset>,
    /// The org's time (a lower bound) just before our applied Salesforce write: any member
    /// change stamped earlier is older than what we wrote.
    pub sf_written_at: Option<i64>,
    /// The write found the person already a member though this round had not seen them as
    /// one (Marketo answered `updated`, not `created`): a first sync of someone the native
    /// sync left in both, whose change is a status change, not an addition.
    pub was_member: bool,
    /// Both sides changed and the decision follows one: the other's change is not written.
    pub overruled: Option<Overruled>,
    /// A duplicate left alone (another Marketo lead is this Salesforce person's): its outcome
    /// says so, and no mirror row is written for it, as none is for a passed-over signal.
    pub left_alone: bool,
    /// Something the outcome's reason should also say (duplicates passed over for the person).
    pub note: Option<String>,
}

impl Work {
    pub fn fail(&mut self, error: impl Into<WorkError>) {
        self.outcome = Some(Err(error.into()));
    }

    /// An outcome's reason with this item's note beside it (duplicates passed over).
    pub fn noted(&self, reason: Option<String>) -> Option<String> {
        match (reason, &self.note) {
            (Some(reason), Some(note)) => Some(format!("{reason}; {note}")),
            (reason, _) => reason,
        }
    }

    /// Ends this item as a duplicate left alone, saying why.
    pub fn leave_alone(&mut self, reason: String) {
        self.outcome = Some(Ok(crate::sync::Done::Skipped(reason)));
        self.left_alone = true;
    }

    pub fn is_open(&self) -> bool {
        self.outcome.is_none()
    }

    pub fn identity(&self) -> &IdentityRow {
        &self.person.identity
    }

    /// The Salesforce Lead or Contact, Contact first.
    pub fn salesforce_person(&self) -> Option<&str> {
        salesforce_person(&self.person.identity)
    }

    /// The Lead or Contact of the membership this round synced: the one the mirror recorded
    /// for the same member (a Lead's membership stays the Lead's after the person gains a
    /// Contact), else the identity's, Contact first (a member this round created names it).
    pub fn member_person(&self) -> Option<&str> {
        self.mirror
            .as_ref()
            .filter(|m| m.sf_member_id.is_some() && m.sf_member_id == self.person.sf_member_id)
            .and_then(|m| m.sf_person_id.as_deref())
            .or_else(|| self.salesforce_person())
    }
}

/// The Salesforce Lead or Contact of an identity, Contact first.
pub fn salesforce_person(identity: &IdentityRow) -> Option<&str> {
    identity
        .sf_contact_id
        .as_deref()
        .or(identity.sf_lead_id.as_deref())
}

/// Records a Lead or Contact id (by its key prefix) where the identity has none yet.
pub fn set_salesforce_person(identity: &mut IdentityRow, person: &str) {
    if person.starts_with("003") {
        identity
            .sf_contact_id
            .get_or_insert_with(|| person.to_string());
    } else {
        identity
            .sf_lead_id
            .get_or_insert_with(|| person.to_string());
    }
}

/// One phase of a round's writes; the plan gives their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Status syncs and removals in the program.
    Marketo,
    /// Member creates, updates and deletes in the campaign.
    Salesforce,
    /// Members Marketo would not move back, set back in Salesforce (reset policy).
    Resets,
}

/// A signal's result this round.
#[derive(Debug, Clone)]
pub struct SignalResult {
    pub signal: SignalRef,
    pub result: Result<(), WorkError>,
    /// Whom it concerned, when known, so a dead outcome names them.
    pub about: Option<About>,
    /// The write it was to make (`none` when it failed before one was planned).
    pub target: Target,
}

/// The person a signal's change concerned, and the mapping when it was in one (a flow action
/// on a campaign no mapping covers is not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About {
    pub mapping: Option<String>,
    pub person: String,
    /// The status the write was to set, when it set one: a dead letter names it.
    pub status: Option<String>,
}

impl SignalResult {
    pub fn new(signal: SignalRef, result: Result<(), WorkError>) -> Self {
        SignalResult {
            signal,
            result,
            about: None,
            target: Target::NONE,
        }
    }
}

/// What Marketo shows of one lead in a program: its status and when it last changed, or not a
/// member when the read did not return it.
pub fn observed_member(member: Option<&MemberRecord>) -> Observed {
    Observed {
        status: member.and_then(|m| m.status_name.clone()),
        at: member
            .and_then(|m| m.updated_at.as_deref())
            .and_then(parse_millis),
    }
}
