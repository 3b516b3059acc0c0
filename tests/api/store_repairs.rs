//! A reconciliation's repairs in the store, on both backends: counted by their run, and the
//! records an earlier run's untried repairs wait for found, so a new run leaves them to those.

use crate::store::stores;

const LEASE: i64 = 120_000;
const T0: i64 = 1_700_000_000_000;

/// A reconciliation's repairs are counted by their run alone: not another run's whose stamp
/// starts with the same digits, nor a live signal.
#[tokio::test]
async fn a_runs_repairs_are_counted_by_state() {
    for (db, store) in stores().await {
        let keys = [
            "reconcile:17:mkto:1001:1",
            "reconcile:17:sf:00v000000000001AAA",
            "reconcile:17:mkto:1001:3",
            "reconcile:170:mkto:1001:1",
            "reconcile:18:mkto:1001:1",
            "k17",
        ];
        let signals = keys
            .iter()
            .enumerate()
            .map(|(i, key)| crate::store::member(i as i64 + 1, key))
            .collect();
        store.record(signals, T0).await.unwrap();
        let claimed = store.claim("w", 10, LEASE, T0).await.unwrap();
        let id = |key: &str| claimed.iter().find(|c| c.dedup_key == key).unwrap().id;
        store
            .bury(id("reconcile:17:mkto:1001:1"), "w", "603", T0)
            .await
            .unwrap();
        let states = store.repair_states("reconcile:17:").await.unwrap();
        assert_eq!(
            states,
            campaign_sync::store::RepairStates {
                waiting: 2,
                dead: 1
            },
            "{}",
            db.label
        );
    }
}

/// A held mapping's repairs wait untried; the next pass finds which of its records they wait
/// for and leaves those to them, so each difference waits once. One already tried (it waits
/// for a retry) is not found: the new pass queues its own.
#[tokio::test]
async fn a_new_run_finds_the_records_an_earlier_runs_untried_repairs_wait_for() {
    for (db, store) in stores().await {
        // The Salesforce repair was tried once and waits for a retry.
        let tried_key = "reconcile:1:sf:00v000000000001AAA";
        store
            .record(vec![crate::store::member(3, tried_key)], T0)
            .await
            .unwrap();
        let claimed = store.claim("w", 10, LEASE, T0).await.unwrap();
        assert_eq!(claimed.len(), 1, "{}", db.label);
        store
            .retry_at(claimed[0].id, "w", T0 + 60_000, "503", T0)
            .await
            .unwrap();
        // Two waiting untried, as a held mapping's do.
        let untried = ["reconcile:1:mkto:1001:7", "reconcile:1:mkto:1001:8"]
            .iter()
            .enumerate()
            .map(|(i, key)| crate::store::member(i as i64 + 1, key))
            .collect();
        store.record(untried, T0).await.unwrap();
        let waiting = store
            .untried_repairs(
                "reconcile:",
                &[
                    "reconcile:2:mkto:1001:7",
                    "reconcile:2:sf:00v000000000001AAA",
                ],
            )
            .await
            .unwrap();
        assert_eq!(
            waiting,
            std::collections::HashSet::from(["mkto:1001:7".to_string()]),
            "{}: only lead 7's untried repair",
            db.label
        );
    }
}
