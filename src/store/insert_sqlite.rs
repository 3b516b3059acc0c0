//! SQLite's group commit as one call to the connection's thread: every INSERT of a group, and
//! the transaction around them when there is more than one, sent as a single batch on the
//! native driver.
//!
//! A group that fits one statement (the usual burst: every webhook with the same conflict rule)
//! runs in autocommit. That is as durable (the statement commits, with `synchronous=FULL`'s
//! sync, before it reports done) and spares SQLite the statement journal a multi-row INSERT
//! needs inside an explicit transaction, which copied every page the statement touched.

use std::collections::HashMap;

use sqlx::sqlite::SqliteConnection;
use sqlx::{Executor, Row};

use super::inbox::rejected_payload;
use super::insert::{Placeholders, Prepared, insert_sql, lookup_sql, plan};
use super::{Recorded, StoreError};
use crate::signal::RejectedInput;

/// Rows per INSERT: seven parameters each, far below SQLite's 32,766, so a group of 512
/// requests is one statement. Each distinct row count is one cached prepared statement.
const ROWS_PER_STATEMENT: usize = 1024;

/// Inserts a group's signals and refused inputs and commits: durable when it returns. On
/// failure nothing of the group is stored.
pub(super) async fn commit(
    conn: &mut SqliteConnection,
    signals: &[&Prepared],
    rejected: &[&RejectedInput],
    now: i64,
) -> Result<Vec<Recorded>, StoreError> {
    let plan = plan(signals, ROWS_PER_STATEMENT);
    let rejected_chunks = rejected.chunks(ROWS_PER_STATEMENT);
    let statements = plan.statements.len() + rejected_chunks.len();
    if statements == 0 {
        return Ok(Vec::new());
    }
    let transaction = statements > 1;
    let mut sql = String::new();
    if transaction {
        sql.push_str("BEGIN IMMEDIATE; ");
    }
    for (chunk, revive) in &plan.statements {
        sql.push_str(&insert_sql(chunk.len(), *revive, Placeholders::Anonymous));
        sql.push_str("; ");
    }
    for chunk in rejected_chunks.clone() {
        sql.push_str(&rejected_sql(chunk.len()));
        sql.push_str("; ");
    }
    if transaction {
        sql.push_str("COMMIT");
    }
    // Only placeholders and fixed clauses vary; every value is bound, statement by statement.
    let payloads: Vec<String> = rejected
        .iter()
        .map(|input| rejected_payload(input))
        .collect();
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
    for (input, payload) in rejected.iter().zip(&payloads) {
        query = query
            .bind(input.dedup_key.as_str())
            .bind(input.source)
            .bind(input.kind)
            .bind(payload.as_str())
            .bind(now)
            .bind(input.reason.as_str())
            .bind(now)
            .bind(now);
    }
    let rows = match query.fetch_all(&mut *conn).await {
        Ok(rows) => rows,
        Err(error) => {
            // A batch may stop inside its transaction; a lone statement rolled itself back.
            if transaction {
                let _ = conn.execute("ROLLBACK").await;
            }
            return Err(error.into());
        }
    };
    let mut recorded = plan.partial(signals.len());
    for row in &rows {
        plan.written(&mut recorded, row.try_get::<&str, _>(1)?, row.try_get(0)?);
    }
    let mut stored = HashMap::new();
    for chunk in plan.absorbed(&recorded).chunks(ROWS_PER_STATEMENT) {
        let mut lookup = sqlx::query(sqlx::AssertSqlSafe(lookup_sql(chunk.len())));
        for &index in chunk {
            lookup = lookup.bind(signals[index].dedup_key.as_str());
        }
        for row in lookup.fetch_all(&mut *conn).await? {
            stored.insert(row.try_get(1)?, row.try_get(0)?);
        }
    }
    plan.finish(recorded, signals, &stored)
}

/// Refused inputs as `rejected` rows (eight values a row); a key already stored is kept once.
fn rejected_sql(rows: usize) -> String {
    let values = vec!["(?, ?, ?, ?, 'rejected', 0, ?, ?, ?, ?)"; rows];
    format!(
        "INSERT INTO signals (dedup_key, source, kind, payload, state, attempts, \
         next_attempt_at, last_error, received_at, updated_at) VALUES {} \
         ON CONFLICT (dedup_key) DO NOTHING",
        values.join(", ")
    )
}
