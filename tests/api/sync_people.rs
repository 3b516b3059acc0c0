//! The sync worker and people: created on the side that does not know them (or refused there),
//! a status Marketo already holds, a lead merged away meanwhile, and both sides' signals for one
//! new person.

use campaign_sync::kinds::{Action, Connector};
use campaign_sync::signal::{NewSignal, SalesforceMember, Signal};
use campaign_sync::store::{OutcomeResult, now_millis};
use serde_json::json;

use crate::world::{Options, PROGRAM, USER, World};

#[tokio::test]
async fn people_unknown_to_the_other_side_are_created_there() {
    let world = World::new().await;
    // Only in Salesforce: becomes a Marketo person, then a program member.
    let sf_only = world
        .sf
        .create_lead(
            json!({ "FirstName": "Emmy", "LastName": "Noether", "Company": "Erlangen", "Email": "emmy@example.com" }),
        )
        .unwrap();
    world.sf_adds(&sf_only, Some("Registered"));
    // Only in Marketo: becomes a Salesforce Lead with Marketo's fallbacks, then a member.
    let mk_only = world
        .mk
        .add_lead(campaign_sync::sim::marketo::NewLead::email(
            "hedy@example.com",
        ));
    world.mk_sets(mk_only, "Invited");
    world.settle().await;
    let emmy = world
        .mk
        .leads()
        .into_iter()
        .find(|l| l.email() == Some("emmy@example.com"))
        .expect("created in Marketo");
    assert_eq!(world.mk_status(emmy.id).as_deref(), Some("Registered"));
    // Created as Marketo's own sync would: with the names and company Salesforce shows.
    assert_eq!(emmy.field("firstName"), "Emmy");
    assert_eq!(emmy.field("lastName"), "Noether");
    assert_eq!(emmy.field("company"), "Erlangen");
    let state = world.sf.state();
    let hedy = state["objects"]["Lead"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["Email"] == "hedy@example.com")
        .expect("created in Salesforce")
        .clone();
    assert_eq!(hedy["LastName"], "[not provided]");
    assert_eq!(hedy["Company"], "[not provided]");
    assert_eq!(
        world
            .sf_member_status(hedy["Id"].as_str().unwrap())
            .as_deref(),
        Some("Invited")
    );
}

#[tokio::test]
async fn a_person_marketo_refuses_to_create_is_dead_with_marketos_reason() {
    // An org with Email Address Internationalization on; Marketo's lead sync wants ASCII.
    let world = World::with(Options {
        sf: campaign_sync::sim::salesforce::SalesforceSimConfig {
            international_email: true,
            ..Default::default()
        },
        ..Options::default()
    })
    .await;
    let lead = world
        .sf
        .create_lead(json!({ "LastName": "Peña", "Company": "Uni", "Email": "peña@example.com" }))
        .unwrap();
    world.sf_adds(&lead, Some("Registered"));
    world.settle().await;
    assert!(world.mk.leads().is_empty(), "no Marketo person");
    let dead = world.outcomes(OutcomeResult::Dead).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    let reason = dead[0].reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("did not create the person peña@example.com") && reason.contains("1003"),
        "the reason names the person and Marketo's code: {reason}"
    );
    // The write it was to make: a status in Marketo (it used to read `none`).
    assert_eq!(dead[0].connector, Connector::Marketo);
    assert_eq!(dead[0].action, Action::SetStatus);
}

#[tokio::test]
async fn a_1037_when_marketo_is_already_at_the_status_is_skipped_not_diverged() {
    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("already@example.com");
    let member_id = {
        world
            .sf
            .add_member(
                crate::world::USER,
                &world.campaign,
                &sf_lead,
                Some("Invited"),
            )
            .unwrap();
        world.settle().await;
        world.sf_member_id(&sf_lead).expect("a member")
    };
    assert_eq!(world.mk_status(lead).as_deref(), Some("Invited"));
    // Marketo moves on by itself (its webhook is lost); then Salesforce makes the same move.
    world.mk_sets(lead, "Registered");
    world
        .sf
        .update_member(crate::world::USER, &member_id, "Registered")
        .unwrap();
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    let diverged = world.outcomes(OutcomeResult::Diverged).await;
    assert!(diverged.is_empty(), "nothing diverged: {diverged:?}");
    let skipped = world.outcomes(OutcomeResult::Skipped).await;
    assert!(
        skipped.iter().any(|o| o
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("Registered"))),
        "{skipped:?}"
    );
}

#[tokio::test]
async fn a_lead_merged_away_in_marketo_is_found_again_and_the_write_lands_on_the_survivor() {
    use campaign_sync::config::ConflictPolicy;
    use campaign_sync::sim::marketo::NewLead;

    // Under marketo_wins the change reads Marketo first: the merged-away lead it does not
    // return must not read as Marketo removing the person (which would delete the member).
    for policy in [ConflictPolicy::LastWriterWins, ConflictPolicy::MarketoWins] {
        let world = World::with(Options {
            conflict_policy: policy,
            ..Options::default()
        })
        .await;
        let (loser, sf_lead) = world.person("merged@example.com");
        world.sf_adds(&sf_lead, Some("Invited"));
        world.settle().await;
        assert_eq!(world.mk_status(loser).as_deref(), Some("Invited"));
        let member_id = world.sf_member_id(&sf_lead).expect("a member");

        // A marketer merges the person's lead into a duplicate: the old id is gone.
        let winner = world.mk.add_lead(NewLead::email("merged@example.com"));
        assert!(world.mk.merge_leads(winner, loser));
        world
            .sf
            .update_member(USER, &member_id, "Registered")
            .unwrap();
        world.settle().await;
        assert_eq!(
            world.mk_status(winner).as_deref(),
            Some("Registered"),
            "{policy:?}"
        );
        assert_eq!(
            world.sf_member_status(&sf_lead).as_deref(),
            Some("Registered"),
            "{policy:?}: the member stays"
        );
        let dead = world.app.store.dead(0, 10).await.unwrap();
        assert!(dead.is_empty(), "{policy:?}: nothing dead: {dead:?}");
    }
}

#[tokio::test]
async fn both_sides_signals_for_a_new_person_in_one_round_make_one_identity() {
    use campaign_sync::signal::MarketoMember;

    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("twice@example.com");
    let member = world.sf_adds(&sf_lead, Some("Invited"));
    world.mk_sets(lead, "Invited");
    let from_salesforce = NewSignal::new(
        "both:sf",
        Signal::SalesforceMember(SalesforceMember {
            notification_id: "04l000000000001AAA".into(),
            organization_id: String::new(),
            member_id: member,
            campaign_id: Some(world.campaign.clone()),
            lead_id: Some(sf_lead.clone()),
            contact_id: None,
            email: Some("twice@example.com".into()),
            status: Some("Invited".into()),
            has_responded: None,
            created_date: None,
            last_modified_date: None,
            system_modstamp: None,
        }),
    );
    let from_marketo = NewSignal::new(
        "both:mk",
        Signal::MarketoMember(MarketoMember {
            lead_id: lead,
            program_id: PROGRAM,
            email: Some("twice@example.com".into()),
            status: None,
            trigger: None,
        }),
    );
    world
        .app
        .store
        .record(vec![from_salesforce, from_marketo], now_millis())
        .await
        .unwrap();
    let report = world.app.worker.run_pending().await.unwrap();
    assert_eq!((report.retried, report.dead), (0, 0), "{report:?}");
    let identity = world
        .app
        .store
        .find_identity(Some(lead), None, None)
        .await
        .unwrap()
        .expect("one identity");
    assert_eq!(identity.sf_lead_id.as_deref(), Some(sf_lead.as_str()));
}

#[tokio::test]
async fn a_salesforce_lead_deleted_since_it_was_linked_is_replaced_on_the_next_write() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("again@example.com");
    world.mk_sets(lead, "Invited");
    world.settle().await;
    // A Salesforce user removes the member and deletes the Lead; the identity still links it.
    let member = world.sf_member_id(&sf_lead).unwrap();
    world.sf.delete_member(USER, &member).unwrap();
    world.sf.delete(USER, &sf_lead).unwrap();
    // Salesforce reports a deletion once its minute has passed.
    world.sf.advance_clock(std::time::Duration::from_secs(90));
    world
        .app
        .worker
        .poll_deleted_at(now_millis() + 90_000)
        .await
        .unwrap();
    world.settle().await;
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let members = world.sf.members_of(&world.campaign);
    let outcomes = world.app.store.outcomes(None, 0, 20).await.unwrap();
    assert_eq!(members.len(), 1, "{members:?} {outcomes:#?}");
    let person = members[0]["LeadId"].as_str().unwrap().to_string();
    assert_ne!(
        person, sf_lead,
        "a new Lead, found again by e-mail or created"
    );
    assert_eq!(
        world.sf_member_status(&person).as_deref(),
        Some("Registered")
    );
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert!(dead.is_empty(), "{dead:?}");
}

#[tokio::test]
async fn a_removal_of_someone_marketo_no_longer_has_creates_no_one() {
    use campaign_sync::sim::marketo::NewLead;

    let world = World::new().await;
    let (lead, _, member) = world.synced_person("left@example.com", "Registered").await;
    // The person's lead is merged into one with another address, and the merge already seen
    // (the link dropped, as after a 1004): Marketo has no one with their address.
    let other = world.mk.add_lead(NewLead::email("other@example.com"));
    assert!(world.mk.merge_leads(other, lead));
    world
        .app
        .store
        .forget_marketo_lead(1, lead, now_millis())
        .await
        .unwrap();
    let leads_before = world.mk.leads().len();
    world.sf.delete_member(USER, &member).unwrap();
    world.sf.advance_clock(std::time::Duration::from_secs(90));
    let later = now_millis() + 90_000;
    assert_eq!(world.app.worker.poll_deleted_at(later).await.unwrap(), 1);
    world.settle().await;
    assert_eq!(
        world.mk.leads().len(),
        leads_before,
        "no lead created to remove"
    );
    let skipped = world.outcomes(OutcomeResult::Skipped).await;
    assert!(
        skipped.iter().any(|o| o
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("no person with this e-mail to remove"))),
        "{skipped:?}"
    );
    assert!(world.outcomes(OutcomeResult::Dead).await.is_empty());
}

#[tokio::test]
async fn a_new_marketo_person_is_created_by_e_mail_alone_when_salesforce_cannot_be_read() {
    let world = World::new().await;
    let lead = world
        .sf
        .create_lead(json!({ "FirstName": "Grace", "LastName": "Hopper", "Company": "Navy", "Email": "grace@example.com" }))
        .unwrap();
    world.sf_adds(&lead, Some("Registered"));
    // The mapping's statuses are checked first; then Salesforce fails the names query and the
    // client's retries of it.
    world.app.worker.check_statuses().await;
    world
        .sf_fault(json!({ "http_status": 503, "calls": 4 }))
        .await;
    world.settle().await;
    let grace = world
        .mk
        .leads()
        .into_iter()
        .find(|l| l.email() == Some("grace@example.com"))
        .expect("created in Marketo all the same");
    assert_eq!(grace.field("lastName"), serde_json::Value::Null);
    assert_eq!(world.mk_status(grace.id).as_deref(), Some("Registered"));
    assert!(world.outcomes(OutcomeResult::Dead).await.is_empty());
}

/// Other integrations create two people in Marketo after the service looked them up and found
/// nobody: each create is skipped (1005), the person is taken by e-mail alone, and their names
/// and company stay as Marketo has them. Sent as an update, Salesforce's names would have been
/// written over theirs (and a `company` update is refused with 1021).
#[tokio::test]
async fn people_marketo_gains_between_lookup_and_create_are_joined_not_overwritten() {
    use campaign_sync::sim::marketo::NewLead;
    let world = World::new().await;
    let contact = world
        .sf
        .create_contact(
            json!({ "FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com" }),
        )
        .unwrap();
    let lead = world
        .sf
        .create_lead(
            json!({ "FirstName": "Emmy", "LastName": "Noether", "Company": "Erlangen", "Email": "emmy@example.com" }),
        )
        .unwrap();
    for (email, first, company) in [
        ("Ada@Example.com", "Augusta", "Byron & Co"),
        ("emmy@example.com", "Amalie", "Göttingen"),
    ] {
        let mut racer = NewLead::email(email);
        racer.first_name = Some(first.into());
        racer.fields.insert("company".into(), json!(company));
        world.mk.add_lead_before_next_sync(racer);
    }
    world.sf_adds(&contact, Some("Registered"));
    world.sf_adds(&lead, Some("Registered"));
    world.settle().await;
    for (email, racer, first, company) in [
        (
            "ada@example.com",
            "Ada@Example.com",
            "Augusta",
            "Byron & Co",
        ),
        (
            "emmy@example.com",
            "emmy@example.com",
            "Amalie",
            "Göttingen",
        ),
    ] {
        let leads: Vec<_> = world
            .mk
            .leads()
            .into_iter()
            .filter(|l| l.email().is_some_and(|e| e.eq_ignore_ascii_case(email)))
            .collect();
        assert_eq!(leads.len(), 1, "one {email}, not a duplicate");
        assert_eq!(leads[0].field("firstName"), first);
        assert_eq!(
            leads[0].email(),
            Some(racer),
            "the address as Marketo has it, not rewritten"
        );
        assert_eq!(leads[0].field("company"), company);
        assert_eq!(world.mk_status(leads[0].id).as_deref(), Some("Registered"));
    }
    assert!(world.app.store.dead(0, 10).await.unwrap().is_empty());
}
