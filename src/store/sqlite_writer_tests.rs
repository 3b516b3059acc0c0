//! The SQLite writer's tests: how it gathers a group, and what it answers when reading back a
//! committed group's duplicates fails.

use std::time::Duration;

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

use super::super::Store;
use super::super::connect::SQLITE_PRAGMAS;
use super::super::group_commit::requests::{carrying, job, new_and_duplicate};
use super::*;

#[test]
fn a_writer_lingers_only_for_expected_callers() {
    let (jobs, queue) = std::sync::mpsc::channel();
    let mut batch = Vec::new();

    // Nothing more expected: the group is what was queued, without waiting.
    jobs.send(job()).unwrap();
    jobs.send(job()).unwrap();
    assert!(gather(&queue, &mut batch, 1));
    assert_eq!(batch.len(), 2);

    // Three expected, one more sent meanwhile (taken when it arrives within the linger),
    // and the third's absence ends the wait at the linger bound.
    batch.clear();
    jobs.send(job()).unwrap();
    let late = jobs.clone();
    let sender = std::thread::spawn(move || late.send(job()).unwrap());
    let started = Instant::now();
    assert!(gather(&queue, &mut batch, 3));
    sender.join().unwrap();
    assert!((1..=2).contains(&batch.len()));
    assert!(started.elapsed() >= LINGER);

    // A closed, empty queue ends the writer.
    batch.clear();
    while queue.try_recv().is_ok() {}
    drop(jobs);
    assert!(!gather(&queue, &mut batch, 5));
}

#[test]
fn linger_is_bounded_when_callers_do_not_come_back() {
    let (jobs, queue) = std::sync::mpsc::channel();
    let mut batch = Vec::new();
    jobs.send(job()).unwrap();
    let started = Instant::now();
    assert!(gather(&queue, &mut batch, 64));
    assert_eq!(batch.len(), 1);
    assert!(started.elapsed() >= LINGER);
    assert!(started.elapsed() < LINGER + Duration::from_secs(1));
}

#[tokio::test]
async fn a_committed_group_is_not_written_again_when_reading_back_its_duplicates_fails() {
    let dir = std::env::temp_dir().join(format!("writer-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("campaign-sync.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.close().await;
    let mut conn = open(&path, SQLITE_PRAGMAS).unwrap();
    let seeded = write_group(
        &mut conn,
        &path,
        SQLITE_PRAGMAS,
        &[carrying("lookup:stored")],
    );
    let stored_id = seeded[0].as_ref().unwrap()[0].id;
    let new_and_duplicate_group = |conn: &mut Connection| {
        write_group(
            conn,
            &path,
            SQLITE_PRAGMAS,
            &new_and_duplicate("lookup:stored"),
        )
    };

    // The lookup after the commit fails once; so does the healing probe, so the connection
    // is opened again (without the hook) and the second lookup succeeds.
    conn.authorizer(Some(|context: AuthContext<'_>| match context.action {
        AuthAction::Select => Authorization::Deny,
        _ => Authorization::Allow,
    }))
    .unwrap();
    let answers = new_and_duplicate_group(&mut conn);
    let new = &answers[0].as_ref().expect("the new signal's answer")[0];
    assert!(!new.duplicate, "a new signal was reported as a duplicate");
    let duplicate = &answers[1].as_ref().expect("the duplicate's answer")[0];
    assert!(duplicate.duplicate);
    assert_eq!(duplicate.id, stored_id);

    // Reading `signals` in a SELECT keeps failing on a connection that still answers (the
    // INSERT's own RETURNING is let through): the new signal is still answered as new, and
    // only the duplicate's caller gets an error.
    let mut in_select = false;
    conn.authorizer(Some(move |context: AuthContext<'_>| {
        match context.action {
            AuthAction::Select => in_select = true,
            AuthAction::Insert { .. } => in_select = false,
            AuthAction::Read {
                table_name: "signals",
                ..
            } if in_select => {
                return Authorization::Deny;
            }
            _ => {}
        }
        Authorization::Allow
    }))
    .unwrap();
    let answers = new_and_duplicate_group(&mut conn);
    assert!(!answers[0].as_ref().expect("the new signal's answer")[0].duplicate);
    assert!(matches!(answers[1], Err(StoreError::DuplicateUnread)));

    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}
