//! Durable inserts per second on SQLite with 64 concurrent callers: one commit per insert versus
//! the group-committed path the receivers use. Both run with `synchronous=FULL`.
//!
//! Run: `cargo bench --bench store_insert`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use campaign_sync::signal::{MarketoMember, NewSignal, Signal};
use campaign_sync::store::{GroupCommit, Store, now_millis};

const CALLERS: u64 = 64;
const RUN_FOR: Duration = Duration::from_secs(5);

async fn measure(mode: GroupCommit) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::open_with(&url, mode).await.expect("open store");
    store.migrate().await.expect("migrate");
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut callers = Vec::new();
    for _ in 0..CALLERS {
        let store = store.clone();
        let next = next.clone();
        callers.push(tokio::spawn(async move {
            while started.elapsed() < RUN_FOR {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let signal = NewSignal::new(
                    format!("bench:{n}"),
                    Signal::MarketoMember(MarketoMember {
                        lead_id: i64::try_from(n).unwrap_or(i64::MAX),
                        program_id: 1001,
                        email: Some(format!("person{n}@example.com")),
                        status: None,
                        trigger: None,
                    }),
                );
                store
                    .record(vec![signal], now_millis())
                    .await
                    .expect("record");
            }
        }));
    }
    for caller in callers {
        caller.await.expect("caller");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let inserted = next.load(Ordering::Relaxed) as f64;
    store.close().await;
    inserted / elapsed
}

#[tokio::main]
async fn main() {
    let single = measure(GroupCommit::Off).await;
    println!("sqlite durable inserts/s, {CALLERS} callers, one commit per insert: {single:.0}");
    let grouped = measure(GroupCommit::On).await;
    println!("sqlite durable inserts/s, {CALLERS} callers, group commit:          {grouped:.0}");
    println!("group commit speed-up: {:.1}x", grouped / single);
}
