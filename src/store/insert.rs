//! Inserting signals: each is serialized once, by its caller, then written in multi-row
//! statements inside the caller's transaction, reporting which dedup keys were new.

use std::collections::HashMap;

use sqlx::{AnyConnection, Executor, Row};

use super::{Recorded, StoreError};
use crate::signal::{Dedup, NewSignal};

/// [`Dedup::Once`]: a stored key absorbs the new signal.
const ON_CONFLICT_KEEP: &str = "ON CONFLICT (dedup_key) DO NOTHING";

/// [`Dedup::WhilePending`]: a stored signal that already ran (or is running, or died) is made
/// due again with the new payload; one still waiting absorbs the new one.
const ON_CONFLICT_REVIVE: &str = "ON CONFLICT (dedup_key) DO UPDATE SET state = 'pending', \
    attempts = 0, payload = excluded.payload, next_attempt_at = excluded.next_attempt_at, \
    lease_owner = NULL, lease_expires_at = NULL, last_error = NULL, updated_at = excluded.updated_at \
    WHERE signals.state <> 'pending'";

/// Rows per multi-row INSERT (five parameters each, far below either database's limit).
const ROWS_PER_STATEMENT: usize = 200;

/// A signal with its payload already serialized: the JSON work happens in the receiving task,
/// in parallel, not in the single writer that every caller waits for.
#[derive(Debug, Clone)]
pub(super) struct Prepared {
    dedup_key: String,
    source: &'static str,
    kind: &'static str,
    payload: String,
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
struct Plan {
    /// `(indexes, revive)` per statement.
    statements: Vec<(Vec<usize>, bool)>,
    repeats: Vec<(usize, usize)>,
}

fn plan(signals: &[&Prepared]) -> Plan {
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
        for chunk in indexes.chunks(ROWS_PER_STATEMENT) {
            statements.push((chunk.to_vec(), revive));
        }
    }
    Plan {
        statements,
        repeats,
    }
}

/// Inserts each signal unless its dedup key is already stored, inside the caller's transaction.
/// Results keep the input order; the slices of several callers may be passed as one.
pub(super) async fn insert_signals(
    conn: &mut AnyConnection,
    signals: &[&Prepared],
    now: i64,
) -> Result<Vec<Recorded>, StoreError> {
    let plan = plan(signals);
    let mut written = HashMap::new();
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
            written.insert(row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?);
        }
    }
    resolve(conn, signals, &plan, &written).await
}

/// SQLite: BEGIN, every INSERT and COMMIT sent to the connection's thread as one batch, so a
/// group costs one hand-over between threads instead of one per statement (under CPU
/// contention each hand-over waits for a time slice). On failure the transaction is rolled back.
pub(super) async fn insert_and_commit_sqlite(
    conn: &mut AnyConnection,
    signals: &[&Prepared],
    now: i64,
) -> Result<Vec<Recorded>, StoreError> {
    let plan = plan(signals);
    let mut sql = String::from("BEGIN IMMEDIATE; ");
    for (chunk, revive) in &plan.statements {
        sql.push_str(&insert_sql(chunk.len(), *revive, Placeholders::Anonymous));
        sql.push_str("; ");
    }
    sql.push_str("COMMIT");
    // Only placeholders and fixed clauses vary; every value is bound, statement by statement.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (chunk, _) in &plan.statements {
        for &index in chunk {
            let new = signals[index];
            query = query
                .bind(new.dedup_key.as_str())
                .bind(new.source)
                .bind(new.kind)
                .bind(new.payload.as_str())
                .bind(now)
                .bind(now)
                .bind(now);
        }
    }
    let rows = match query.fetch_all(&mut *conn).await {
        Ok(rows) => rows,
        Err(error) => {
            // The batch may have stopped inside its transaction; "no transaction" is fine here.
            let _ = conn.execute("ROLLBACK").await;
            return Err(error.into());
        }
    };
    let mut written = HashMap::with_capacity(rows.len());
    for row in rows {
        written.insert(row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?);
    }
    resolve(conn, signals, &plan, &written).await
}

/// Results in input order: written keys are new, the others were absorbed by a stored signal
/// (looked up together) or repeat an earlier key of the call.
async fn resolve(
    conn: &mut AnyConnection,
    signals: &[&Prepared],
    plan: &Plan,
    written: &HashMap<String, i64>,
) -> Result<Vec<Recorded>, StoreError> {
    let mut recorded: Vec<Option<Recorded>> = vec![None; signals.len()];
    let mut absorbed = Vec::new();
    for &index in plan.statements.iter().flat_map(|(chunk, _)| chunk) {
        match written.get(&signals[index].dedup_key) {
            Some(&id) => {
                recorded[index] = Some(Recorded {
                    id,
                    duplicate: false,
                });
            }
            None => absorbed.push(index),
        }
    }
    for chunk in absorbed.chunks(ROWS_PER_STATEMENT) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|p| format!("${p}")).collect();
        let sql = format!(
            "SELECT id, dedup_key FROM signals WHERE dedup_key IN ({})",
            placeholders.join(", ")
        );
        let mut lookup = sqlx::query(sqlx::AssertSqlSafe(sql));
        for &index in chunk {
            lookup = lookup.bind(signals[index].dedup_key.as_str());
        }
        let mut stored = HashMap::with_capacity(chunk.len());
        for row in lookup.fetch_all(&mut *conn).await? {
            stored.insert(row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?);
        }
        for &index in chunk {
            let id = stored
                .get(&signals[index].dedup_key)
                .copied()
                .ok_or(sqlx::Error::RowNotFound)?;
            recorded[index] = Some(Recorded {
                id,
                duplicate: true,
            });
        }
    }
    for &(index, earlier) in &plan.repeats {
        let id = recorded[earlier].map_or(0, |r| r.id);
        recorded[index] = Some(Recorded {
            id,
            duplicate: true,
        });
    }
    Ok(recorded.into_iter().flatten().collect())
}

#[derive(Clone, Copy)]
enum Placeholders {
    /// `$1, $2, …`: both databases, one statement per query.
    Numbered,
    /// `?`: SQLite numbers these per statement, so many statements can share one query.
    Anonymous,
}

/// The INSERT for `rows` rows; `Numbered` binds five values a row (the time once), `Anonymous`
/// seven (the time three times).
fn insert_sql(rows: usize, revive: bool, placeholders: Placeholders) -> String {
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
