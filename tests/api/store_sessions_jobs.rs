//! The store's smaller shared state, on both backends: signed-out console sessions kept until
//! they expire, a closed SQLite store's file complete, requests for a queued job joining it, and
//! database errors without the server's source line.

use crate::store::stores;
use crate::store_runtime::{LEASE, T0, member};

#[tokio::test]
async fn signed_out_console_sessions_are_kept_until_they_expire() {
    for (db, store) in stores().await {
        assert!(
            !store.session_signed_out("s1").await.unwrap(),
            "{}",
            db.label
        );
        store.sign_out_session("s1", T0 + 10, T0).await.unwrap();
        store.sign_out_session("s1", T0 + 10, T0).await.unwrap();
        assert!(
            store.session_signed_out("s1").await.unwrap(),
            "{}",
            db.label
        );
        // The next sign-out after s1 would have expired forgets it.
        store
            .sign_out_session("s2", T0 + 50, T0 + 10)
            .await
            .unwrap();
        assert!(
            !store.session_signed_out("s1").await.unwrap(),
            "{}",
            db.label
        );
        assert!(
            store.session_signed_out("s2").await.unwrap(),
            "{}",
            db.label
        );
    }
}

/// A closed SQLite store leaves its data in the database file, the WAL emptied: a copy of the
/// file alone holds every signal.
#[tokio::test]
async fn closing_a_sqlite_store_leaves_everything_in_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("closed.db");
    let store = campaign_sync::store::Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.record(vec![member(1), member(2)], T0).await.unwrap();
    let wal = dir.path().join("closed.db-wal");
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "committed to the WAL"
    );
    store.close().await;
    assert_eq!(std::fs::metadata(&wal).map_or(0, |m| m.len()), 0);
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    let reopened = campaign_sync::store::Store::connect(&format!("sqlite://{}", copy.display()))
        .await
        .unwrap();
    let claimed = reopened.claim("test", 10, LEASE, T0).await.unwrap();
    assert_eq!(claimed.len(), 2);
}

/// Requests for the same kind of job while one is queued join it, even at the same instant; a
/// different kind (a preview) and a job already started are not joined; a reason is kept.
#[tokio::test]
async fn requests_for_a_queued_job_join_it() {
    for (db, store) in stores().await {
        let label = &db.label;
        let repair = serde_json::json!({ "dry_run": false });
        let asked = futures::future::join_all((0..8).map(|_| {
            let store = store.clone();
            let repair = repair.clone();
            async move {
                store
                    .queue_job_joining("reconcile", &repair, "dry_run", T0)
                    .await
                    .unwrap()
            }
        }))
        .await;
        let first = asked[0].0;
        assert!(
            asked.iter().all(|(id, _)| *id == first),
            "{label}: {asked:?}"
        );
        assert_eq!(
            asked.iter().filter(|(_, joined)| !joined).count(),
            1,
            "{label}: one queued, the rest joined: {asked:?}"
        );
        let preview = serde_json::json!({ "dry_run": true });
        let (other, joined) = store
            .queue_job_joining("reconcile", &preview, "dry_run", T0)
            .await
            .unwrap();
        assert!(other != first && !joined, "{label}");
        let why = serde_json::json!({ "dry_run": false, "reason": "deletions out of reach" });
        let (same, joined) = store
            .queue_job_joining("reconcile", &why, "dry_run", T0)
            .await
            .unwrap();
        assert!(same == first && joined, "{label}");
        let job = store.job(first).await.unwrap().unwrap();
        assert_eq!(job.params["reason"], "deletions out of reach", "{label}");
        // Once started it is not joined: a new request asks for a pass after it.
        store.start_next_job("w", T0 + 1).await.unwrap().unwrap();
        let (after, joined) = store
            .queue_job_joining("reconcile", &repair, "dry_run", T0 + 2)
            .await
            .unwrap();
        assert!(after != first && !joined, "{label}");
    }
}

/// A database error reads as the database's message, without the line of PostgreSQL's own
/// source code sqlx appends ("… at line 350"), which an operator would look for in vain.
#[tokio::test]
async fn a_database_error_carries_no_server_source_line() {
    for (db, store) in stores().await {
        let error = store
            .execute_raw("SELECT * FROM no_such_table_here")
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("no_such_table_here"), "{}: {error}", db.url);
        assert!(!error.contains(" at line "), "{}: {error}", db.url);
    }
}
