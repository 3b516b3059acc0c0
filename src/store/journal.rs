//! Everything one worker round decided, committed in a single transaction: mirror rows,
//! outcomes, trigger events and how each signal ends. One commit per round keeps the worker's
//! cost per change far below one fsync.

use sqlx::AnyConnection;

use super::outbox::{self, Notice};
use super::{MirrorRow, Outcome, Store, StoreError, TriggerEvent};

/// The mark that begins a postponed signal's `last_error`, so catching up can find it: the
/// signal was handed back without using an attempt (its mapping is disabled or held, its side
/// paused, or an earlier change of its person goes first). Why follows the mark.
pub(super) const POSTPONED: &str = "postponed without using an attempt";

/// The SQL `LIKE` pattern of every postponed signal's `last_error`.
pub(super) const POSTPONED_LIKE: &str = "postponed without using an attempt%";

/// A postponed signal's `last_error`: the mark, then why.
fn postponed_because(why: &str) -> String {
    format!("{POSTPONED}: {why}")
}

/// Whether a pending signal's `last_error` says it was postponed.
pub(super) fn is_postponed(last_error: Option<&str>) -> bool {
    last_error.is_some_and(|e| e.starts_with(POSTPONED))
}

/// How one claimed signal ends this round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalEnd {
    Done(i64),
    /// Due again at the time given, keeping the error for operators.
    Retry {
        id: i64,
        at: i64,
        error: String,
    },
    Dead {
        id: i64,
        reason: String,
    },
    /// Handed back without counting the attempt (mapping disabled or held, quota paused, or
    /// an earlier change of the same person first), and why.
    Postpone {
        id: i64,
        at: i64,
        why: String,
    },
}

impl SignalEnd {
    pub fn id(&self) -> i64 {
        match self {
            SignalEnd::Done(id)
            | SignalEnd::Retry { id, .. }
            | SignalEnd::Dead { id, .. }
            | SignalEnd::Postpone { id, .. } => *id,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Journal {
    pub mirrors: Vec<MirrorRow>,
    pub outcomes: Vec<Outcome>,
    pub events: Vec<TriggerEvent>,
    pub ends: Vec<SignalEnd>,
    /// Operational events for subscribers (a change gone dead, a mapping held).
    pub notices: Vec<Notice>,
    /// Outcomes of a side's change with none of that side's signals in the round, to go with
    /// one of them that waits to be retried (see [`super::retrying::Adoption`]).
    pub adoptions: Vec<super::retrying::Adoption>,
    /// Who a signal that failed or waits was found to be about (signal id, person), kept on the
    /// signal: a deletion names only its member, which the mirror forgets once the removal
    /// lands another way.
    pub people: Vec<(i64, String)>,
}

impl Journal {
    /// Adds everything `other` recorded after what this one holds.
    pub fn append(&mut self, mut other: Journal) {
        self.mirrors.append(&mut other.mirrors);
        let base = self.outcomes.len();
        self.adoptions
            .extend(other.adoptions.drain(..).map(|mut o| {
                o.outcome += base;
                o
            }));
        self.outcomes.append(&mut other.outcomes);
        self.events.append(&mut other.events);
        self.ends.append(&mut other.ends);
        self.notices.append(&mut other.notices);
        self.people.append(&mut other.people);
    }

    pub fn is_empty(&self) -> bool {
        self.mirrors.is_empty()
            && self.outcomes.is_empty()
            && self.events.is_empty()
            && self.ends.is_empty()
            && self.notices.is_empty()
            && self.people.is_empty()
    }
}

impl Store {
    /// Commits a round's journal. If `owner` lost the lease of any signal the round ends (a
    /// replica that took the worker over released it), nothing of the round is recorded: the
    /// signals' new owner reads both sides again and records what it finds, so the mirror,
    /// outcomes and trigger events are written once, not by two workers.
    pub async fn commit_journal(
        &self,
        owner: &str,
        journal: &Journal,
        now: i64,
    ) -> Result<(), StoreError> {
        if journal.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        // A person found for a signal is written by the statement that ends it.
        let mut people: std::collections::HashMap<i64, &str> = journal
            .people
            .iter()
            .map(|(signal, person)| (*signal, person.as_str()))
            .collect();
        let mut ended = std::collections::HashSet::new();
        for end in &journal.ends {
            // A signal ended twice in one journal is ended once; only a lost lease stops it.
            if !ended.insert(end.id()) {
                continue;
            }
            let person = people.remove(&end.id());
            if !end_signal(&mut tx, owner, end, person, now).await? {
                tx.rollback().await?;
                tracing::warn!(
                    owner,
                    "this round's leases were taken over; its records are left to the new owner"
                );
                return Ok(());
            }
        }
        for (signal, person) in people {
            sqlx::query("UPDATE signals SET person = $2 WHERE id = $1")
                .bind(signal)
                .bind(person)
                .execute(&mut *tx)
                .await?;
        }
        for row in &journal.mirrors {
            super::mirror::upsert_mirror(&mut tx, row).await?;
        }
        let waiting = super::retrying::adopt_waiting(&mut tx, &journal.adoptions, now).await?;
        for (i, outcome) in journal.outcomes.iter().enumerate() {
            match waiting.get(&i) {
                Some(&signal) => {
                    let outcome = Outcome {
                        signal_id: Some(signal),
                        ..outcome.clone()
                    };
                    super::history::insert_outcome(&mut tx, &outcome).await?;
                }
                None => {
                    super::history::insert_outcome(&mut tx, outcome).await?;
                }
            }
        }
        for event in &journal.events {
            // Who the event is about, read once: kept with the event and in its deliveries.
            let who = outbox::identity_of(&mut tx, &event.person).await?;
            let id = super::history::insert_trigger_event(&mut tx, event, who.as_ref()).await?;
            outbox::enqueue_event(&mut tx, id, event, who.as_ref(), now).await?;
        }
        for notice in &journal.notices {
            outbox::enqueue_notice(&mut tx, notice, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Makes postponed signals due now (a mapping was enabled or released, a pause ended),
    /// and deliveries to Marketo postponed by a pause; answers how many signals.
    pub async fn catch_up(&self, now: i64) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE signals SET next_attempt_at = $1, last_error = NULL \
             WHERE state = 'pending' AND last_error LIKE $2",
        )
        .bind(now)
        .bind(POSTPONED_LIKE)
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1 \
             WHERE state = 'pending' AND last_error LIKE $2 AND next_attempt_at > $1",
        )
        .bind(now)
        .bind(POSTPONED_LIKE)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }
}

/// Ends a signal `owner` still leases, noting who it is about when that was found; false when
/// the lease was lost meanwhile.
pub(super) async fn end_signal(
    conn: &mut AnyConnection,
    owner: &str,
    end: &SignalEnd,
    person: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    let (id, state, at, error, attempts_back) = match end {
        SignalEnd::Done(id) => (*id, "done", None, None, 0),
        SignalEnd::Retry { id, at, error } => (*id, "pending", Some(*at), Some(error.clone()), 0),
        SignalEnd::Dead { id, reason } => (*id, "dead", None, Some(reason.clone()), 0),
        SignalEnd::Postpone { id, at, why } => {
            (*id, "pending", Some(*at), Some(postponed_because(why)), 1)
        }
    };
    // A signal revived while leased (`redo`) is due again now, whatever this end says: the
    // round may have read the other side before the change that revived it.
    let result = sqlx::query(
        "UPDATE signals SET state = CASE WHEN redo = 1 THEN 'pending' ELSE $3 END, \
         lease_owner = NULL, lease_expires_at = NULL, \
         next_attempt_at = CASE WHEN redo = 1 THEN $7 ELSE COALESCE($4, next_attempt_at) END, \
         last_error = CASE WHEN redo = 1 THEN NULL \
                           WHEN $3 = 'done' AND last_error LIKE $9 THEN NULL \
                           ELSE COALESCE($5, last_error) END, \
         attempts = CASE WHEN redo = 1 THEN 0 ELSE attempts - $6 END, redo = 0, updated_at = $7, \
         person = COALESCE($8, person) \
         WHERE id = $1 AND lease_owner = $2 AND state = 'leased'",
    )
    .bind(id)
    .bind(owner)
    .bind(state)
    .bind(at)
    .bind(error)
    .bind(attempts_back)
    .bind(now)
    .bind(person)
    .bind(POSTPONED_LIKE)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}
