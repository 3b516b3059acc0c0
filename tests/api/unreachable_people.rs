//! Salesforce members the sync cannot reach in Marketo: without an e-mail address and without a
//! Marketo lead linked to them, they can be neither found nor created there. A reconciliation
//! names them in a warning instead of queuing a change that ends dead on every run.

use campaign_sync::sim::marketo::NewLead;
use serde_json::json;

use crate::world::{INTEGRATION, Options, World};

async fn reconcile(world: &World, dry_run: bool) -> campaign_sync::worker::ReconcileReport {
    let mapping = world.app.worker.mappings().all()[0].clone();
    world
        .app
        .worker
        .reconcile_mapping(&mapping, dry_run)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_member_without_an_address_or_a_link_is_named_not_queued_and_runs_settle() {
    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    let nameless = world
        .sf
        .create_lead(json!({ "LastName": "Nomail", "Company": "Co" }))
        .unwrap();
    let linked = world
        .sf
        .create_lead(json!({ "LastName": "Linked", "Company": "Co" }))
        .unwrap();
    let lead = world.mk.add_lead(NewLead {
        sfdc_lead_id: Some(linked.clone()),
        ..NewLead::default()
    });
    for person in [&nameless, &linked] {
        world
            .sf
            .add_member(INTEGRATION, &world.campaign, person, Some("Invited"))
            .unwrap();
    }

    let preview = reconcile(&world, true).await;
    assert_eq!(preview.changes.len(), 1, "only the linked one: {preview:?}");
    assert_eq!(
        preview.changes[0].salesforce_id.as_deref(),
        Some(linked.as_str())
    );
    let named =
        format!("Salesforce {nameless} has no e-mail address and no Marketo lead links to it");
    assert!(
        preview.warnings.iter().any(|w| w.contains(&named)),
        "{preview:?}"
    );
    for _ in 0..2 {
        reconcile(&world, false).await;
        world.settle().await;
    }
    assert_eq!(world.mk_status(lead).as_deref(), Some("Invited"));
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert!(
        dead.is_empty(),
        "no run queues a change that cannot be made: {dead:?}"
    );
    let again = reconcile(&world, true).await;
    assert!(again.changes.is_empty(), "{again:?}");
}
