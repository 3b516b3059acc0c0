//! Deletions Salesforce can no longer report: after an outage of more than 15 days, or when the
//! org purged its delete log, the deleted-records poll queues a reconciliation instead of
//! losing them quietly.

use campaign_sync::store::cursors::SALESFORCE_DELETED;
use campaign_sync::store::now_millis;

use crate::world::{USER, World};

const DAY_MS: i64 = 86_400_000;

#[tokio::test]
async fn a_poll_resumed_after_fifteen_days_queues_a_reconciliation() {
    let world = World::new().await;
    let now = now_millis();
    let stopped = now - 20 * DAY_MS;
    world
        .app
        .store
        .set_cursor(SALESFORCE_DELETED, &stopped.to_string(), now)
        .await
        .unwrap();
    world.app.worker.poll_deleted_at(now).await.unwrap();
    let job = world.app.store.job(1).await.unwrap().expect("a job");
    assert_eq!(
        (job.kind.as_str(), job.state.as_str()),
        ("reconcile", "queued")
    );
    assert_eq!(job.params["dry_run"], false);
    let reason = job.params["reason"].as_str().unwrap();
    assert!(reason.contains("more than 15 days"), "{reason}");
    // The poll went on from as far back as Salesforce allows, and queues nothing more.
    world.app.worker.poll_deleted_at(now + 1_000).await.unwrap();
    assert!(world.app.store.job(2).await.unwrap().is_none());
}

#[tokio::test]
async fn a_purged_delete_log_queues_a_reconciliation_that_removes_the_member() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("purged@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let first = now_millis();
    world.app.worker.poll_deleted_at(first).await.unwrap();
    assert!(
        world.app.store.job(1).await.unwrap().is_none(),
        "nothing lost yet"
    );
    // A deletion, then the org purges its log before the next poll.
    let member = world.sf_member_id(&sf_lead).unwrap();
    world.sf.delete_member(USER, &member).unwrap();
    world.sf.advance_clock(std::time::Duration::from_secs(150));
    world.sf.purge_delete_log();
    let found = world
        .app
        .worker
        .poll_deleted_at(first + 150_000)
        .await
        .unwrap();
    assert_eq!(found, 0, "the deletion is no longer reported");
    let job = world.app.store.job(1).await.unwrap().expect("a job");
    let reason = job.params["reason"].as_str().unwrap();
    assert!(reason.contains("purged"), "{reason}");
    // The leader runs the job: the reconciliation finds the member gone and removes it.
    world.app.worker.run_jobs().await.unwrap();
    world.settle().await;
    assert_eq!(world.mk_status(lead), None);
}
