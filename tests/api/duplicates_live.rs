//! Duplicates met by live changes (a webhook, an outbound message), not by a reconciliation:
//! a duplicate Marketo lead's or Salesforce Lead's change is left alone and named, a synced
//! Lead keeps syncing once a Contact with its address appears elsewhere, and a Marketo
//! person Salesforce holds several times is written to one, the others named.

use campaign_sync::sim::marketo::NewLead;

use crate::duplicates::{linked, skipped_saying};
use crate::world::{Options, World};

/// A live change of a duplicate Marketo lead (the linked person's address, another lead) is
/// left alone, as reconciliation leaves it; once the linked lead is merged into it, the
/// survivor's changes sync.
#[tokio::test]
async fn a_duplicate_marketo_leads_live_change_is_left_alone_until_merged() {
    let world = World::new().await;
    let (lead, sf_lead) = linked(&world, "dup.live@example.com").await;
    let twin = world.mk.add_lead(NewLead::email("dup.live@example.com"));
    world.mk_sets(twin, "No Show");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered"),
        "the duplicate's status is not the person's"
    );
    skipped_saying(
        &world,
        &format!("Marketo lead {twin} shares its e-mail with lead {lead}"),
    )
    .await;
    // The webhook's outcome and the activity feed's name the duplicate's own person, whom a
    // search by its lead id finds (the webhook's was named for the linked person).
    let own = world
        .app
        .store
        .find_identity(Some(twin), None, None)
        .await
        .unwrap()
        .expect("the duplicate lead is a person of its own");
    let about_twin: Vec<_> = world
        .outcomes(campaign_sync::kinds::OutcomeResult::Skipped)
        .await
        .into_iter()
        .filter(|o| {
            o.reason
                .as_deref()
                .is_some_and(|r| r.contains(&format!("lead {twin} ")))
        })
        .collect();
    assert!(!about_twin.is_empty());
    for outcome in &about_twin {
        assert_eq!(outcome.person, Some(own.id.to_string()), "{outcome:?}");
    }
    // Merged in Marketo: the survivor is the person now.
    assert!(world.mk.merge_leads(twin, lead));
    world.mk_sets(twin, "Attended");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
    let identity = world
        .app
        .store
        .find_identity(None, Some(&sf_lead), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(identity.mkto_lead_id, Some(twin));
}

/// A Salesforce Lead sharing the address of a Contact that is the person: its membership's
/// changes are left alone (a Contact before a Lead), not written over the Contact's status.
#[tokio::test]
async fn a_duplicate_salesforce_leads_live_change_is_left_alone() {
    let world = World::new().await;
    let lead = world.mk.add_lead(NewLead::email("both.live@example.com"));
    let contact = world
        .sf
        .create_contact(serde_json::json!({ "LastName": "Both", "Email": "both.live@example.com" }))
        .unwrap();
    world.sf_adds(&contact, Some("Registered"));
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    let duplicate = world
        .sf
        .create_lead(serde_json::json!({ "LastName": "Both", "Company": "Dup", "Email": "both.live@example.com" }))
        .unwrap();
    world.sf_adds(&duplicate, Some("Attended"));
    world.settle().await;
    assert_eq!(
        world.mk_status(lead).as_deref(),
        Some("Registered"),
        "the duplicate Lead's status is not the person's"
    );
    skipped_saying(
        &world,
        &format!("Salesforce Lead {duplicate} shares the person of Contact {contact}"),
    )
    .await;
    // Passed over by the address alone, it is not joined to the person: their history and
    // events keep naming their own records, and a search by the Lead finds no one.
    let person = world
        .app
        .store
        .find_identity(None, Some(&contact), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(person.sf_lead_id, None, "{person:?}");
    let by_lead = world
        .app
        .store
        .find_identity(None, Some(&duplicate), None)
        .await
        .unwrap();
    assert_eq!(by_lead, None);
}

/// A person synced by their Lead in one campaign keeps syncing there when a Contact with their
/// address joins them through another campaign: the Lead's membership is the one the mirror
/// links to them, not a duplicate's (it was passed over on every change, and each
/// reconciliation queued it again).
#[tokio::test]
async fn a_leads_synced_membership_keeps_syncing_once_a_contact_joins_elsewhere() {
    let world = World::with(Options {
        second_webinar: true,
        ..Options::default()
    })
    .await;
    let second = world.second_campaign.clone().unwrap();
    let (lead, sf_lead) = world.person("linus@example.com");
    let member = world
        .sf
        .add_member(crate::world::USER, &second, &sf_lead, Some("Invited"))
        .unwrap();
    world.settle().await;
    let in_second = |world: &World| {
        world
            .mk
            .member(crate::world::SECOND_PROGRAM, lead)
            .map(|m| m.status_name)
    };
    assert_eq!(in_second(&world).as_deref(), Some("Invited"));
    let contact = world
        .sf
        .create_contact(serde_json::json!({ "LastName": "Linus", "Email": "linus@example.com" }))
        .unwrap();
    world.sf_adds(&contact, Some("Registered"));
    world.settle().await;
    world
        .sf
        .update_member(crate::world::USER, &member, "Registered")
        .unwrap();
    world.settle().await;
    assert_eq!(
        in_second(&world).as_deref(),
        Some("Registered"),
        "the Lead's own synced membership is not a duplicate's"
    );
    // And the next change too, once a write has recorded the person (a Contact first) on the
    // membership's row.
    world
        .sf
        .update_member(crate::world::USER, &member, "Attended")
        .unwrap();
    world.settle().await;
    assert_eq!(in_second(&world).as_deref(), Some("Attended"));
    let mapping = world.app.worker.mappings().all()[1].clone();
    let member_person = |rows: Vec<campaign_sync::store::MirrorRow>| {
        rows.into_iter()
            .find(|r| r.sf_member_id.as_deref() == Some(member.as_str()))
            .and_then(|r| r.sf_person_id)
    };
    let rows = world.app.store.mirror_rows(mapping.name()).await.unwrap();
    assert_eq!(
        member_person(rows).as_deref(),
        Some(sf_lead.as_str()),
        "the row of the Lead's membership names the Lead, not the person's Contact"
    );
    // A reconciliation finds the membership where the sync left it: nothing to repair, and
    // the Marketo member stays (it was taken for a removal and deleted).
    for _ in 0..2 {
        let report = world
            .app
            .worker
            .reconcile_mapping(&mapping, false)
            .await
            .unwrap();
        world.settle().await;
        assert_eq!(report.differences, 0, "{:?}", report.changes);
        assert_eq!(in_second(&world).as_deref(), Some("Attended"));
    }
}

/// A Marketo person whose address Salesforce holds several times: the live write goes to one
/// (a Contact before a Lead, then the lowest id), and its outcome names the others, left alone,
/// as a reconciliation's warning would.
#[tokio::test]
async fn salesforce_duplicates_met_live_are_named_in_the_outcome() {
    let world = World::new().await;
    let email = "many@example.com";
    let sf_lead = world
        .sf
        .create_lead(serde_json::json!({ "LastName": "Many", "Company": "Dup", "Email": email }))
        .unwrap();
    let contact = |name: &str| {
        world
            .sf
            .create_contact(serde_json::json!({ "LastName": name, "Email": email }))
            .unwrap()
    };
    let (first, second) = (contact("One"), contact("Two"));
    let lead = world.mk.add_lead(NewLead::email(email));
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&first).as_deref(),
        Some("Registered")
    );
    let applied = world
        .outcomes(campaign_sync::kinds::OutcomeResult::Applied)
        .await;
    let reason = applied
        .iter()
        .filter_map(|o| o.reason.as_deref())
        .find(|r| r.starts_with("added to the campaign"))
        .expect("the write's outcome");
    assert!(
        reason.contains(&format!(
            "Salesforce has other records with this address, left alone: {sf_lead}, {second} \
             ({first} was chosen"
        )) || reason.contains(&format!(
            "left alone: {second}, {sf_lead} ({first} was chosen"
        )),
        "{reason}"
    );
}
