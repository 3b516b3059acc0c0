//! Who leads the worker (one replica at a time; a dead leader replaced; SQLite always), and how
//! a signal lives on once stored: revived when its change comes again, kept through a round
//! that revived it, purged after its retention unless dead. SQLite and, when its URL is set,
//! PostgreSQL.

use campaign_sync::signal::{NewSignal, Signal};
use campaign_sync::store::Store;

use crate::store::{LEASE, T0, member, stores};
use crate::test_app::TestDb;

#[tokio::test]
async fn one_worker_leads_at_a_time_and_a_dead_leader_is_replaced() {
    let Some(db) = TestDb::postgres().await else {
        return; // SQLite is one process: it always leads (checked below).
    };
    let first = db.store().await;
    let second = Store::connect(&db.url).await.unwrap();
    assert_eq!(
        first.worker_leader().await.unwrap(),
        None,
        "nobody leads yet"
    );
    let mut lock = first
        .try_lead("test-first")
        .await
        .unwrap()
        .expect("the first replica leads");
    assert!(lock.is_held().await);
    // Every replica can say who leads: the lock's session names its holder and replica.
    let leader = second.worker_leader().await.unwrap().expect("a leader");
    assert_eq!(leader, campaign_sync::store::holder_name("test-first"));
    assert!(leader.starts_with("test-first "), "{leader}");
    assert!(
        second.try_lead("test").await.unwrap().is_none(),
        "only one leader"
    );
    // A follower tries again on the connection it kept, not a new one each time.
    let tag = format!("follower_{}", uuid::Uuid::new_v4().simple());
    let follower = Store::connect(&db.url).await.unwrap();
    let trying = || async {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
            .await
            .unwrap();
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1 \
             AND query LIKE 'SELECT set_config(%pg_try_advisory_lock%'",
        )
        .bind(format!("campaign-sync {tag} %"))
        .fetch_all(&mut conn)
        .await
        .unwrap();
        pids
    };
    assert!(follower.try_lead(&tag).await.unwrap().is_none());
    let kept = trying().await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    for _ in 0..3 {
        assert!(follower.try_lead(&tag).await.unwrap().is_none());
    }
    assert_eq!(trying().await, kept, "the same connection each try");
    drop(lock);
    // The lock's connection closes with the guard; PostgreSQL then frees the lock.
    let mut taken = None;
    for _ in 0..50 {
        taken = second.try_lead("test").await.unwrap();
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(taken.is_some(), "the second replica takes over");
    let leader = first.worker_leader().await.unwrap().expect("a leader");
    assert!(leader.starts_with("test "), "{leader}");
}

#[tokio::test]
async fn sqlite_always_leads() {
    let store = TestDb::sqlite().store().await;
    assert!(store.try_lead("test").await.unwrap().is_some());
    assert!(store.try_lead("test").await.unwrap().is_some());
}

#[tokio::test]
async fn a_fold_while_pending_signal_is_revived_once_processed() {
    use campaign_sync::signal::Dedup;
    for (db, store) in stores().await {
        let folding = |lead| NewSignal {
            dedup: Dedup::WhilePending,
            ..member(lead, "body-hash")
        };
        let first = store.record(vec![folding(1)], T0).await.unwrap()[0];
        let again = store.record(vec![folding(2)], T0).await.unwrap()[0];
        assert!(
            again.duplicate,
            "{}: folded while the first still waits",
            db.label
        );
        let claimed = store.claim("w", 10, LEASE, T0).await.unwrap();
        assert_eq!(claimed.len(), 1);
        // A later change with the same body arrives while the first is being processed.
        let later = store.record(vec![folding(3)], T0 + 1).await.unwrap()[0];
        assert_eq!(
            (later.id, later.duplicate),
            (first.id, false),
            "{}",
            db.label
        );
        // Its waiting starts with the later change, not the first one's arrival.
        assert_eq!(
            store.backlog(T0 + 1).await.unwrap().oldest_received_at,
            Some(T0 + 1),
            "{}",
            db.label
        );
        // The worker keeps its lease (its round's records stand), and its end makes the
        // signal due again for the later change.
        assert!(
            store.complete(first.id, "w", T0 + 2).await.unwrap(),
            "{}: the lease still ends it",
            db.label
        );
        let again = store.claim("w", 10, LEASE, T0 + 2).await.unwrap();
        assert_eq!(again.len(), 1, "{}: due again", db.label);
        assert_eq!(again[0].attempts, 1, "{}: a fresh start", db.label);
        assert!(matches!(&again[0].signal, Signal::MarketoMember(m) if m.lead_id == 3));
        // Once-only keys never revive.
        store.complete(again[0].id, "w", T0 + 3).await.unwrap();
        let once = store.record(vec![member(9, "once")], T0).await.unwrap()[0];
        store.claim("w", 10, LEASE, T0 + 3).await.unwrap();
        store.complete(once.id, "w", T0 + 3).await.unwrap();
        assert!(store.record(vec![member(9, "once")], T0 + 4).await.unwrap()[0].duplicate);
    }
}

#[tokio::test]
async fn processed_signals_are_purged_after_the_retention_and_dead_ones_stay() {
    for (db, store) in stores().await {
        store
            .record(vec![member(1, "old-done"), member(2, "old-dead")], T0)
            .await
            .unwrap();
        let claimed = store.claim("w", 10, LEASE, T0).await.unwrap();
        store.complete(claimed[0].id, "w", T0).await.unwrap();
        store
            .bury(claimed[1].id, "w", "permanent", T0)
            .await
            .unwrap();
        assert_eq!(
            store.purge_done(T0).await.unwrap(),
            0,
            "{}: not older than the cut-off",
            db.label
        );
        assert_eq!(store.purge_done(T0 + 1).await.unwrap(), 1, "{}", db.label);
        assert_eq!(
            store.inbox_depth().await.unwrap(),
            vec![("dead".to_string(), 1)]
        );
    }
}

#[tokio::test]
async fn a_signal_revived_mid_round_keeps_the_round_s_records_and_runs_again() {
    use campaign_sync::signal::Dedup;
    use campaign_sync::store::{Journal, MirrorRow, SignalEnd};
    for (db, store) in stores().await {
        let folding = |lead| NewSignal {
            dedup: Dedup::WhilePending,
            ..member(lead, "same-body")
        };
        let revived = store.record(vec![folding(1)], T0).await.unwrap()[0];
        let other = store.record(vec![member(2, "other")], T0).await.unwrap()[0];
        assert_eq!(store.claim("w", 10, LEASE, T0).await.unwrap().len(), 2);
        // The same body again while the round runs (a second change for that lead).
        store.record(vec![folding(3)], T0 + 1).await.unwrap();
        let mut journal = Journal::default();
        journal.ends.push(SignalEnd::Done(revived.id));
        journal.ends.push(SignalEnd::Done(other.id));
        journal.mirrors.push(MirrorRow {
            mapping: "webinar".into(),
            person: "77".into(),
            mkto_status: Some("Registered".into()),
            synced_at: T0 + 2,
            ..MirrorRow::default()
        });
        store.commit_journal("w", &journal, T0 + 2).await.unwrap();
        assert!(
            store.mirror("webinar", "77").await.unwrap().is_some(),
            "{}: the round's records stand",
            db.label
        );
        let (state, _, _) = store.signal_state(other.id).await.unwrap().unwrap();
        assert_eq!(state, "done", "{}", db.label);
        let again = store.claim("w", 10, LEASE, T0 + 3).await.unwrap();
        assert_eq!(again.len(), 1, "{}: the revived one runs again", db.label);
        assert!(matches!(&again[0].signal, Signal::MarketoMember(m) if m.lead_id == 3));
    }
}
