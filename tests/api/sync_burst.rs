//! The real worker against the strict simulators: a burst of new people with realistic e-mail
//! addresses pushes no call past a URI limit or into a dead letter, and a Campaign row locked
//! by another transaction is retried.

use crate::world::World;

/// A realistic 30-character address.
fn address(i: usize) -> String {
    let address = format!("firstname.lastname{i:03}@acme.com");
    assert_eq!(address.len(), 30);
    address
}

#[tokio::test]
async fn three_hundred_new_marketo_members_all_reach_salesforce() {
    let world = World::new().await;
    let leads: Vec<i64> = (0..300)
        .map(|i| {
            world
                .mk
                .add_lead(campaign_sync::sim::marketo::NewLead::email(&address(i)))
        })
        .collect();
    for lead in &leads {
        world.mk_sets(*lead, "Registered");
    }
    world.settle().await;
    let members = world.sf.members_of(&world.campaign);
    assert_eq!(members.len(), 300, "every new member reached Salesforce");
    assert!(
        members
            .iter()
            .all(|m| m.get("Status").and_then(|s| s.as_str()) == Some("Registered"))
    );
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert!(dead.is_empty(), "no dead letter: {dead:?}");
    let refused: Vec<_> = world
        .mk
        .requests()
        .into_iter()
        .filter(|r| r.kind == "rest" && r.status != Some(200))
        .collect();
    assert!(refused.is_empty(), "no Marketo call refused: {refused:?}");
}

#[tokio::test]
async fn three_hundred_new_salesforce_members_all_reach_marketo() {
    let world = World::new().await;
    let people: Vec<String> = (0..300)
        .map(|i| {
            world
                .sf
                .create_lead(serde_json::json!({
                    "LastName": format!("Person {i}"), "Company": "Acme", "Email": address(i)
                }))
                .unwrap()
        })
        .collect();
    for person in &people {
        world.sf_adds(person, Some("Registered"));
    }
    world.settle().await;
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert!(dead.is_empty(), "no dead letter: {dead:?}");
    let lookups: Vec<_> = world
        .mk
        .requests()
        .into_iter()
        .filter(|r| r.path == "/rest/v1/leads.json")
        .collect();
    assert!(lookups.iter().all(|r| r.status == Some(200)), "{lookups:?}");
    let emails: Vec<String> = (0..300).map(address).collect();
    let registered = world
        .mk
        .leads()
        .into_iter()
        .filter(|lead| lead.email().is_some_and(|e| emails.iter().any(|a| a == e)))
        .filter(|lead| world.mk_status(lead.id).as_deref() == Some("Registered"))
        .count();
    assert_eq!(registered, 300, "every new member reached Marketo");
}

#[tokio::test]
async fn a_locked_campaign_row_is_retried_until_the_write_lands() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("ada@example.com");
    world.sf.hold_campaign_lock(&world.campaign, 1).unwrap();
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    let collection_calls = world
        .sf
        .requests()
        .iter()
        .filter(|r| r.path.contains("composite/sobjects"))
        .count();
    assert_eq!(collection_calls, 2, "the locked write, then its retry");
    assert!(world.app.store.dead(0, 10).await.unwrap().is_empty());
}
