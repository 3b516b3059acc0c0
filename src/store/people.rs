//! Read queries about people for operators: search by e-mail or id, one person's timeline
//! (deliveries, outcomes, trigger events, mirror), and outcomes filtered and named by person.

use serde::Serialize;
use sqlx::Row;

use super::{IdentityRow, MirrorRow, Store, StoreError, TriggerEvent, fold_email};

/// An outcome with the person it concerns named by e-mail and ids instead of the internal key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct NamedOutcome {
    pub id: i64,
    pub signal_id: Option<i64>,
    pub mapping: Option<String>,
    pub person: Option<String>,
    pub email: Option<String>,
    #[sqlx(rename = "mkto_lead_id")]
    pub marketo_lead_id: Option<i64>,
    #[sqlx(rename = "sf_lead_id")]
    pub salesforce_lead_id: Option<String>,
    #[sqlx(rename = "sf_contact_id")]
    pub salesforce_contact_id: Option<String>,
    pub connector: String,
    pub action: String,
    pub result: String,
    pub reason: Option<String>,
    pub recorded_at: i64,
}

/// A trigger event with its person named by e-mail and by the ids each system knows them by
/// (null where not known), as subscribers receive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct NamedTriggerEvent {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub event: TriggerEvent,
    pub email: Option<String>,
    #[sqlx(rename = "mkto_lead_id")]
    pub marketo_lead_id: Option<i64>,
    #[sqlx(rename = "sf_lead_id")]
    pub salesforce_lead_id: Option<String>,
    #[sqlx(rename = "sf_contact_id")]
    pub salesforce_contact_id: Option<String>,
}

/// Which outcomes to list, newest first; `before` pages backwards by id.
#[derive(Debug, Clone, Default)]
pub struct OutcomeFilter {
    pub person: Option<String>,
    pub email: Option<String>,
    pub mapping: Option<String>,
    pub result: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub before: Option<i64>,
    pub limit: u32,
    /// Skipped outcomes of one kind only (and nothing else), as the overview counts them.
    pub skip: Option<SkipKind>,
    /// Leaves out the echoes: our own writes coming back and repeats, skipped by design.
    pub without_echoes: bool,
}

/// Why a change was skipped, in the overview's words: an echo of the sync's own write (or a
/// repeat), a change overruled by the other side's, or any other reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipKind {
    Echo,
    Overruled,
    Other,
}

impl SkipKind {
    pub const ALL: [SkipKind; 3] = [SkipKind::Echo, SkipKind::Overruled, SkipKind::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            SkipKind::Echo => "echo",
            SkipKind::Overruled => "overruled",
            SkipKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<SkipKind> {
        SkipKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A delivery received about a person: one stored signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceivedSignal {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub payload: serde_json::Value,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub received_at: i64,
}

/// Everything known about one person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub person: IdentityRow,
    pub deliveries: Vec<ReceivedSignal>,
    pub outcomes: Vec<NamedOutcome>,
    pub trigger_events: Vec<TriggerEvent>,
    pub mirror: Vec<MirrorRow>,
}

/// The outcome's mapping and person; when the worker recorded none (a signal that died before
/// its person was resolved), those of another outcome of the same signal (a signal concerns one
/// person in one mapping). Selected `FROM outcomes o`.
pub(super) const NAMED: &str = "COALESCE(o.mapping, (SELECT x.mapping FROM outcomes x \
    WHERE x.signal_id = o.signal_id AND x.mapping IS NOT NULL ORDER BY x.id DESC LIMIT 1)) AS mapping, \
    COALESCE(o.person, (SELECT x.person FROM outcomes x \
    WHERE x.signal_id = o.signal_id AND x.person IS NOT NULL ORDER BY x.id DESC LIMIT 1)) AS person \
    FROM outcomes o";

impl Store {
    /// People whose e-mail, Marketo lead id, Salesforce Lead/Contact id or CampaignMember id is
    /// exactly `q`; a Salesforce id also matches in its 18-character form (what the APIs give).
    pub async fn search_people(&self, q: &str) -> Result<Vec<IdentityRow>, StoreError> {
        let q = q.trim();
        let lead: Option<i64> = q.parse().ok();
        // The APIs give 18-character ids, which is what the store holds.
        let sf_id =
            crate::ids::SalesforceId::parse(q).map_or_else(|_| q.to_string(), |id| id.long());
        // A CampaignMember id the mirror no longer holds (the member was removed) is found
        // through the signals that named it: the person their outcomes were for, or the one a
        // failed or waiting signal was found to be about.
        let member = if sf_id.len() == 18 && sf_id.starts_with("00v") {
            format!("%\"member_id\":\"{sf_id}\"%")
        } else {
            String::new()
        };
        let rows = sqlx::query(
            "SELECT id FROM identities WHERE email = $1 OR sf_lead_id IN ($2, $4) \
             OR sf_contact_id IN ($2, $4) OR mkto_lead_id = $3 OR CAST(id AS TEXT) IN \
             (SELECT person FROM mirror WHERE sf_member_id IN ($2, $4)) \
             OR ($5 <> '' AND CAST(id AS TEXT) IN (SELECT o.person FROM outcomes o \
               JOIN signals s ON s.id = o.signal_id WHERE s.payload LIKE $5 \
               UNION SELECT person FROM signals WHERE payload LIKE $5)) \
             ORDER BY id LIMIT 50",
        )
        .bind(fold_email(q))
        .bind(&sf_id)
        .bind(lead)
        .bind(q)
        .bind(member)
        .fetch_all(&self.pool)
        .await?;
        let mut people = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(person) = self.identity(r.try_get(0)?).await? {
                people.push(person);
            }
        }
        Ok(people)
    }

    /// Trigger events after `after_id`, oldest first, each naming its person as they were
    /// known when it was recorded, as its deliveries did (an event recorded before that was kept
    /// is named by the identity table).
    pub async fn trigger_events_named(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<NamedTriggerEvent>, StoreError> {
        Ok(sqlx::query_as::<_, NamedTriggerEvent>(
            "SELECT t.id, t.kind, t.mapping, t.person, t.campaign_id, t.program_id, t.old_status, \
             t.new_status, t.actor, t.occurred_at, \
             CASE WHEN t.named = 1 THEN t.email ELSE i.email END AS email, \
             CASE WHEN t.named = 1 THEN t.mkto_lead_id ELSE i.mkto_lead_id END AS mkto_lead_id, \
             CASE WHEN t.named = 1 THEN t.sf_lead_id ELSE i.sf_lead_id END AS sf_lead_id, \
             CASE WHEN t.named = 1 THEN t.sf_contact_id ELSE i.sf_contact_id END AS sf_contact_id \
             FROM trigger_events t \
             LEFT JOIN identities i ON t.person = CAST(i.id AS TEXT) \
             WHERE t.id > $1 ORDER BY t.id LIMIT $2",
        )
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn outcomes_named(&self, f: &OutcomeFilter) -> Result<Vec<NamedOutcome>, StoreError> {
        Ok(sqlx::query_as::<_, NamedOutcome>(sqlx::AssertSqlSafe(format!(
            "SELECT o.id, o.signal_id, o.mapping, o.person, o.connector, o.action, o.result, \
             o.reason, o.recorded_at, i.email, i.mkto_lead_id, i.sf_lead_id, i.sf_contact_id \
             FROM (SELECT o.id, o.signal_id, o.connector, o.action, o.result, o.reason, o.recorded_at, \
             {NAMED}) o LEFT JOIN identities i ON o.person = CAST(i.id AS TEXT) \
             WHERE o.id < $1 AND ($2 IS NULL OR o.person = $2) AND ($3 IS NULL OR i.email = $3) \
             AND ($4 IS NULL OR o.mapping = $4) AND ($5 IS NULL OR o.result = $5) \
             AND ($6 IS NULL OR o.recorded_at >= $6) AND ($7 IS NULL OR o.recorded_at < $7) \
             AND ($8 IS NULL OR (o.result = 'skipped' AND CASE WHEN {echo} THEN 'echo' \
             WHEN {overruled} THEN 'overruled' ELSE 'other' END = $8)) \
             AND ($12 = 0 OR NOT (o.result = 'skipped' AND {echo})) \
             ORDER BY o.id DESC LIMIT $13",
            // As `change_counts` tells an echo and an overruled change from another skip.
            echo = "COALESCE(o.reason, '') IN ($9, $10)",
            overruled = "COALESCE(o.reason, '') LIKE $11",
        )))
        .bind(f.before.unwrap_or(i64::MAX))
        .bind(&f.person)
        .bind(f.email.as_deref().map(fold_email))
        .bind(&f.mapping)
        .bind(&f.result)
        .bind(f.since)
        .bind(f.until)
        .bind(f.skip.map(SkipKind::as_str))
        .bind(crate::sync::ECHO)
        .bind(crate::sync::ECHO_BEFORE)
        .bind(format!("{}:%", crate::sync::OVERRULED))
        .bind(i64::from(f.without_echoes))
        .bind(i64::from(f.limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// One person's timeline, newest first in each list; `None` when there is no such person.
    pub async fn timeline(&self, id: i64, limit: u32) -> Result<Option<Timeline>, StoreError> {
        let Some(person) = self.identity(id).await? else {
            return Ok(None);
        };
        let key = id.to_string();
        let outcomes = self
            .outcomes_named(&OutcomeFilter {
                person: Some(key.clone()),
                limit,
                ..OutcomeFilter::default()
            })
            .await?;
        let deliveries = self.received_signals(&person, &key, limit).await?;
        let events = sqlx::query(
            "SELECT id FROM trigger_events WHERE person = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(&key)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut trigger_events = Vec::with_capacity(events.len());
        for r in &events {
            let id: i64 = r.try_get(0)?;
            trigger_events.extend(self.trigger_events(id - 1, 1).await?);
        }
        let rows = sqlx::query("SELECT mapping FROM mirror WHERE person = $1 ORDER BY mapping")
            .bind(&key)
            .fetch_all(&self.pool)
            .await?;
        let mut mirror = Vec::with_capacity(rows.len());
        for r in &rows {
            let mapping: String = r.try_get(0)?;
            mirror.extend(self.mirror(&mapping, &key).await?);
        }
        Ok(Some(Timeline {
            person,
            deliveries,
            outcomes,
            trigger_events,
            mirror,
        }))
    }

    /// Signals that led to this person's outcomes, or whose payload names their e-mail or ids,
    /// newest receipt first (a signal a later delivery revived counts from that delivery). A
    /// flow action's e-mail is not its person's word (its lead id is), so it finds no one.
    async fn received_signals(
        &self,
        person: &IdentityRow,
        key: &str,
        limit: u32,
    ) -> Result<Vec<ReceivedSignal>, StoreError> {
        let pattern =
            |field: &str, value: Option<String>| value.map(|v| format!("%\"{field}\":{v}%"));
        let quoted = |v: &Option<String>| v.as_ref().map(|v| format!("\"{v}\""));
        // An e-mail alone never joins two people: an address another person has too (a
        // duplicate lead) finds deliveries by the person's own ids only.
        let shared: i64 = match &person.email {
            Some(email) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM identities WHERE email = $1 AND id <> $2")
                    .bind(email)
                    .bind(person.id)
                    .fetch_one(&self.pool)
                    .await?
            }
            None => 0,
        };
        let email = quoted(&person.email).filter(|_| shared == 0);
        let rows = sqlx::query(
            "SELECT id, kind, state, payload, attempts, last_error, received_at FROM signals \
             WHERE id IN (SELECT signal_id FROM outcomes WHERE person = $1) \
             OR (kind <> 'marketo_flow_action' AND LOWER(payload) LIKE $2) \
             OR payload LIKE $3 OR payload LIKE $4 OR payload LIKE $5 \
             ORDER BY received_at DESC, id DESC LIMIT $6",
        )
        .bind(key)
        .bind(pattern("email", email).unwrap_or_default())
        .bind(pattern("lead_id", person.mkto_lead_id.map(|l| l.to_string())).unwrap_or_default())
        .bind(pattern("lead_id", quoted(&person.sf_lead_id)).unwrap_or_default())
        .bind(pattern("contact_id", quoted(&person.sf_contact_id)).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let payload: String = r.try_get("payload")?;
                let state: String = r.try_get("state")?;
                let attempts: i64 = r.try_get("attempts")?;
                let last_error: Option<String> = r.try_get("last_error")?;
                Ok(ReceivedSignal {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    state: operator_state(&state, attempts, last_error.as_deref()).into(),
                    payload: super::shown_payload(&payload),
                    attempts,
                    last_error,
                    received_at: r.try_get("received_at")?,
                })
            })
            .collect()
    }
}

/// A signal's state in the words the errors list uses: a pending one is `postponed` (waiting
/// without using an attempt), `retrying` (failed at least once) or `pending` (due, not tried
/// yet); a leased one is `in_progress`; `done`, `dead` and `rejected` as stored.
fn operator_state<'a>(state: &'a str, attempts: i64, last_error: Option<&str>) -> &'a str {
    match state {
        "pending" if super::journal::is_postponed(last_error) => "postponed",
        "pending" if attempts > 0 => "retrying",
        "leased" => "in_progress",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::operator_state;

    #[test]
    fn a_timeline_names_states_as_the_errors_list_does() {
        let postponed = format!(
            "{}: mapping webinar is switched off",
            super::super::journal::POSTPONED
        );
        let cases = [
            ("pending", 0, None, "pending"),
            ("pending", 2, Some("HTTP 503"), "retrying"),
            ("pending", 0, Some(postponed.as_str()), "postponed"),
            ("leased", 1, None, "in_progress"),
            ("done", 1, None, "done"),
            ("dead", 4, Some("gave up"), "dead"),
            ("rejected", 0, Some("no status"), "rejected"),
        ];
        for (state, attempts, error, shown) in cases {
            assert_eq!(
                operator_state(state, attempts, error),
                shown,
                "{state} {error:?}"
            );
        }
    }
}
