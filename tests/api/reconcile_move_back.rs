//! A first pairing whose Salesforce status is an earlier step than Marketo's: Marketo refuses a
//! move back (1037), so the reconciliation lists the person as diverged with no write planned,
//! and a real run sends none either: it links them with the sides as they are.

use campaign_sync::config::BackwardPolicy;

use crate::world::{Options, World};

#[tokio::test]
async fn a_first_pairing_marketo_would_refuse_is_linked_as_diverged_without_a_write() {
    let world = World::with(Options {
        backward_policy: BackwardPolicy::KeepSalesforce,
        ..Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("back.run@example.com");
    world.mk_sets(lead, "Attended");
    // Salesforce's member comes later, at an earlier status (no message reaches the service).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    world.sf_adds_unheard(&sf_lead, "Registered");
    let worker = &world.app.worker;
    let mapping = worker.mappings().by_name("webinar").unwrap().clone();
    let status_writes = |world: &World| {
        world
            .mk
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/members/status.json"))
            .count()
    };
    for run in 0..2 {
        let report = worker.reconcile_mapping(&mapping, false).await.unwrap();
        assert!(report.changes.is_empty(), "run {run}: {report:?}");
        assert_eq!(report.diverged.len(), 1, "run {run}: {report:?}");
        assert_eq!(report.signals_queued, 0, "run {run}: {report:?}");
        // Nothing queued is counted as queued.
        assert_eq!(
            (report.salesforce_changed, report.marketo_changed),
            (0, 0),
            "run {run}: {report:?}"
        );
        world.settle().await;
        assert_eq!(status_writes(&world), 0, "run {run}: no write was planned");
    }
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    // Linked with the sides as they are: Salesforce catching up is a change the sync follows.
    let identity = world
        .app
        .store
        .find_identity(Some(lead), None, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(identity.sf_lead_id.as_deref(), Some(sf_lead.as_str()));
    // Salesforce catching up ends the divergence, with no write to either side.
    let member = world.sf_member_id(&sf_lead).unwrap();
    world
        .sf
        .update_member(crate::world::USER, &member, "Attended")
        .unwrap();
    world.settle().await;
    assert_eq!(status_writes(&world), 0);
    let report = worker.reconcile_mapping(&mapping, false).await.unwrap();
    assert!(
        report.diverged.is_empty() && report.changes.is_empty(),
        "{report:?}"
    );
}
