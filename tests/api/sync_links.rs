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
