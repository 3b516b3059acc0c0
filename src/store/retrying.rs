//! Retrying signals whose change has landed meanwhile: when a person's state in a mapping is
//! written down, the other signals of that person waiting to retry are made due at once, so
//! they settle (as already in sync) instead of being listed `retrying` until their next try.

use sqlx::Row;

use super::journal::POSTPONED_LIKE;
use super::{Store, StoreError};
use crate::signal::Signal;

/// One person whose state in one mapping was just written down.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    pub program_id: i64,
    pub campaign_id: String,
    pub mkto_lead_id: Option<i64>,
    /// The Salesforce Lead or Contact id.
    pub sf_person_id: Option<String>,
    pub sf_member_id: Option<String>,
}

impl Settled {
    /// Whether a signal is about this person in this mapping (a flow action never is: it
    /// writes what it says, whatever the mapping holds).
    fn names(&self, signal: &Signal) -> bool {
        let sf = |id: Option<&String>| {
            id.is_some_and(|id| {
                self.sf_person_id.as_ref() == Some(id) || self.sf_member_id.as_ref() == Some(id)
            })
        };
        match signal {
            Signal::MarketoMember(m) => {
                m.program_id == self.program_id && Some(m.lead_id) == self.mkto_lead_id
            }
            Signal::SalesforceMember(m) => {
                m.campaign_id.as_deref() == Some(self.campaign_id.as_str())
                    && (sf(Some(&m.member_id))
                        || sf(m.contact_id.as_ref())
                        || sf(m.lead_id.as_ref()))
            }
            Signal::SalesforceMemberDeleted(d) => self.sf_member_id.as_ref() == Some(&d.member_id),
            Signal::MarketoFlowAction(_) => false,
        }
    }
}

impl Store {
    /// Makes due now the retrying signals (failed before, waiting for their next try, not
    /// postponed) that name one of `settled`; returns their ids.
    pub async fn wake_retrying(
        &self,
        settled: &[Settled],
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        if settled.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT id, payload FROM signals WHERE state = 'pending' AND attempts > 0 \
             AND next_attempt_at > $1 AND kind <> 'marketo_flow_action' \
             AND COALESCE(last_error, '') NOT LIKE $2",
        )
        .bind(now)
        .bind(POSTPONED_LIKE)
        .fetch_all(&self.pool)
        .await?;
        let mut woken = Vec::new();
        for row in rows {
            let payload: String = row.try_get("payload")?;
            let Ok(signal) = serde_json::from_str::<Signal>(&payload) else {
                continue;
            };
            if settled.iter().any(|s| s.names(&signal)) {
                woken.push(row.try_get::<i64, _>("id")?);
            }
        }
        for id in &woken {
            sqlx::query(
                "UPDATE signals SET next_attempt_at = $2, updated_at = $2 \
                 WHERE id = $1 AND state = 'pending' AND attempts > 0",
            )
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        }
        Ok(woken)
    }
}

impl Store {
    /// The leads among `leads` whose change in Marketo program `program_id` waits to be tried
    /// again or ended dead (a webhook's or the activity feed's signal that failed before): a
    /// change Marketo made that the sync has not written.
    pub async fn retrying_marketo_leads(
        &self,
        program_id: i64,
        leads: &[i64],
    ) -> Result<std::collections::HashSet<i64>, StoreError> {
        let mut waiting = std::collections::HashSet::new();
        if leads.is_empty() {
            return Ok(waiting);
        }
        let rows = sqlx::query(
            "SELECT payload FROM signals WHERE ((state = 'pending' AND attempts > 0) \
             OR state = 'dead') AND kind = 'marketo_member'",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let payload: String = row.try_get("payload")?;
            if let Ok(Signal::MarketoMember(m)) = serde_json::from_str::<Signal>(&payload)
                && m.program_id == program_id
                && leads.contains(&m.lead_id)
            {
                waiting.insert(m.lead_id);
            }
        }
        Ok(waiting)
    }
}

/// An outcome about one side's change that the round read from that side while the change's own
/// signal waits to be tried again (it failed before, as a change meeting a member deleted
/// meanwhile does): an overruled change, or the winning change of a conflict written. The
/// outcome goes with that signal, which ends with it, instead of standing alone (or on the other
/// side's signal) while the signal's retry later finds nothing to do and ends as an echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    /// The outcome's index in the round's journal.
    pub outcome: usize,
    pub person: Settled,
    /// The change's side: Marketo's signals (else Salesforce's) are looked for.
    pub marketo: bool,
}

impl Adoption {
    fn takes(&self, signal: &Signal) -> bool {
        let side = match signal {
            Signal::MarketoMember(_) => self.marketo,
            Signal::SalesforceMember(_) | Signal::SalesforceMemberDeleted(_) => !self.marketo,
            Signal::MarketoFlowAction(_) => false,
        };
        side && self.person.names(signal)
    }
}

/// Ends the waiting signals (retrying, not postponed) of each adoption's change as done; returns,
/// per journal outcome, the first of them, which the outcome is recorded on.
pub(super) async fn adopt_waiting(
    conn: &mut sqlx::AnyConnection,
    adoptions: &[Adoption],
    now: i64,
) -> Result<std::collections::HashMap<usize, i64>, StoreError> {
    let mut taken = std::collections::HashMap::new();
    if adoptions.is_empty() {
        return Ok(taken);
    }
    let rows = sqlx::query(
        "SELECT id, payload FROM signals WHERE state = 'pending' AND attempts > 0 \
         AND kind <> 'marketo_flow_action' AND COALESCE(last_error, '') NOT LIKE $1 ORDER BY id",
    )
    .bind(POSTPONED_LIKE)
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let payload: String = row.try_get("payload")?;
        let Ok(signal) = serde_json::from_str::<Signal>(&payload) else {
            continue;
        };
        let Some(adoption) = adoptions.iter().find(|o| o.takes(&signal)) else {
            continue;
        };
        let id: i64 = row.try_get("id")?;
        taken.entry(adoption.outcome).or_insert(id);
        sqlx::query(
            "UPDATE signals SET state = 'done', updated_at = $2, \
             last_error = CASE WHEN last_error LIKE $3 THEN NULL ELSE last_error END \
             WHERE id = $1 AND state = 'pending'",
        )
        .bind(id)
        .bind(now)
        .bind(super::journal::POSTPONED_LIKE)
        .execute(&mut *conn)
        .await?;
    }
    Ok(taken)
}
