//! Salesforce members a cut-over leaves alone, named in a warning rather than listed as
//! changes the worker would not make: those it cannot reach in Marketo (no e-mail address, no
//! Marketo lead linked), and all but one of several with one address. The preview lists what
//! the run does, and a second run settles.

use campaign_sync::sim::marketo::NewLead;
use serde_json::json;

use crate::duplicates::reconcile;
use crate::world::{INTEGRATION, Options, World};

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

/// Marketo leads only Marketo has, new here together: duplicates at one address (any case),
/// and two leads Marketo links to one Salesforce Lead. The lowest id of each is synced; the
/// others are named, not given a Salesforce Lead of their own nor written onto the first's.
#[tokio::test]
async fn marketo_duplicates_new_together_make_one_salesforce_person() {
    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    let first = world.mk.add_lead(NewLead::email("dup@example.com"));
    let second = world.mk.add_lead(NewLead::email("DUP@example.com"));
    let target = world
        .sf
        .create_lead(json!({ "LastName": "Linked", "Company": "Co", "Email": "x@example.com" }))
        .unwrap();
    let linked: Vec<i64> = ["xa@example.com", "xb@example.com"]
        .iter()
        .map(|email| {
            world.mk.add_lead(NewLead {
                sfdc_lead_id: Some(target.clone()),
                ..NewLead::email(email)
            })
        })
        .collect();
    world.mk_sets(first, "Registered");
    world.mk_sets(second, "Attended");
    world.mk_sets(linked[0], "Registered");
    world.mk_sets(linked[1], "Attended");

    let preview = reconcile(&world, true).await;
    let leads: Vec<Option<i64>> = preview.changes.iter().map(|c| c.marketo_lead_id).collect();
    assert_eq!(leads, [Some(first), Some(linked[0])], "{preview:?}");
    for twin in [second, linked[1]] {
        assert!(
            preview
                .warnings
                .iter()
                .any(|w| w.starts_with(&format!("Marketo lead {twin} "))),
            "{twin}: {preview:?}"
        );
    }
    let run = reconcile(&world, false).await;
    assert_eq!(run.changes, preview.changes);
    world.settle().await;
    let made: Vec<_> = world.sf.state()["objects"]["Lead"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            l["Email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case("dup@example.com"))
        })
        .cloned()
        .collect();
    assert_eq!(
        made.len(),
        1,
        "one Salesforce Lead for the address: {made:?}"
    );
    assert_eq!(
        world.sf_member_status(&target).as_deref(),
        Some("Registered"),
        "the lowest linked lead's status, not overwritten by its duplicate's"
    );
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert!(dead.is_empty(), "{dead:?}");
    let again = reconcile(&world, true).await;
    assert!(again.changes.is_empty(), "{again:?}");
}

/// A Marketo address with spaces around it is created in Salesforce without them.
#[tokio::test]
async fn a_marketo_address_with_spaces_is_created_trimmed() {
    let world = World::new().await;
    let lead = world.mk.add_lead(NewLead::email(" spaced@example.com "));
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let made: Vec<String> = world.sf.state()["objects"]["Lead"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["Email"].as_str().map(str::to_string))
        .collect();
    assert_eq!(made, ["spaced@example.com"]);
    assert!(world.app.store.dead(0, 10).await.unwrap().is_empty());
}

/// Duplicate Marketo leads whose changes reach the worker in one round by the activity feed
/// (no e-mail in the signal, so nothing pairs them before the write): one Salesforce Lead is
/// created, the lowest lead id's; the other is left alone, saying why.
#[tokio::test]
async fn feed_changes_of_marketo_duplicates_in_one_round_make_one_salesforce_lead() {
    use campaign_sync::signal::{MarketoMember, NewSignal, Signal};
    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    let first = world.mk.add_lead(NewLead::email("twice@example.com"));
    let second = world.mk.add_lead(NewLead::email("twice@example.com"));
    world.mk_sets(second, "Attended");
    world.mk_sets(first, "Registered");
    let signals = [second, first]
        .into_iter()
        .map(|lead| {
            NewSignal::new(
                format!("feed:{lead}"),
                Signal::MarketoMember(MarketoMember {
                    lead_id: lead,
                    program_id: crate::world::PROGRAM,
                    email: None,
                    status: None,
                    trigger: Some("activity feed".into()),
                }),
            )
        })
        .collect();
    world
        .app
        .store
        .record(signals, campaign_sync::store::now_millis())
        .await
        .unwrap();
    world.settle().await;

    let made: Vec<String> = world.sf.state()["objects"]["Lead"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["Id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(
        world.sf_member_status(&made[0]).as_deref(),
        Some("Registered")
    );
    let skipped = world
        .outcomes(campaign_sync::kinds::OutcomeResult::Skipped)
        .await;
    let said = format!("Marketo lead {second} shares its address with lead {first}");
    assert!(
        skipped
            .iter()
            .any(|o| o.reason.as_deref().is_some_and(|r| r.starts_with(&said))),
        "{skipped:?}"
    );
}

/// A Marketo lead with neither an address nor a Salesforce link is named, not queued.
#[tokio::test]
async fn a_marketo_lead_without_an_address_or_a_link_is_named_not_queued() {
    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    let lead = world.mk.add_lead(NewLead::default());
    world.mk_sets(lead, "Registered");
    let preview = reconcile(&world, true).await;
    assert!(preview.changes.is_empty(), "{preview:?}");
    let named = format!("Marketo lead {lead} has no e-mail address and no Salesforce link");
    assert!(
        preview.warnings.iter().any(|w| w.starts_with(&named)),
        "{preview:?}"
    );
    reconcile(&world, false).await;
    world.settle().await;
    assert!(world.app.store.dead(0, 10).await.unwrap().is_empty());
}
