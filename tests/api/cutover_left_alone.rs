//! Salesforce members a cut-over leaves alone, named in a warning rather than listed as
//! changes the worker would not make: those it cannot reach in Marketo (no e-mail address, no
//! Marketo lead linked), and all but one of several with one address. The preview lists what
//! the run does, and a second run settles.

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

#[tokio::test]
async fn of_two_salesforce_leads_with_one_address_one_is_synced_and_the_other_named() {
    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    let first = world
        .sf
        .create_lead(json!({ "LastName": "Ned", "Company": "Co", "Email": "ned@example.com" }))
        .unwrap();
    let second = world
        .sf
        .create_lead(json!({ "LastName": "NED", "Company": "Co", "Email": "NED@example.com" }))
        .unwrap();
    for (person, status) in [(&first, "Invited"), (&second, "Attended")] {
        world
            .sf
            .add_member(INTEGRATION, &world.campaign, person, Some(status))
            .unwrap();
    }

    let preview = reconcile(&world, true).await;
    assert_eq!(preview.changes.len(), 1, "{preview:?}");
    assert_eq!(
        preview.changes[0].salesforce_id.as_deref(),
        Some(first.as_str())
    );
    let named = format!("Salesforce {second} shares its address with {first}");
    assert!(
        preview.warnings.iter().any(|w| w.contains(&named)),
        "{preview:?}"
    );
    let run = reconcile(&world, false).await;
    assert_eq!(run.changes, preview.changes);
    world.settle().await;
    let leads: Vec<_> = world
        .mk
        .leads()
        .into_iter()
        .filter(|l| {
            l.email()
                .is_some_and(|e| e.eq_ignore_ascii_case("ned@example.com"))
        })
        .collect();
    assert_eq!(leads.len(), 1, "{leads:?}");
    assert_eq!(world.mk_status(leads[0].id).as_deref(), Some("Invited"));
    let again = reconcile(&world, true).await;
    assert!(again.changes.is_empty(), "{again:?}");
    assert!(again.diverged.is_empty(), "{again:?}");
}
