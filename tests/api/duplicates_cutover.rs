//! Duplicates a cut-over meets: a Salesforce Lead sharing the address of a Marketo lead that
//! Marketo links to a Contact (the lead is the Contact's; the Lead is left alone, in the program
//! or not, on every run), and a duplicate Marketo lead beside a pair that differs (only the
//! winning side is written), and a Contact carrying the address of a lead Marketo links to another
//! Contact (left alone).

use campaign_sync::sim::marketo::NewLead;

use crate::duplicates::{join, quiet, reconcile};

/// At a cut-over, a Salesforce Lead member whose address is that of a Marketo member linked by
/// Marketo to a Contact that is not a member: the lead is the Contact's (the Contact is added
/// with its status), and the Lead's change does not reach that lead, nor does the lead's status
/// come back onto the Lead.
#[tokio::test]
async fn a_lead_beside_a_contact_marketo_links_keeps_its_status_at_a_cut_over() {
    let world = quiet().await;
    let contact = world
        .sf
        .create_contact(serde_json::json!({ "LastName": "Contact", "Email": "bo@example.com" }))
        .unwrap();
    let sf_lead = world
        .sf
        .create_lead(
            serde_json::json!({ "LastName": "Lead", "Company": "Co", "Email": "bo@example.com" }),
        )
        .unwrap();
    let bo = world.mk.add_lead(NewLead {
        sfdc_contact_id: Some(contact.clone()),
        ..NewLead::email("bo@example.com")
    });
    world.mk_sets(bo, "Attended");
    join(&world, &sf_lead, Some("Invited"));
    let preview = reconcile(&world, true).await;
    assert_eq!(
        preview.changes.len(),
        1,
        "only the Contact's add: {preview:?}"
    );
    assert_eq!(preview.changes[0].side, "salesforce", "{preview:?}");
    let left_alone = format!(
        "Salesforce {sf_lead} has the address of Marketo lead {bo}, which Marketo links to Salesforce {contact}: left alone"
    );
    assert!(
        preview.warnings.iter().any(|w| w.contains(&left_alone)),
        "{preview:?}"
    );
    let run = reconcile(&world, false).await;
    assert_eq!(
        run.changes, preview.changes,
        "the run does what the preview listed"
    );
    world.settle().await;

    assert_eq!(
        world.sf_member_status(&contact).as_deref(),
        Some("Attended")
    );
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Invited"),
        "not given the Contact's status"
    );
    assert_eq!(world.mk_status(bo).as_deref(), Some("Attended"));
    let writes_to_bo = world
        .mk
        .requests()
        .iter()
        .filter(|r| {
            r.path.ends_with("/status.json")
                && r.body.as_deref().is_some_and(|b| b.contains("\"Invited\""))
        })
        .count();
    assert_eq!(
        writes_to_bo, 0,
        "the Lead's status is not sent to the Contact's lead"
    );
    let identity = world
        .app
        .store
        .find_identity(Some(bo), None, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        identity.email.as_deref(),
        Some("bo@example.com"),
        "a person found by Marketo's link keeps their address"
    );
    // Every later run reads the same: nothing to do, the Lead named as left alone (the check
    // after a repair, and the next run, listed it as a change, then as diverged).
    for dry_run in [true, false, true] {
        let again = reconcile(&world, dry_run).await;
        world.settle().await;
        assert_eq!(again.changes, [], "{again:?}");
        assert_eq!(again.diverged, [], "{again:?}");
        let named = format!("Salesforce {sf_lead} has the address of Marketo lead {bo}, which");
        assert!(
            again
                .warnings
                .iter()
                .any(|w| w.contains(&named) && w.contains("left alone")),
            "{again:?}"
        );
    }
}

/// A cut-over meets a person whose Marketo lead (later) and Salesforce Lead (earlier) differ,
/// beside a duplicate Marketo lead with the same address: Salesforce is brought to Marketo's
/// status, and Marketo is not sent the losing side's status (a wasted call it refuses).
#[tokio::test]
async fn a_cut_over_beside_a_duplicate_lead_writes_only_the_winning_side() {
    let world = quiet().await;
    let sf_lead = world
        .sf
        .create_lead(
            serde_json::json!({ "LastName": "Rita", "Company": "Co", "Email": "rita@example.com" }),
        )
        .unwrap();
    join(&world, &sf_lead, Some("Invited"));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let rita = world.mk.add_lead(NewLead {
        sfdc_lead_id: Some(sf_lead.clone()),
        ..NewLead::email("rita@example.com")
    });
    world.mk_sets(rita, "Registered");
    world.mk.add_lead(NewLead::email("rita@example.com"));
    let run = reconcile(&world, false).await;
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered"),
        "{run:?}"
    );
    let sent_back = world
        .mk
        .requests()
        .iter()
        .filter(|r| {
            r.path.ends_with("/status.json")
                && r.body.as_deref().is_some_and(|b| b.contains("\"Invited\""))
        })
        .count();
    assert_eq!(
        sent_back, 0,
        "the losing status is not sent to Marketo: {run:?}"
    );
}

/// As above with the Marketo lead in no program: the Salesforce Lead sharing its address, which
/// Marketo links to the person's Contact, is named as left alone on every run rather than
/// planned (the worker leaves it alone, so later runs listed it as diverged).
#[tokio::test]
async fn a_lead_beside_a_contact_marketo_links_outside_the_program_is_left_alone_every_run() {
    let world = quiet().await;
    let contact = world
        .sf
        .create_contact(serde_json::json!({ "LastName": "Contact", "Email": "dora@example.com" }))
        .unwrap();
    let sf_lead = world
        .sf
        .create_lead(
            serde_json::json!({ "LastName": "Lead", "Company": "Co", "Email": "dora@example.com" }),
        )
        .unwrap();
    let dora = world.mk.add_lead(NewLead {
        sfdc_contact_id: Some(contact.clone()),
        ..NewLead::email("dora@example.com")
    });
    join(&world, &sf_lead, Some("Invited"));
    let named = format!("Salesforce {sf_lead} has the address of Marketo lead {dora}, which");
    for dry_run in [true, false, false, true] {
        let report = reconcile(&world, dry_run).await;
        world.settle().await;
        assert_eq!(report.changes, [], "{report:?}");
        assert_eq!(report.diverged, [], "{report:?}");
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.contains(&named) && w.contains("left alone")),
            "{report:?}"
        );
    }
    assert_eq!(world.mk_status(dora), None, "the lead was not added");
}

/// A lead Marketo links to one Contact while carrying another Contact's address: the linked
/// Contact is its person, and the other is left alone, in the preview as in the run.
#[tokio::test]
async fn a_contact_with_the_address_of_a_lead_linked_elsewhere_is_left_alone_in_preview_and_run() {
    let world = quiet().await;
    let frank = world
        .sf
        .create_contact(serde_json::json!({ "LastName": "Frank", "Email": "frank.x@example.com" }))
        .unwrap();
    let eve = world
        .sf
        .create_contact(serde_json::json!({ "LastName": "Eve", "Email": "eve.x@example.com" }))
        .unwrap();
    for person in [&frank, &eve] {
        join(&world, person, Some("Invited"));
    }
    let lead = world.mk.add_lead(NewLead {
        sfdc_contact_id: Some(frank.clone()),
        ..NewLead::email("eve.x@example.com")
    });
    world.mk_sets(lead, "Invited");
    for dry_run in [true, false] {
        let report = reconcile(&world, dry_run).await;
        assert!(report.changes.is_empty(), "dry run {dry_run}: {report:?}");
        assert!(
            report.warnings.iter().any(|w| w.contains(&format!(
                "Salesforce {eve} has the address of Marketo lead {lead}, which is linked to Salesforce {frank}"
            ))),
            "dry run {dry_run}: {report:?}"
        );
    }
}
