//! The scheduled passes beside each other in the running worker: a slow settings pass (its
//! daily full cost pass reads every program) does not hold up the feeds and polls, which keep
//! their interval.

use std::time::{Duration, Instant};

use crate::world::{Options, World};

#[tokio::test]
async fn the_deleted_poll_keeps_its_interval_while_a_slow_settings_pass_runs() {
    // Every Marketo call takes three seconds: the settings pass's first read alone outlasts the
    // time the deleted-records poll, due at start, may take to come.
    let world = World::with(Options {
        webhooks: false,
        mk: campaign_sync::sim::marketo::MarketoSimConfig {
            latency: Duration::from_secs(3),
            deliver_webhooks_in_background: false,
            ..Default::default()
        },
        ..Options::default()
    })
    .await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(world.app.worker.clone().run(shutdown.clone()));
    let started = Instant::now();
    let polled = || {
        world
            .sf
            .requests()
            .iter()
            .any(|r| r.path.contains("/CampaignMember/deleted"))
    };
    while !polled() {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the deleted-records poll waited for the settings pass"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    running.await.unwrap();
}
