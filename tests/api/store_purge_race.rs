//! A duplicate whose stored signal is purged between its INSERT and the read-back of that
//! stored signal: the purge of done signals runs on another connection, so the row that
//! absorbed the duplicate can be gone when the writer looks for its id. The duplicate is then
//! stored as a new signal and its caller answered, on every writer and both databases.

use campaign_sync::store::{GroupCommit, Store};

use crate::store::member;
use crate::test_app::TestDb;

const STORED: &str = "purge-race:stored";
const OTHER: &str = "purge-race:other";

/// A trigger that plays the purge at the worst moment: when the call's other signal is
/// inserted, after the duplicate was absorbed and before it is read back.
fn purge_trigger(label: &str) -> String {
    let purge = format!("DELETE FROM signals WHERE dedup_key = '{STORED}' AND state = 'done'");
    if label == "postgres" {
        format!(
            "CREATE FUNCTION purge_race() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN {purge}; RETURN NULL; END $$; \
             CREATE TRIGGER purge_race AFTER INSERT ON signals FOR EACH ROW \
             WHEN (NEW.dedup_key = '{OTHER}') EXECUTE FUNCTION purge_race();"
        )
    } else {
        format!(
            "CREATE TRIGGER purge_race AFTER INSERT ON signals \
             WHEN NEW.dedup_key = '{OTHER}' BEGIN {purge}; END;"
        )
    }
}

async fn depth(store: &Store, state: &str) -> i64 {
    let depth = store.inbox_depth().await.expect("read inbox depth");
    depth
        .into_iter()
        .find(|(s, _)| s == state)
        .map_or(0, |(_, n)| n)
}

#[tokio::test]
async fn a_duplicate_whose_stored_signal_is_purged_meanwhile_is_stored_anew() {
    for group_commit in [GroupCommit::On, GroupCommit::Off] {
        for db in TestDb::all().await {
            let label = format!("{} with group commit {group_commit:?}", db.label);
            let store = db.store().await;
            let store = match group_commit {
                GroupCommit::On => store,
                GroupCommit::Off => {
                    store.close().await;
                    Store::open_with(&db.url, GroupCommit::Off)
                        .await
                        .expect("open without group commit")
                }
            };
            let seeded = store.record(vec![member(1, STORED)], 1).await.unwrap()[0];
            store
                .execute_raw(&format!(
                    "UPDATE signals SET state = 'done' WHERE id = {}",
                    seeded.id
                ))
                .await
                .unwrap();
            store.execute_raw(&purge_trigger(db.label)).await.unwrap();

            let recorded = store
                .record(vec![member(1, STORED), member(2, OTHER)], 2)
                .await
                .unwrap_or_else(|error| panic!("{label}: the call was refused: {error}"));
            assert!(!recorded[0].duplicate, "{label}: {recorded:?}");
            assert_ne!(recorded[0].id, seeded.id, "{label}");
            assert!(!recorded[1].duplicate, "{label}: {recorded:?}");
            assert_eq!(depth(&store, "pending").await, 2, "{label}");
            assert_eq!(depth(&store, "done").await, 0, "{label}");

            // Sent again, the signal is an ordinary duplicate of the row stored anew.
            let again = store.record(vec![member(1, STORED)], 3).await.unwrap()[0];
            assert!(again.duplicate, "{label}");
            assert_eq!(again.id, recorded[0].id, "{label}");
            store.close().await;
        }
    }
}
