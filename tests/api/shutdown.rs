//! Shutdown keeps its bound with the worker busy: the service stops within drain + bound, and a
//! round that could not finish hands its leases back instead of leaving them to expire.

use std::time::{Duration, Instant};

use campaign_sync::signal::{MarketoMember, NewSignal, Signal};
use campaign_sync::sim::marketo::MarketoSimConfig;
use campaign_sync::store::now_millis;

use crate::test_app::{TestApp, TestDb};
use crate::world::{Options, PROGRAM, World};

#[tokio::test]
async fn a_busy_worker_stops_within_the_bound_and_releases_its_leases() {
    let world = World::with(Options {
        mk: MarketoSimConfig {
            latency: Duration::from_millis(1500),
            deliver_webhooks_in_background: false,
            ..MarketoSimConfig::default()
        },
        ..Options::default()
    })
    .await;
    let mut config = world.config.clone();
    // The test keeps the file, so it can look at the signals after the app has stopped.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("busy.db").display());
    let db = TestDb::shared(&url);
    config.database_url = campaign_sync::config::Secret::new(&url);
    config.worker.enabled = true;
    config.worker.batch_linger_ms = 0;
    config.http.drain_delay_secs = 0;
    config.http.shutdown_timeout_secs = 2;
    let app = TestApp::spawn_with(db, move |c| *c = config).await;
    let signals: Vec<NewSignal> = (1..=5)
        .map(|lead| {
            NewSignal::new(
                format!("busy-{lead}"),
                Signal::MarketoMember(MarketoMember {
                    lead_id: lead,
                    program_id: PROGRAM,
                    email: Some(format!("busy{lead}@example.com")),
                    status: None,
                    trigger: None,
                }),
            )
        })
        .collect();
    let ids: Vec<i64> = app
        .store
        .record(signals, now_millis())
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    // Wait until the worker holds them (after its start-up passes against the slow API).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = app.store.signal_state(ids[0]).await.unwrap().unwrap().0;
        if state == "leased" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the worker never claimed the signals ({state})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    app.stop().await.unwrap();
    let took = started.elapsed();
    assert!(
        took <= Duration::from_millis(2_500),
        "stopping took {took:?}, over drain 0 s + bound 2 s"
    );
    let store = campaign_sync::store::Store::connect(&url).await.unwrap();
    for id in ids {
        let (state, _, _) = store.signal_state(id).await.unwrap().unwrap();
        assert_ne!(
            state, "leased",
            "signal {id} was left leased after the stop"
        );
    }
    drop(world);
}
