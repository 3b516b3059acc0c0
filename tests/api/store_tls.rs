//! The store on a PostgreSQL that requires TLS, as managed services do.

use campaign_sync::store::Store;

use crate::store::member;
use crate::test_app::TestDb;

/// A PostgreSQL that requires TLS (as managed services do) is reached over it: the URL's
/// `sslmode=require` is honoured, not refused for want of TLS support.
#[tokio::test]
async fn postgres_is_reached_over_tls_when_the_url_requires_it() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = format!("{}&sslmode=require", db.url);
    let store = Store::connect(&url)
        .await
        .expect("connect with sslmode=require");
    let recorded = store
        .record(vec![member(1, "tls:1")], campaign_sync::store::now_millis())
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    store.close().await;
}
