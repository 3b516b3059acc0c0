//! A leader frozen while holding the worker lock (`SIGSTOP`, `docker pause`) keeps its
//! connection, so PostgreSQL never releases the lock: a replica trying the lock ends the
//! session once it has been silent for `SILENT_HOLDER`, and leads. Its own database (the lock
//! is one per database) and processes of its own, to freeze one.

use std::process::Command;
use std::time::{Duration, Instant};

use campaign_sync::store::Store;

use crate::service_config::child_config;
use crate::service_process::ServiceProcess;
use crate::test_app::TestDb;
use crate::worker_lock::{drop_database, own_database};

fn config(database_url: &str) -> String {
    child_config(
        database_url,
        "00D000000000001",
        "[http]\ndrain_delay_secs = 0",
    )
}

/// Waits until the replica whose process is `pid` holds the worker lock.
async fn leads(store: &Store, pid: u32, within: Duration, log: impl Fn() -> String) {
    let deadline = Instant::now() + within;
    loop {
        let leader = store.worker_leader().await.unwrap().unwrap_or_default();
        if leader.ends_with(&format!("pid {pid}")) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pid {pid} did not lead within {within:?} (leader: {leader:?}):\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn signal(pid: u32, which: &str) {
    let sent = Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[tokio::test]
async fn a_frozen_leader_is_replaced_once_its_lock_session_goes_silent() {
    let Some(_) = TestDb::postgres().await else {
        return;
    };
    let base = std::env::var("CAMPAIGN_SYNC_TEST_POSTGRES_URL").unwrap();
    let (name, url) = own_database(&base).await;
    let store = Store::open(&url).await.unwrap();
    let first = ServiceProcess::spawn(&config(&url));
    leads(&store, first.pid(), Duration::from_secs(30), || {
        first.log_tail()
    })
    .await;
    signal(first.pid(), "-STOP");
    let second = ServiceProcess::spawn(&config(&url));
    let silent = campaign_sync::store::SILENT_HOLDER;
    leads(
        &store,
        second.pid(),
        silent + Duration::from_secs(30),
        || second.log_tail(),
    )
    .await;
    assert!(
        second.log_tail().contains("has not been heard from"),
        "{}",
        second.log_tail()
    );
    signal(first.pid(), "-CONT");
    drop((first, second));
    store.close().await;
    drop_database(&base, &name).await;
}
