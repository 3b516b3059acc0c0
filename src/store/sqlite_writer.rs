//! SQLite's group-commit writer: one OS thread owning one connection (rusqlite, on the same
//! SQLite library as sqlx), which gathers the queued requests, inserts them in one statement,
//! commits, and answers each caller itself. Nothing sits between a caller and the database but
//! the queue: no async task, and no row handed from a connection thread to async code.
//!
//! A group that fits one statement (the usual burst: every webhook with the same conflict rule)
//! runs in autocommit. That is as durable (with `synchronous=FULL` the statement's commit syncs
//! the WAL before it reports done) and spares SQLite the statement journal a multi-row INSERT
//! needs inside an explicit transaction.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Instant;

use rusqlite::{Connection, OpenFlags, Statement, ToSql};

use super::group_commit::{
    Job, LINGER, MAX_REQUESTS_PER_COMMIT, Rows, per_caller, place_rewritten, record_timing,
    vanished_rows,
};
use super::inbox::rejected_payload;
use super::insert::{
    Partial, Placeholders, Plan, Prepared, complete, insert_sql, lookup_sql, plan,
};
use super::{Recorded, StoreError};
use crate::signal::RejectedInput;

/// Rows per INSERT: seven parameters each, far below SQLite's 32,766, so a whole group is one
/// statement. Each distinct row count is its own prepared statement.
const ROWS_PER_STATEMENT: usize = 1024;
/// Prepared statements kept, least recently used dropped first: the group sizes a burst keeps
/// producing stay prepared, while a statement for hundreds of rows (a few hundred KiB) does
/// not linger once groups are small again.
const STATEMENT_CACHE: usize = 100;

/// Opens the writer's connection with `setup` (the pragmas every connection gets) and starts
/// its thread, which ends once every sender of `queue` is gone.
pub(super) fn spawn(
    path: &Path,
    setup: &'static str,
    queue: Receiver<Job>,
) -> Result<(), StoreError> {
    let conn = open(path, setup)?;
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("sqlite-writer".into())
        .spawn(move || run(conn, &path, setup, &queue))
        .map_err(StoreError::WriterStart)?;
    Ok(())
}

fn open(path: &Path, setup: &str) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.execute_batch(setup)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

fn run(mut conn: Connection, path: &Path, setup: &str, queue: &Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_REQUESTS_PER_COMMIT);
    let mut expected = 0;
    while gather(queue, &mut batch, expected) {
        let answered = batch.len();
        let results = write_group(&mut conn, path, setup, &batch);
        for (job, result) in batch.drain(..).zip(results) {
            let _ = job.reply.send(result);
        }
        // The callers just answered (at most a group) are likely to send again.
        expected = answered;
    }
}

/// Waits for the first request, takes every one already queued, then lingers briefly while
/// fewer have arrived than are `expected`: a caller answered a moment ago is usually on its way
/// back, and one group of all of them costs one sync instead of two. Never longer than
/// [`LINGER`]; a lone caller (expected 1) never waits. False once the queue is closed and empty.
fn gather(queue: &Receiver<Job>, batch: &mut Vec<Job>, expected: usize) -> bool {
    match queue.recv() {
        Ok(job) => batch.push(job),
        Err(_) => return false,
    }
    while batch.len() < MAX_REQUESTS_PER_COMMIT {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
        }
    }
    let deadline = Instant::now() + LINGER;
    while batch.len() < expected.min(MAX_REQUESTS_PER_COMMIT) {
        let left = deadline.saturating_duration_since(Instant::now());
        match queue.recv_timeout(left) {
            Ok(job) => batch.push(job),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        }
    }
    true
}

/// After a failed group: a transaction it left open is rolled back, and a connection that no
/// longer answers is opened again.
fn heal(conn: &mut Connection, path: &Path, setup: &str) {
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    if conn.query_row("SELECT 1", [], |_| Ok(())).is_ok() {
        return;
    }
    match open(path, setup) {
        Ok(fresh) => *conn = fresh,
        Err(error) => tracing::warn!(%error, "group-commit writer could not reconnect"),
    }
}

/// Commits a group and answers each of its callers. When the commit fails, nothing of the
/// group is stored and each request is committed on its own, so one bad request does not fail
/// its neighbours. Once it has succeeded, the group is durable and is never written again: a
/// failed lookup of the stored signals some of it duplicates is retried on a healed connection,
/// and only the callers whose duplicates still cannot be read back get an error. Writing them
/// again would report the group's new signals as duplicates of themselves.
fn write_group(
    conn: &mut Connection,
    path: &Path,
    setup: &str,
    batch: &[Job],
) -> Vec<Result<Vec<Recorded>, StoreError>> {
    let rows = Rows::of(batch);
    let plan = plan(&rows.signals, ROWS_PER_STATEMENT);
    let started = Instant::now();
    let mut recorded = match store(conn, &plan, &rows) {
        Ok(recorded) => recorded,
        Err(error) => {
            tracing::warn!(%error, requests = batch.len(), "group commit failed; committing requests one by one");
            heal(conn, path, setup);
            return batch
                .iter()
                .map(|job| commit(conn, &Rows::of(std::slice::from_ref(job))))
                .collect();
        }
    };
    record_timing(started, batch.len());
    let stored = look_up_absorbed(conn, &plan, &rows.signals, &recorded).or_else(|error| {
        tracing::warn!(%error, "reading back the stored signals a committed group duplicates failed; trying again");
        heal(conn, path, setup);
        look_up_absorbed(conn, &plan, &rows.signals, &recorded)
    });
    let stored = match stored {
        Ok(stored) => {
            // The purge of done signals runs on another connection.
            if let Some((vanished, again)) = vanished_rows(&plan, &rows, &recorded, &stored) {
                place_rewritten(&mut recorded, &vanished, commit(conn, &again));
            }
            stored
        }
        Err(error) => {
            tracing::warn!(%error, "reading back the stored signals a committed group duplicates failed again");
            HashMap::new()
        }
    };
    per_caller(batch, plan.finish(recorded, &rows.signals, &stored))
}

/// One request's commit and lookup, for the fallback: durable when it returns.
fn commit(conn: &mut Connection, rows: &Rows<'_>) -> Result<Vec<Recorded>, StoreError> {
    let plan = plan(&rows.signals, ROWS_PER_STATEMENT);
    let recorded = store(conn, &plan, rows)?;
    let stored = look_up_absorbed(conn, &plan, &rows.signals, &recorded)?;
    complete(plan.finish(recorded, &rows.signals, &stored))
}

/// Inserts a group's signals and refused inputs and commits: durable when it returns, each
/// signal's id noted unless a stored one absorbed it. On failure nothing of the group is stored.
fn store(conn: &mut Connection, plan: &Plan<'_>, rows: &Rows<'_>) -> Result<Partial, StoreError> {
    let (signals, rejected, now) = (rows.signals.as_slice(), rows.rejected.as_slice(), rows.now);
    let statements = plan.statements.len() + rejected.len().div_ceil(ROWS_PER_STATEMENT);
    let transaction = statements > 1;
    if transaction {
        conn.execute_batch("BEGIN IMMEDIATE")?;
    }
    let inserted = insert(conn, plan, signals, rejected, now).and_then(|recorded| {
        if transaction {
            conn.execute_batch("COMMIT")?;
        }
        Ok(recorded)
    });
    if inserted.is_err() && !conn.is_autocommit() {
        // A lone statement rolled itself back; a transaction is ended here.
        let _ = conn.execute_batch("ROLLBACK");
    }
    inserted
}

/// The stored ids of the keys no INSERT returned (none in a burst of new changes), read after
/// the commit.
fn look_up_absorbed(
    conn: &Connection,
    plan: &Plan<'_>,
    signals: &[&Prepared],
    recorded: &Partial,
) -> Result<HashMap<String, i64>, StoreError> {
    let mut stored = HashMap::new();
    for chunk in plan.absorbed(recorded).chunks(ROWS_PER_STATEMENT) {
        let mut lookup = conn.prepare_cached(&lookup_sql(chunk.len()))?;
        for (i, &index) in chunk.iter().enumerate() {
            lookup.raw_bind_parameter(i + 1, signals[index].dedup_key.as_str())?;
        }
        let mut rows = lookup.raw_query();
        while let Some(row) = rows.next()? {
            stored.insert(row.get(1)?, row.get(0)?);
        }
    }
    Ok(stored)
}

/// Every INSERT of a group, each signal's result filled in from the rows they return.
fn insert(
    conn: &Connection,
    plan: &Plan<'_>,
    signals: &[&Prepared],
    rejected: &[&RejectedInput],
    now: i64,
) -> Result<Partial, StoreError> {
    let mut recorded = plan.partial(signals.len());
    for (chunk, revive) in &plan.statements {
        let sql = insert_sql(chunk.len(), *revive, Placeholders::Anonymous);
        let mut insert = conn.prepare_cached(&sql)?;
        let mut position = 0;
        for &index in chunk {
            let new = signals[index];
            let values: [&dyn ToSql; 7] = [
                &new.dedup_key,
                &new.source,
                &new.kind,
                &new.payload,
                &now,
                &now,
                &now,
            ];
            position = bind_row(&mut insert, position, &values)?;
        }
        let mut rows = insert.raw_query();
        while let Some(row) = rows.next()? {
            let key: String = row.get(1)?;
            plan.written(&mut recorded, &key, row.get(0)?);
        }
    }
    for chunk in rejected.chunks(ROWS_PER_STATEMENT) {
        let mut insert = conn.prepare_cached(&rejected_sql(chunk.len()))?;
        let mut position = 0;
        for input in chunk {
            let payload = rejected_payload(input);
            let values: [&dyn ToSql; 8] = [
                &input.dedup_key,
                &input.source,
                &input.kind,
                &payload,
                &now,
                &input.reason,
                &now,
                &now,
            ];
            position = bind_row(&mut insert, position, &values)?;
        }
        insert.raw_execute()?;
    }
    Ok(recorded)
}

/// Binds one row's values after `position` (parameters are numbered from 1); returns the last.
fn bind_row(
    statement: &mut Statement<'_>,
    position: usize,
    values: &[&dyn ToSql],
) -> Result<usize, StoreError> {
    for (offset, value) in values.iter().enumerate() {
        statement.raw_bind_parameter(position + offset + 1, *value)?;
    }
    Ok(position + values.len())
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

#[cfg(test)]
#[path = "sqlite_writer_tests.rs"]
mod tests;
