//! The real worker against the strict simulators: a burst of new people with realistic e-mail
//! addresses pushes no call past a URI limit or into a dead letter, and a Campaign row locked
//! by another transaction is retried, and a round's writes to one campaign take turns for its
//! row.

use std::time::Duration;

use campaign_sync::sim::salesforce::SalesforceSimConfig;

use crate::world::{Options, World};

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

/// Salesforce locks a campaign's row while it writes the campaign's members: a round's calls
/// to one campaign (450 new members: 200, 200 and 50) go one after another, so none waits for
/// the row past the lock timeout and fails with `UNABLE_TO_LOCK_ROW`.
#[tokio::test]
async fn a_rounds_member_calls_to_one_campaign_take_turns_for_its_row() {
    let world = World::with(Options {
        sf: SalesforceSimConfig {
            campaign_row_hold: Duration::from_millis(100),
            row_lock_timeout: Duration::from_millis(50),
            ..SalesforceSimConfig::default()
        },
        ..Options::default()
    })
    .await;
    for i in 0..450 {
        let lead = world
            .mk
            .add_lead(campaign_sync::sim::marketo::NewLead::email(&address(i)));
        world.mk_sets(lead, "Registered");
    }
    world.settle().await;
    let writes: Vec<_> = world
        .sf
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.contains("composite/sobjects"))
        .collect();
    let locked: Vec<_> = writes.iter().filter(|r| r.error_code.is_some()).collect();
    assert!(locked.is_empty(), "no record refused: {locked:?}");
    let members = writes
        .iter()
        .filter(|r| !r.ids.iter().any(|id| id.starts_with("00Q")));
    let sizes: Vec<usize> = members.map(|r| r.records).collect();
    assert_eq!(sizes, [200, 200, 50], "one call each, none retried");
    assert_eq!(world.sf.members_of(&world.campaign).len(), 450);
    assert!(world.app.store.dead(0, 10).await.unwrap().is_empty());
}
