//! Read queries for operators (console and admin JSON): failing signals with the people they
//! name, change counts per mapping, the backlog, bulk replay.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Store, StoreError};

/// A signal that failed for good (`dead`) or is waiting to be retried (`retrying`), with the
/// people and records its payload names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailingSignal {
    pub id: i64,
    pub kind: String,
    /// `dead` or `retrying`.
    pub state: String,
    pub email: Option<String>,
    pub marketo_lead_id: Option<i64>,
    pub salesforce_person_id: Option<String>,
    pub campaign_member_id: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub next_attempt_at: Option<i64>,
    /// A dead letter whose person's later write in the same mapping landed since: replaying
    /// it changes nothing.
    pub superseded: bool,
}

/// Which failing signals to list: by state (`dead`, `rejected`, `retrying`, `postponed`,
/// `waiting` for the last two, or all) and text found in the payload or the error (an e-mail,
/// an id, words of the message).
#[derive(Debug, Clone, Default)]
pub struct FailingFilter {
    pub state: Option<String>,
    pub text: Option<String>,
    pub before: Option<i64>,
    pub limit: u32,
    /// The configured mappings, so a signal naming a campaign or program is shown with the
    /// person's member of that mapping only (none when no mapping covers it). Empty: any
    /// mapping's.
    pub scopes: Vec<MappingScope>,
}

/// A mapping as the failing list needs it: which campaign and program it pairs.
#[derive(Debug, Clone)]
pub struct MappingScope {
    pub name: String,
    pub campaign_id: String,
    pub program_id: i64,
}

/// Where a failing signal's campaign member may be looked up in the mirror.
enum Scope {
    /// The signal names no campaign or program, or no mappings were given.
    Any,
    /// The mapping its campaign or program belongs to.
    In(String),
    /// It names a campaign or program no mapping covers: the mirror has no member of it.
    Outside,
}

fn scope_of(scopes: &[MappingScope], payload: &serde_json::Value) -> Scope {
    if scopes.is_empty() {
        return Scope::Any;
    }
    let campaign = payload.get("campaign_id").and_then(|v| v.as_str());
    let program = payload
        .get("program_id")
        .and_then(serde_json::Value::as_i64);
    let found = match (campaign, program) {
        (Some(c), _) => scopes
            .iter()
            .find(|s| crate::ids::SalesforceId::same(&s.campaign_id, c)),
        (None, Some(p)) => scopes.iter().find(|s| s.program_id == p),
        (None, None) => return Scope::Any,
    };
    found.map_or(Scope::Outside, |s| Scope::In(s.name.clone()))
}

/// The work waiting for the worker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Backlog {
    /// Pending signals whose time has come (first try or retry).
    pub due: i64,
    /// Pending signals that failed at least once and wait for a later try (not postponed).
    pub retrying: i64,
    /// Signals a worker holds now: a round in progress, e.g. waiting out Marketo's rate window.
    pub in_progress: i64,
    /// Signals waiting, without using an attempt, for their side's pause to end (daily quota,
    /// refused credentials) or their mapping to be switched on or released.
    #[serde(default)]
    pub postponed: i64,
    pub dead: i64,
    /// When the oldest pending signal was received.
    pub oldest_received_at: Option<i64>,
    /// When the next retrying signal is tried again (none retrying: `None`).
    #[serde(default)]
    pub next_retry_at: Option<i64>,
}

/// Counts of changes in one window: trigger events by kind, and failed/skipped outcomes.
pub type ChangeCounts = BTreeMap<String, BTreeMap<String, i64>>;

/// The columns a failing signal is read with, by the list and by its text search.
pub(super) const FAILING_COLUMNS: &str = "id, kind, state, payload, attempts, last_error, received_at, updated_at, next_attempt_at, \
     person";

/// The SQL condition of a failing-signal state: `dead`, `rejected`, `retrying` (failed at
/// least once, waiting for another try), `postponed` (waiting out a side's pause or a held or
/// switched-off mapping, without using an attempt), `waiting` (either of the last two), or
/// any of them.
fn state_condition(state: Option<&str>) -> String {
    let postponed = format!(
        "(state = 'pending' AND last_error LIKE '{}')",
        super::journal::POSTPONED_LIKE
    );
    let retrying = format!(
        "(state = 'pending' AND attempts > 0 AND COALESCE(last_error, '') NOT LIKE '{}')",
        super::journal::POSTPONED_LIKE
    );
    match state {
        Some("dead") => "state = 'dead'".into(),
        Some("rejected") => "state = 'rejected'".into(),
        Some("retrying") => retrying,
        Some("postponed") => postponed,
        Some("waiting") => format!("({retrying} OR {postponed})"),
        _ => format!("(state IN ('dead', 'rejected') OR {retrying} OR {postponed})"),
    }
}

impl Store {
    /// Dead, rejected (refused on arrival, never processed), retrying and postponed signals,
    /// newest first.
    pub async fn failing(&self, filter: &FailingFilter) -> Result<Vec<FailingSignal>, StoreError> {
        let state = &state_condition(filter.state.as_deref());
        let before = filter.before.unwrap_or(i64::MAX);
        let rows = match filter.text.as_deref() {
            Some(text) => {
                self.failing_matching(state, text, before, filter.limit)
                    .await?
            }
            None => {
                let sql = format!(
                    "SELECT {FAILING_COLUMNS} FROM signals WHERE {state} AND id < $1 \
                     ORDER BY id DESC LIMIT $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(before)
                    .bind(i64::from(filter.limit))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        let mut failing = rows
            .iter()
            .map(|r| {
                let payload: String = r.try_get("payload")?;
                let payload: serde_json::Value = serde_json::from_str(&payload)?;
                let scope = scope_of(&filter.scopes, &payload);
                let state: String = r.try_get("state")?;
                let last_error: Option<String> = r.try_get("last_error")?;
                // Dead and rejected rows wait for nothing; a pending one is retrying, or
                // postponed without using an attempt.
                let dead = state == "dead" || state == "rejected";
                let state = if dead {
                    state
                } else if super::journal::is_postponed(last_error.as_deref()) {
                    "postponed".into()
                } else {
                    "retrying".into()
                };
                let text = |k: &str| payload.get(k).and_then(|v| v.as_str()).map(str::to_string);
                let marketo = payload.get("lead_id").and_then(serde_json::Value::as_i64);
                let person: Option<String> = r.try_get("person")?;
                Ok((
                    (scope, person),
                    FailingSignal {
                        id: r.try_get("id")?,
                        kind: r.try_get("kind")?,
                        state,
                        email: text("email"),
                        marketo_lead_id: marketo,
                        salesforce_person_id: text("contact_id").or_else(|| {
                            if marketo.is_none() {
                                text("lead_id")
                            } else {
                                None
                            }
                        }),
                        campaign_member_id: text("member_id"),
                        attempts: r.try_get("attempts")?,
                        last_error,
                        first_seen: r.try_get("received_at")?,
                        last_seen: r.try_get("updated_at")?,
                        next_attempt_at: Some(r.try_get::<i64, _>("next_attempt_at")?)
                            .filter(|_| !dead),
                        superseded: false,
                    },
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        for ((scope, person), signal) in &mut failing {
            self.complete_names(signal, scope, person.as_deref())
                .await?;
        }
        let dead: Vec<i64> = failing
            .iter()
            .filter(|(_, s)| s.state == "dead")
            .map(|(_, s)| s.id)
            .collect();
        let superseded = self.superseded(&dead).await?;
        for (_, signal) in &mut failing {
            signal.superseded = superseded.contains(&signal.id);
        }
        Ok(failing.into_iter().map(|(_, signal)| signal).collect())
    }

    /// Fills the ids a payload does not carry (a Marketo webhook names no Salesforce record, a
    /// Salesforce notification no Marketo lead) from the identity table and the mirror.
    /// `person`: who an earlier try found the signal to be about, when it failed or waited.
    async fn complete_names(
        &self,
        s: &mut FailingSignal,
        scope: &Scope,
        person: Option<&str>,
    ) -> Result<(), StoreError> {
        let named = s.email.is_some()
            && s.marketo_lead_id.is_some()
            && s.salesforce_person_id.is_some()
            && s.campaign_member_id.is_some();
        if named {
            return Ok(());
        }
        let mut found = self
            .find_identity(
                s.marketo_lead_id,
                s.salesforce_person_id.as_deref(),
                s.email.as_deref(),
            )
            .await?;
        // A deletion names only the campaign member: its person is the one the mirror holds it
        // for.
        if found.is_none()
            && let Some(member) = s.campaign_member_id.as_deref()
            && let Some(row) = self.mirror_by_member(member).await?.into_iter().next()
            && let Ok(id) = row.person.parse()
        {
            found = self.identity(id).await?;
        }
        // Once the removal landed another way, the mirror no longer holds the member.
        if found.is_none()
            && let Some(id) = person.and_then(|p| p.parse().ok())
        {
            found = self.identity(id).await?;
        }
        let Some(person) = found else {
            return Ok(());
        };
        s.email = s.email.take().or(person.email);
        s.marketo_lead_id = s.marketo_lead_id.or(person.mkto_lead_id);
        s.salesforce_person_id = s
            .salesforce_person_id
            .take()
            .or(person.sf_contact_id)
            .or(person.sf_lead_id);
        let mapping = match scope {
            Scope::Outside => return Ok(()),
            Scope::Any => None,
            Scope::In(mapping) => Some(mapping.as_str()),
        };
        if s.campaign_member_id.is_none() {
            let member = sqlx::query(
                "SELECT sf_member_id FROM mirror WHERE person = $1 \
                 AND ($2 IS NULL OR mapping = $2) \
                 AND sf_member_id IS NOT NULL ORDER BY synced_at DESC LIMIT 1",
            )
            .bind(person.id.to_string())
            .bind(mapping)
            .fetch_optional(&self.pool)
            .await?;
            s.campaign_member_id = member.map(|r| r.try_get(0)).transpose()?;
        }
        Ok(())
    }

    /// Makes each of these dead signals due again; returns the ids that were dead.
    pub async fn replay_many(&self, ids: &[i64], now: i64) -> Result<Vec<i64>, StoreError> {
        let mut replayed = Vec::new();
        for &id in ids {
            if self.replay(id, now).await? {
                replayed.push(id);
            }
        }
        Ok(replayed)
    }

    pub async fn backlog(&self, now: i64) -> Result<Backlog, StoreError> {
        let row = sqlx::query(
            "SELECT \
             COALESCE(SUM(CASE WHEN state = 'pending' AND next_attempt_at <= $1 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN state = 'pending' AND attempts > 0 \
                 AND COALESCE(last_error, '') <> $2 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0), \
             MIN(CASE WHEN state IN ('pending', 'leased') THEN received_at END), \
             COALESCE(SUM(CASE WHEN state = 'leased' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN state = 'pending' AND last_error LIKE $2 \
                 AND next_attempt_at > $1 THEN 1 ELSE 0 END), 0), \
             MIN(CASE WHEN state = 'pending' AND attempts > 0 \
                 AND COALESCE(last_error, '') NOT LIKE $2 THEN next_attempt_at END) \
             FROM signals",
        )
        .bind(now)
        .bind(super::journal::POSTPONED_LIKE)
        .fetch_one(&self.pool)
        .await?;
        Ok(Backlog {
            due: row.try_get(0)?,
            retrying: row.try_get(1)?,
            dead: row.try_get(2)?,
            oldest_received_at: row.try_get(3)?,
            in_progress: row.try_get(4)?,
            postponed: row.try_get(5)?,
            next_retry_at: row.try_get(6)?,
        })
    }

    /// Members per mapping: mirror rows with a status on either side (a removed member's row
    /// stays, with no status, to remember who they were).
    pub async fn mirror_counts(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT mapping, COUNT(*) FROM mirror \
             WHERE sf_status IS NOT NULL OR mkto_status IS NOT NULL GROUP BY mapping",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}
