//! A mapped campaign deleted in Salesforce deletes its members, and the deleted-records poll
//! reports each: the mapping is held first (the campaign is gone), so their removals wait
//! instead of emptying the Marketo program.

use std::time::Duration;

use campaign_sync::store::now_millis;

use crate::world::{USER, World};

#[tokio::test]
async fn deleting_the_campaign_holds_the_mapping_and_removes_no_one_from_the_program() {
    let world = World::new().await;
    let mut leads = Vec::new();
    for n in 0..3 {
        let (lead, _) = world.person(&format!("kept{n}@example.com"));
        world.mk_sets(lead, "Registered");
        leads.push(lead);
    }
    world.settle().await;
    for &lead in &leads {
        assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    }
    world.sf.delete(USER, &world.campaign).unwrap();
    world.sf.advance_clock(Duration::from_secs(120));
    let found = world
        .app
        .worker
        .poll_deleted_at(now_millis() + 120_000)
        .await
        .unwrap();
    assert_eq!(found, 3, "each member's deletion is reported");
    world.settle().await;
    for &lead in &leads {
        assert_eq!(
            world.mk_status(lead).as_deref(),
            Some("Registered"),
            "still in the program"
        );
    }
    let mapping = &world.app.worker.mappings().all()[0];
    let problems = mapping.problems().join("; ");
    assert!(problems.contains("was not found"), "{problems}");
    let backlog = world.app.store.backlog(now_millis()).await.unwrap();
    assert_eq!(backlog.postponed, 3, "{backlog:?}");
}

/// A reconciliation of a mapping whose campaign is gone compares nothing: a deleted campaign
/// lists no member, and every Marketo member would read as removed there.
#[tokio::test]
async fn a_reconciliation_of_a_deleted_campaign_holds_the_mapping_and_repairs_nothing() {
    let world = World::new().await;
    let (lead, _) = world.person("reconciled@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    world.sf.delete(USER, &world.campaign).unwrap();
    let reports = world.app.worker.reconcile().await;
    let report = reports[0].as_ref().unwrap();
    assert!(report.changes.is_empty(), "{report:?}");
    assert_eq!(report.signals_queued, 0, "{report:?}");
    let warning = report.warnings.join("; ");
    assert!(
        warning.contains("nothing compared or repaired"),
        "{warning}"
    );
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    assert!(!world.app.worker.mappings().all()[0].problems().is_empty());
}
