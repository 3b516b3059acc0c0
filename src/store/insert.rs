//! Inserting signals: each is serialized once, by its caller, then written in multi-row
//! statements inside the caller's transaction, reporting which dedup keys were new.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};

use super::{Recorded, StoreError};
use crate::signal::{Dedup, NewSignal};

/// [`Dedup::Once`]: a stored key absorbs the new signal.
const ON_CONFLICT_KEEP: &str = "ON CONFLICT (dedup_key) DO NOTHING";

/// [`Dedup::WhilePending`]: a stored signal that already ran (or died) is made due again with
/// the new payload; one still waiting absorbs the new one. One a worker holds keeps its lease
/// and is marked `redo`: the worker's end then makes it due again (taking the lease would make
/// the worker's whole round look taken over, and throw its records away). A revived signal is
/// the new delivery: it is received now, so the backlog's oldest age is not the first one's.
const ON_CONFLICT_REVIVE: &str = "ON CONFLICT (dedup_key) DO UPDATE SET \
    redo = CASE WHEN signals.state = 'leased' THEN 1 ELSE 0 END, \
    state = CASE WHEN signals.state = 'leased' THEN 'leased' ELSE 'pending' END, \
    attempts = CASE WHEN signals.state = 'leased' THEN signals.attempts ELSE 0 END, \
    payload = excluded.payload, next_attempt_at = excluded.next_attempt_at, \
    received_at = excluded.received_at, \
    lease_owner = CASE WHEN signals.state = 'leased' THEN signals.lease_owner END, \
    lease_expires_at = CASE WHEN signals.state = 'leased' THEN signals.lease_expires_at END, \
    last_error = CASE WHEN signals.state = 'leased' THEN signals.last_error END, \
    updated_at = excluded.updated_at \
    WHERE signals.state <> 'pending'";

/// Rows per multi-row INSERT through `Any` (five parameters each, far below either database's
/// limit).
const ROWS_PER_STATEMENT: usize = 200;

/// A signal with its payload already serialized: the JSON work happens in the receiving task,
/// in parallel, not in the single writer that every caller waits for.
#[derive(Debug, Clone)]
pub(super) struct Prepared {
    pub(super) dedup_key: String,
    pub(super) source: &'static str,
    pub(super) kind: &'static str,
    pub(super) payload: String,
    dedup: Dedup,
}

impl Prepared {
    pub(super) fn new(new: NewSignal) -> Result<Prepared, StoreError> {
        Ok(Prepared {
            payload: serde_json::to_string(&new.signal)?,
            source: new.signal.source(),
            kind: new.signal.kind(),
            dedup_key: new.dedup_key,
            dedup: new.dedup,
        })
    }

    pub(super) fn all(signals: Vec<NewSignal>) -> Result<Vec<Prepared>, StoreError> {
        signals.into_iter().map(Prepared::new).collect()
    }
}

/// Which statements a call needs: distinct keys split by conflict rule and into chunks, and the
/// keys repeated within the call (a repeat is a duplicate of its first occurrence; each statement
/// then touches a row at most once, as PostgreSQL requires of ON CONFLICT DO UPDATE).
pub(super) struct Plan<'a> {
    /// `(indexes, revive)` per statement.
    pub(super) statements: Vec<(Vec<usize>, bool)>,
    repeats: Vec<(usize, usize)>,
    /// Each distinct key's first index, to place the rows an INSERT returns.
    first: HashMap<&'a str, usize>,
}

pub(super) fn plan<'a>(signals: &[&'a Prepared], rows_per_statement: usize) -> Plan<'a> {
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(signals.len());
    let mut repeats = Vec::new();
    let (mut once, mut reviving) = (Vec::new(), Vec::new());
    for (index, new) in signals.iter().enumerate() {
        match first.get(new.dedup_key.as_str()) {
            Some(&earlier) => repeats.push((index, earlier)),
            None => {
                first.insert(&new.dedup_key, index);
                match new.dedup {
                    Dedup::Once => once.push(index),
                    Dedup::WhilePending => reviving.push(index),
                }
            }
        }
    }
    let mut statements = Vec::new();
    for (indexes, revive) in [(once, false), (reviving, true)] {
        for chunk in indexes.chunks(rows_per_statement) {
            statements.push((chunk.to_vec(), revive));
        }
    }
    Plan {
        statements,
        repeats,
        first,
    }
}

/// Each signal's result while the statements report; `None` until known.
pub(super) type Partial = Vec<Option<Recorded>>;

impl Plan<'_> {
    pub(super) fn partial(&self, signals: usize) -> Partial {
        vec![None; signals]
    }

    /// A row an INSERT returned: its key was new, or a finished signal was revived.
    pub(super) fn written(&self, recorded: &mut Partial, key: &str, id: i64) {
        if let Some(&index) = self.first.get(key) {
            recorded[index] = Some(Recorded {
                id,
                duplicate: false,
            });
        }
    }

    /// The signals no INSERT returned: a stored signal absorbed them, to be looked up by key.
    pub(super) fn absorbed(&self, recorded: &Partial) -> Vec<usize> {
        self.statements
            .iter()
            .flat_map(|(chunk, _)| chunk)
            .copied()
            .filter(|&index| recorded[index].is_none())
            .collect()
    }

    /// The absorbed signals whose key the lookup did not find: the stored row that absorbed
    /// each was deleted between the INSERT and the lookup (the purge of old done signals, on
    /// another connection). Written again, each is stored as new rather than left unanswered.
    pub(super) fn vanished(
        &self,
        recorded: &Partial,
        signals: &[&Prepared],
        stored: &HashMap<String, i64>,
    ) -> Vec<usize> {
        self.absorbed(recorded)
            .into_iter()
            .filter(|&index| !stored.contains_key(&signals[index].dedup_key))
            .collect()
    }

    /// Results in input order, once the absorbed keys' stored ids are known; a repeat of a key
    /// within the call is a duplicate of its first occurrence. `None` where an absorbed key is
    /// missing from `stored` (its lookup failed, or the stored row went meanwhile).
    pub(super) fn finish(
        &self,
        mut recorded: Partial,
        signals: &[&Prepared],
        stored: &HashMap<String, i64>,
    ) -> Partial {
        for index in self.absorbed(&recorded) {
            recorded[index] = stored.get(&signals[index].dedup_key).map(|&id| Recorded {
                id,
                duplicate: true,
            });
        }
        for &(index, earlier) in &self.repeats {
            recorded[index] = recorded[earlier].map(|first| Recorded {
                id: first.id,
                duplicate: true,
            });
        }
        recorded
    }
}

/// Notes the results of the [`Plan::vanished`] signals written again (in the same order).
pub(super) fn place(recorded: &mut Partial, vanished: &[usize], results: Vec<Recorded>) {
    for (&index, result) in vanished.iter().zip(results) {
        recorded[index] = Some(result);
    }
}

/// The signals at `indexes`, to be written again.
pub(super) fn pick<'a>(signals: &[&'a Prepared], indexes: &[usize]) -> Vec<&'a Prepared> {
    indexes.iter().map(|&index| signals[index]).collect()
}

/// Every signal's result, or an error when one could not be read back.
pub(super) fn complete(recorded: Partial) -> Result<Vec<Recorded>, StoreError> {
    recorded
        .into_iter()
        .map(|result| result.ok_or(StoreError::DuplicateUnread))
        .collect()
}

/// Which statements [`insert_rows`] will run for `signals` through `Any`.
pub(super) fn plan_any<'a>(signals: &[&'a Prepared]) -> Plan<'a> {
    plan(signals, ROWS_PER_STATEMENT)
}

/// Inserts each signal unless its dedup key is already stored, inside the caller's transaction.
/// Results keep the input order; the slices of several callers may be passed as one.
pub(super) async fn insert_signals(
    conn: &mut AnyConnection,
    signals: &[&Prepared],
    now: i64,
) -> Result<Vec<Recorded>, StoreError> {
    let plan = plan_any(signals);
    let mut recorded = insert_rows(conn, &plan, signals, now).await?;
    let stored = look_up_absorbed(conn, &plan, signals, &recorded).await?;
    let vanished = plan.vanished(&recorded, signals, &stored);
    if !vanished.is_empty() {
        let again = pick(signals, &vanished);
        place(
            &mut recorded,
            &vanished,
            insert_once(conn, &again, now).await?,
        );
    }
    complete(plan.finish(recorded, signals, &stored))
}

/// [`insert_signals`] without writing vanished signals again: for those written again, which
/// are stored as new and pending (never purged), so a second vanishing needs a concurrent
/// writer of the same key and its purge in between.
async fn insert_once(
    conn: &mut AnyConnection,
    signals: &[&Prepared],
    now: i64,
) -> Result<Vec<Recorded>, StoreError> {
    let plan = plan_any(signals);
    let recorded = insert_rows(conn, &plan, signals, now).await?;
    let stored = look_up_absorbed(conn, &plan, signals, &recorded).await?;
    complete(plan.finish(recorded, signals, &stored))
}

/// Runs a plan's INSERTs, noting each row they return. A plan of one statement may run on a
/// bare connection, where the INSERT is its own transaction.
pub(super) async fn insert_rows(
    conn: &mut AnyConnection,
    plan: &Plan<'_>,
    signals: &[&Prepared],
    now: i64,
) -> Result<Partial, StoreError> {
    let mut recorded = plan.partial(signals.len());
    for (chunk, revive) in &plan.statements {
        let sql = insert_sql(chunk.len(), *revive, Placeholders::Numbered);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for &index in chunk {
            let new = signals[index];
            query = query
                .bind(new.dedup_key.as_str())
                .bind(new.source)
                .bind(new.kind)
                .bind(new.payload.as_str())
                .bind(now);
        }
        for row in query.fetch_all(&mut *conn).await? {
            plan.written(&mut recorded, row.try_get::<&str, _>(1)?, row.try_get(0)?);
        }
    }
    Ok(recorded)
}

/// The stored ids of the keys no INSERT returned (none in a burst of new changes).
pub(super) async fn look_up_absorbed(
    conn: &mut AnyConnection,
    plan: &Plan<'_>,
    signals: &[&Prepared],
    recorded: &Partial,
) -> Result<HashMap<String, i64>, StoreError> {
    let mut stored = HashMap::new();
    for chunk in plan.absorbed(recorded).chunks(ROWS_PER_STATEMENT) {
        let mut lookup = sqlx::query(sqlx::AssertSqlSafe(lookup_sql(chunk.len())));
        for &index in chunk {
            lookup = lookup.bind(signals[index].dedup_key.as_str());
        }
        for row in lookup.fetch_all(&mut *conn).await? {
            stored.insert(row.try_get(1)?, row.try_get(0)?);
        }
    }
    Ok(stored)
}

/// Ids of stored signals by key, for `keys` keys bound as `$1…`.
pub(super) fn lookup_sql(keys: usize) -> String {
    let placeholders: Vec<String> = (1..=keys).map(|p| format!("${p}")).collect();
    format!(
        "SELECT id, dedup_key FROM signals WHERE dedup_key IN ({})",
        placeholders.join(", ")
    )
}

#[derive(Clone, Copy)]
pub(super) enum Placeholders {
    /// `$1, $2, …`: both databases, one statement per query.
    Numbered,
    /// `?`: SQLite numbers these per statement, so many statements can share one query.
    Anonymous,
}

/// The INSERT for `rows` rows; `Numbered` binds five values a row (the time once), `Anonymous`
/// seven (the time three times).
pub(super) fn insert_sql(rows: usize, revive: bool, placeholders: Placeholders) -> String {
    let values: Vec<String> = (0..rows)
        .map(|i| match placeholders {
            Placeholders::Anonymous => "(?, ?, ?, ?, 'pending', 0, ?, ?, ?)".to_string(),
            Placeholders::Numbered => {
                let p = 5 * i;
                format!(
                    "(${}, ${}, ${}, ${}, 'pending', 0, ${}, ${}, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 5,
                    p + 5
                )
            }
        })
        .collect();
    let on_conflict = if revive {
        ON_CONFLICT_REVIVE
    } else {
        ON_CONFLICT_KEEP
    };
    format!(
        "INSERT INTO signals (dedup_key, source, kind, payload, state, attempts, \
         next_attempt_at, received_at, updated_at) VALUES {} {on_conflict} RETURNING id, dedup_key",
        values.join(", ")
    )
}
