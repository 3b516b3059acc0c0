//! The PostgreSQL writers' tests: how they linger, and what they answer when reading back a
//! committed group's duplicates fails.

use std::str::FromStr;

use super::super::Store;
use super::requests::{carrying, job, new_and_duplicate};
use super::*;

#[tokio::test(start_paused = true)]
async fn a_writer_lingers_only_for_expected_callers_and_at_most_the_linger() {
    let (jobs, mut queue) = mpsc::channel(16);
    let mut batch = Vec::new();

    // Nothing more expected: no wait at all, even with the clock frozen.
    jobs.send(job()).await.unwrap();
    queue.recv_many(&mut batch, 16).await;
    let started = tokio::time::Instant::now();
    linger(&mut queue, &mut batch, 1).await;
    assert_eq!(started.elapsed(), Duration::ZERO);

    // Two more expected, one comes while the writer waits: the group takes it; the third
    // never comes, so the wait ends at the linger bound.
    let late = jobs.clone();
    tokio::spawn(async move { late.send(job()).await.unwrap() });
    let started = tokio::time::Instant::now();
    linger(&mut queue, &mut batch, 3).await;
    assert_eq!(batch.len(), 2);
    assert!(started.elapsed() >= LINGER);
    assert!(started.elapsed() <= LINGER + Duration::from_millis(1));

    // Everyone expected arrives: the wait ends with the last of them, not at the bound.
    batch.clear();
    jobs.send(job()).await.unwrap();
    queue.recv_many(&mut batch, 16).await;
    let late = jobs.clone();
    tokio::spawn(async move { late.send(job()).await.unwrap() });
    let started = tokio::time::Instant::now();
    linger(&mut queue, &mut batch, 2).await;
    assert_eq!(batch.len(), 2);
    assert!(started.elapsed() < LINGER);
}

/// PostgreSQL's writer: a group whose commit succeeded is not written again when reading
/// back its duplicates fails. A trigger leaves the session unable to find `signals` after
/// the INSERT, on a connection that still answers, so the lookup fails on every try.
#[tokio::test]
async fn a_committed_group_is_not_written_again_when_reading_back_its_duplicates_fails() {
    let Ok(base) = std::env::var("CAMPAIGN_SYNC_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but CAMPAIGN_SYNC_TEST_POSTGRES_URL is not"
        );
        eprintln!("SKIPPED on PostgreSQL: CAMPAIGN_SYNC_TEST_POSTGRES_URL is not set");
        return;
    };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = Store::open(&base).await.unwrap();
    admin
        .execute_raw(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let store = Store::connect(&url).await.unwrap();
    let mut link = Link::open(&AnyConnectOptions::from_str(&url).unwrap())
        .await
        .unwrap();
    let seeded = write_group(&mut link, &[carrying("lookup:stored")]).await;
    let stored_id = seeded[0].as_ref().unwrap()[0].id;
    store
        .execute_raw(
            "CREATE FUNCTION lose_search_path() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN PERFORM set_config('search_path', 'pg_catalog', false); RETURN NULL; END $$; \
             CREATE TRIGGER lose_search_path AFTER INSERT ON signals \
             FOR EACH STATEMENT EXECUTE FUNCTION lose_search_path();",
        )
        .await
        .unwrap();

    let answers = write_group(&mut link, &new_and_duplicate("lookup:stored")).await;
    let new = &answers[0].as_ref().expect("the new signal's answer")[0];
    assert!(!new.duplicate, "a new signal was reported as a duplicate");
    assert!(new.id > stored_id);
    assert!(matches!(answers[1], Err(StoreError::DuplicateUnread)));

    store.close().await;
    admin
        .execute_raw(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
    admin.close().await;
}
