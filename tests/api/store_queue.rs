//! The store as a durable queue: leases, retry times, concurrent claimers, dead items and
//! their replay, and the inbox's depth; on SQLite and, when its URL is set, on PostgreSQL.

use std::collections::HashSet;

use crate::store::{LEASE, T0, member, member_of, stores};

#[tokio::test]
async fn a_claimed_item_is_not_claimed_again_until_its_lease_expires() {
    for (db, store) in stores().await {
        store.record(vec![member(1, "x")], T0).await.unwrap();
        let first = store.claim("a", 10, LEASE, T0).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].attempts, 1);
        assert!(
            store
                .claim("b", 10, LEASE, T0 + LEASE - 1)
                .await
                .unwrap()
                .is_empty(),
            "{}",
            db.label
        );
        // The claimer died: after the lease the item comes back, to anyone.
        let again = store.claim("b", 10, LEASE, T0 + LEASE).await.unwrap();
        assert_eq!(again.len(), 1, "{}", db.label);
        assert_eq!(again[0].attempts, 2);
        // The first claimer lost its lease and cannot complete it any more.
        assert!(!store.complete(first[0].id, "a", T0 + LEASE).await.unwrap());
        assert!(store.complete(again[0].id, "b", T0 + LEASE).await.unwrap());
        assert!(
            store
                .claim("c", 10, LEASE, T0 + 10 * LEASE)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn items_are_not_due_before_their_retry_time() {
    for (db, store) in stores().await {
        store.record(vec![member(1, "r")], T0).await.unwrap();
        let claimed = store.claim("a", 10, LEASE, T0).await.unwrap();
        assert!(
            store
                .retry_at(claimed[0].id, "a", T0 + 5_000, "503 from Marketo", T0)
                .await
                .unwrap()
        );
        assert!(
            store
                .claim("a", 10, LEASE, T0 + 4_999)
                .await
                .unwrap()
                .is_empty(),
            "{}",
            db.label
        );
        let again = store.claim("a", 10, LEASE, T0 + 5_000).await.unwrap();
        assert_eq!(again.len(), 1);
        let (state, attempts, error) = store.signal_state(again[0].id).await.unwrap().unwrap();
        assert_eq!((state.as_str(), attempts), ("leased", 2));
        assert_eq!(error.as_deref(), Some("503 from Marketo"));
    }
}

#[tokio::test]
async fn two_concurrent_claimers_never_get_the_same_item() {
    for (db, store) in stores().await {
        let signals: Vec<_> = (0..300).map(|i| member(i, &format!("c{i}"))).collect();
        store.record(signals, T0).await.unwrap();
        let mut tasks = Vec::new();
        for worker in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store
                        .claim(&format!("w{worker}"), 7, LEASE, T0)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        break mine;
                    }
                    mine.extend(batch.into_iter().map(|c| c.id));
                }
            }));
        }
        let mut seen = HashSet::new();
        for task in tasks {
            for id in task.await.unwrap() {
                assert!(seen.insert(id), "{}: item {id} claimed twice", db.label);
            }
        }
        assert_eq!(seen.len(), 300, "{}", db.label);
    }
}

#[tokio::test]
async fn dead_items_are_listed_with_their_reason_and_can_be_replayed() {
    for (db, store) in stores().await {
        let recorded = store.record(vec![member(1, "d")], T0).await.unwrap();
        let claimed = store.claim("a", 10, LEASE, T0).await.unwrap();
        assert!(
            store
                .bury(claimed[0].id, "a", "1004: lead not found", T0)
                .await
                .unwrap()
        );
        assert!(
            store
                .claim("a", 10, LEASE, T0 + 100 * LEASE)
                .await
                .unwrap()
                .is_empty()
        );
        let dead = store.dead(0, 10).await.unwrap();
        assert_eq!(dead.len(), 1, "{}", db.label);
        assert_eq!(dead[0].id, recorded[0].id);
        assert_eq!(dead[0].last_error.as_deref(), Some("1004: lead not found"));
        assert_eq!(dead[0].payload["kind"], "marketo_member");
        assert!(store.replay(dead[0].id, T0 + 1).await.unwrap());
        assert!(
            !store.replay(dead[0].id, T0 + 1).await.unwrap(),
            "only dead items replay"
        );
        let again = store.claim("a", 10, LEASE, T0 + 1).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 1, "replay starts a fresh attempt count");
        assert!(store.dead(0, 10).await.unwrap().is_empty());
        // Handed back before it ended: a try under way, with no error of its own yet.
        store.release_own_leases("a", T0 + 2).await.unwrap();
        let failing = store
            .failing(&campaign_sync::store::FailingFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(failing.len(), 1, "{}", db.label);
        assert_eq!(
            failing[0].last_error, None,
            "{}: the replayed signal no longer shows the error it died of",
            db.label
        );
    }
}

#[tokio::test]
async fn inbox_depth_counts_each_state() {
    for (db, store) in stores().await {
        store
            .record(vec![member(1, "p1"), member(2, "p2"), member(3, "p3")], T0)
            .await
            .unwrap();
        let claimed = store.claim("a", 1, LEASE, T0).await.unwrap();
        store.complete(claimed[0].id, "a", T0).await.unwrap();
        let depth = store.inbox_depth().await.unwrap();
        assert_eq!(
            depth,
            vec![("done".to_string(), 1), ("pending".to_string(), 2)],
            "{}",
            db.label
        );
    }
}

/// The deleted-records poll keeps a deletion when the mirror holds the member or a waiting
/// outbound-message signal names it; a done signal's member, or one nobody names, is not kept.
#[tokio::test]
async fn members_of_interest_are_the_mirrors_and_the_waiting_signals() {
    use campaign_sync::signal::{NewSignal, SalesforceMember, Signal};
    use campaign_sync::store::MirrorRow;
    let add = |member: &str, key: &str| {
        NewSignal::new(
            key.to_string(),
            Signal::SalesforceMember(SalesforceMember {
                notification_id: key.into(),
                organization_id: String::new(),
                member_id: member.into(),
                campaign_id: Some("701000000000001AAA".into()),
                lead_id: Some("00Q000000000001AAA".into()),
                contact_id: None,
                email: None,
                status: Some("Sent".into()),
                has_responded: None,
                created_date: None,
                last_modified_date: None,
                system_modstamp: None,
            }),
        )
    };
    for (db, store) in stores().await {
        let synced = MirrorRow {
            mapping: "webinar".into(),
            person: "1".into(),
            sf_member_id: Some("00v000000000001AAA".into()),
            synced_at: T0,
            ..MirrorRow::default()
        };
        store.upsert_mirror(&synced).await.unwrap();
        store
            .record(vec![add("00v000000000002AAA", "done")], T0)
            .await
            .unwrap();
        let claimed = store.claim("w", 10, LEASE, T0).await.unwrap();
        assert!(store.complete(claimed[0].id, "w", T0).await.unwrap());
        store
            .record(vec![add("00v000000000003AAA", "waiting")], T0)
            .await
            .unwrap();
        let asked: Vec<String> = (1..=4).map(|i| format!("00v00000000000{i}AAA")).collect();
        let known = store.members_of_interest(&asked).await.unwrap();
        let expected: HashSet<String> = ["00v000000000001AAA", "00v000000000003AAA"]
            .map(String::from)
            .into();
        assert_eq!(known, expected, "{}", db.label);
    }
}

/// A retrying signal of a person whose change landed is made due; another person's, one in
/// another program, and a fresh one are left as they are.
#[tokio::test]
async fn retrying_signals_of_settled_people_are_made_due() {
    use campaign_sync::store::Settled;
    for (db, store) in stores().await {
        let keys = [
            (7, 1001, "mine"),
            (8, 1001, "another person"),
            (7, 1002, "another program"),
        ];
        for (lead, program, key) in keys {
            store
                .record(vec![member_of(lead, program, key)], T0)
                .await
                .unwrap();
        }
        let later = T0 + 3_600_000;
        for claimed in store.claim("w", 10, LEASE, T0).await.unwrap() {
            assert!(
                store
                    .retry_at(claimed.id, "w", later, "503", T0)
                    .await
                    .unwrap()
            );
        }
        store
            .record(vec![member_of(7, 1001, "fresh")], T0)
            .await
            .unwrap();
        let settled = Settled {
            program_id: 1001,
            campaign_id: "701000000000001AAA".into(),
            mkto_lead_id: Some(7),
            ..Settled::default()
        };
        let woken = store.wake_retrying(&[settled], T0 + 1).await.unwrap();
        assert_eq!(woken.len(), 1, "{}", db.label);
        let due = store.claim("w", 10, LEASE, T0 + 1).await.unwrap();
        let mut keys: Vec<&str> = due.iter().map(|c| c.dedup_key.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["fresh", "mine"], "{}", db.label);
    }
}

/// The reconcile progress counts a repair as finished once its round has written it: claimed
/// signals still count as in flight (the bar read 100% as soon as the worker claimed them all).
#[tokio::test]
async fn signals_a_round_holds_are_still_in_flight_for_the_progress_bar() {
    use campaign_sync::store::now_millis;
    use campaign_sync::terminal::progress::in_flight;
    for (db, store) in stores().await {
        let now = now_millis();
        let signals = (1..=3).map(|i| member(i, &format!("k{i}"))).collect();
        store.record(signals, now).await.unwrap();
        assert_eq!(in_flight(&store).await, Some(3), "{}", db.label);
        let claimed = store.claim("a", 10, LEASE, now).await.unwrap();
        assert_eq!(claimed.len(), 3);
        assert_eq!(in_flight(&store).await, Some(3), "claimed: {}", db.label);
        assert!(store.complete(claimed[0].id, "a", now).await.unwrap());
        assert_eq!(in_flight(&store).await, Some(2), "{}", db.label);
    }
}
