//! The group-commit writers keep their own PostgreSQL connections; one that the server drops
//! (a restart, a failover, an idle timeout) is replaced and no caller sees the failure.

use campaign_sync::signal::{MarketoMember, NewSignal, Signal};
use campaign_sync::store::Store;

use crate::test_app::TestDb;

fn member(lead_id: i64) -> NewSignal {
    NewSignal::new(
        format!("writer-heal:{lead_id}"),
        Signal::MarketoMember(MarketoMember {
            lead_id,
            program_id: 1001,
            email: None,
            status: None,
            trigger: None,
        }),
    )
}

#[tokio::test]
async fn writers_reconnect_after_postgres_drops_their_connections() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!(
            "SKIPPED writer reconnect on PostgreSQL: CAMPAIGN_SYNC_TEST_POSTGRES_URL is not set"
        );
        return;
    };
    // A name of its own, so only this store's connections are dropped, not other tests'.
    let name = format!("writer_heal_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{}&application_name={name}", db.url);
    let store = Store::connect(&url).await.expect("open store");
    store
        .record(vec![member(1)], 1)
        .await
        .expect("first record");
    let admin = Store::open(&db.url).await.expect("admin store");
    admin
        .execute_raw(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{name}'"
        ))
        .await
        .expect("drop the store's connections");
    admin.close().await;
    // Every writer, whichever takes each call, must come back.
    for lead in 2..=20 {
        let recorded = store
            .record(vec![member(lead)], 1)
            .await
            .unwrap_or_else(|error| panic!("record {lead} after the drop: {error}"));
        assert!(!recorded[0].duplicate);
    }
    let depth: i64 = store
        .inbox_depth()
        .await
        .expect("read depth")
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(depth, 20);
}
