//! Marketo's own link to Salesforce (`sfdcContactId`, `sfdcLeadId`) decides who a new person is
//! on the other side, before any e-mail match: a duplicate by e-mail, a different e-mail or none
//! at all does not lead the write astray.

use campaign_sync::sim::marketo::NewLead;
use serde_json::json;

use crate::world::World;

#[tokio::test]
async fn a_marketo_change_reaches_the_linked_contact_not_an_e_mail_twin() {
    let world = World::new().await;
    // An older Contact shares Ada's e-mail; Marketo's sync links her to another one.
    let twin = world
        .sf
        .create_contact(json!({ "LastName": "Twin", "Email": "ada@example.com" }))
        .unwrap();
    let linked = world
        .sf
        .create_contact(json!({ "LastName": "Lovelace", "Email": "ada@old.example.com" }))
        .unwrap();
    let ada = world.mk.add_lead(NewLead {
        sfdc_contact_id: Some(linked.clone()),
        ..NewLead::email("ada@example.com")
    });
    // No e-mail at all in Marketo, but linked to a Lead.
    let sf_lead = world
        .sf
        .create_lead(
            json!({ "LastName": "Hopper", "Company": "Navy", "Email": "grace@example.com" }),
        )
        .unwrap();
    let grace = world.mk.add_lead(NewLead {
        sfdc_lead_id: Some(sf_lead.clone()),
        ..NewLead::default()
    });
    world.mk_sets(ada, "Registered");
    world.mk_sets(grace, "Invited");
    world.settle().await;

    assert_eq!(
        world.sf_member_status(&linked).as_deref(),
        Some("Registered")
    );
    assert_eq!(
        world.sf_member_status(&twin),
        None,
        "the e-mail twin is left alone"
    );
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("Invited"));
    let leads = world.sf.state()["objects"]["Lead"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(leads, 1, "no Lead was created for either");
}

#[tokio::test]
async fn a_salesforce_change_reaches_the_linked_marketo_person_not_the_first_by_e_mail() {
    let world = World::new().await;
    let contact = world
        .sf
        .create_contact(json!({ "LastName": "Noether", "Email": "emmy@example.com" }))
        .unwrap();
    let unlinked = world.mk.add_lead(NewLead::email("emmy@example.com"));
    let linked = world.mk.add_lead(NewLead {
        sfdc_contact_id: Some(contact.clone()),
        ..NewLead::email("emmy@example.com")
    });
    assert!(unlinked < linked, "the unlinked duplicate is listed first");
    world.sf_adds(&contact, Some("Registered"));
    world.settle().await;

    assert_eq!(world.mk_status(linked).as_deref(), Some("Registered"));
    assert_eq!(world.mk_status(unlinked), None);
}

/// A Salesforce Lead whose address is that of a Marketo lead Marketo links to another Lead is
/// not that lead: its change is left alone, saying why, rather than adding the other person's
/// lead to the program with this Lead's status.
#[tokio::test]
async fn a_salesforce_lead_is_not_paired_with_a_lead_marketo_links_to_another_lead() {
    let world = World::new().await;
    let older = world
        .sf
        .create_lead(json!({ "LastName": "Old", "Company": "Co", "Email": "iris@example.com" }))
        .unwrap();
    let newer = world
        .sf
        .create_lead(json!({ "LastName": "New", "Company": "Co", "Email": "iris@example.com" }))
        .unwrap();
    let iris = world.mk.add_lead(NewLead {
        sfdc_lead_id: Some(older.clone()),
        ..NewLead::email("iris@example.com")
    });
    world.sf_adds(&newer, Some("Registered"));
    world.settle().await;

    assert_eq!(world.mk_status(iris), None, "not added for another Lead");
    assert_eq!(world.sf_member_status(&older), None);
    let said = format!(
        "Marketo lead {iris} with this address is linked by Marketo to Salesforce {older}: {newer} is left alone"
    );
    let skipped = world
        .outcomes(campaign_sync::kinds::OutcomeResult::Skipped)
        .await;
    assert!(
        skipped
            .iter()
            .any(|o| o.reason.as_deref().is_some_and(|r| r.contains(&said))),
        "{said}: {skipped:?}"
    );
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert!(dead.is_empty(), "{dead:?}");
}

/// A Contact may still be the person of a lead Marketo links to a Lead: the Lead converted.
#[tokio::test]
async fn a_contact_is_paired_with_a_lead_marketo_links_to_a_lead() {
    let world = World::new().await;
    let old_lead = world
        .sf
        .create_lead(json!({ "LastName": "Was", "Company": "Co", "Email": "conv@example.com" }))
        .unwrap();
    let contact = world
        .sf
        .create_contact(json!({ "LastName": "Now", "Email": "conv@example.com" }))
        .unwrap();
    let lead = world.mk.add_lead(NewLead {
        sfdc_lead_id: Some(old_lead),
        ..NewLead::email("conv@example.com")
    });
    world.sf_adds(&contact, Some("Registered"));
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
}

/// Marketo still links the lead to a Salesforce Lead that was deleted: the write finds it gone,
/// the link is not followed again, and the person is found (here: created) by the address.
#[tokio::test]
async fn a_link_to_a_deleted_salesforce_lead_is_not_followed_again() {
    let world = World::new().await;
    let gone = world
        .sf
        .create_lead(json!({ "LastName": "Gone", "Company": "Co", "Email": "gone@example.com" }))
        .unwrap();
    world.sf.delete(crate::world::USER, &gone).unwrap();
    let lead = world.mk.add_lead(NewLead {
        sfdc_lead_id: Some(gone.clone()),
        ..NewLead::email("gone@example.com")
    });
    world.mk_sets(lead, "Registered");
    world.settle().await;

    let leads: Vec<String> = world.sf.state()["objects"]["Lead"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["Id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(leads.len(), 1, "a new Lead: {leads:?}");
    assert_ne!(leads[0], gone);
    assert_eq!(
        world.sf_member_status(&leads[0]).as_deref(),
        Some("Registered")
    );
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert!(dead.is_empty(), "{dead:?}");
}
