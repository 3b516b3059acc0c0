//! Duplicates on both sides, as a cut-over from Marketo's native sync meets them and live
//! changes keep bringing them: duplicate Marketo leads, a Salesforce Lead beside the person's
//! Contact, two Leads with one address, a lead Marketo links to someone else, two state rows for
//! one person. Each is left alone and named, in the preview as in the run and on every path,
//! so no person's status is written onto another and a second reconciliation settles.

use campaign_sync::sim::marketo::NewLead;

use crate::world::{Options, World};

/// A world whose Marketo changes reach the service only as the test sends them.
pub(crate) async fn quiet() -> World {
    World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await
}

/// A person synced at "Registered": their Marketo lead and Salesforce Lead.
pub(crate) async fn linked(world: &World, email: &str) -> (i64, String) {
    let (lead, sf_lead) = world.person(email);
    world.sf_adds(&sf_lead, Some("Registered"));
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    (lead, sf_lead)
}

/// Makes `person` a member of the webinar campaign as the integration user (no outbound
/// message: the sync meets them at a reconciliation).
pub(crate) fn join(world: &World, person: &str, status: Option<&str>) {
    world
        .sf
        .add_member(crate::world::INTEGRATION, &world.campaign, person, status)
        .unwrap();
}

/// One reconciliation of the webinar mapping.
pub(crate) async fn reconcile(
    world: &World,
    dry_run: bool,
) -> campaign_sync::worker::ReconcileReport {
    let mapping = world.app.worker.mappings().all()[0].clone();
    world
        .app
        .worker
        .reconcile_mapping(&mapping, dry_run)
        .await
        .unwrap()
}

/// Asserts a skipped outcome's reason holds `text`.
pub(crate) async fn skipped_saying(world: &World, text: &str) {
    let skipped = world
        .outcomes(campaign_sync::kinds::OutcomeResult::Skipped)
        .await;
    assert!(
        skipped
            .iter()
            .any(|o| o.reason.as_deref().is_some_and(|r| r.contains(text))),
        "{text}: {skipped:?}"
    );
}

#[tokio::test]
async fn a_second_marketo_lead_sharing_a_linked_address_is_left_alone() {
    let world = quiet().await;
    let (lead, sf_lead) = linked(&world, "shared@example.com").await;
    // A duplicate Marketo lead with the same address, a member at another status: Marketo
    // allows it; its address would find the linked person's Salesforce Lead.
    let twin = world.mk.add_lead(NewLead::email("shared@example.com"));
    world.mk_sets(twin, "Invited");
    for _ in 0..2 {
        let report = reconcile(&world, false).await;
        assert!(report.changes.is_empty(), "{:?}", report.changes);
        assert_eq!(report.signals_queued, 0, "{report:?}");
        assert_eq!(report.warnings.len(), 1, "{report:?}");
        let warning = &report.warnings[0];
        assert!(
            warning.contains(&format!("Marketo lead {twin}")),
            "{warning}"
        );
        assert!(warning.contains(&format!("lead {lead}")), "{warning}");
        world.settle().await;
        assert_eq!(
            world.sf_member_status(&sf_lead).as_deref(),
            Some("Registered"),
            "the linked person's Salesforce member keeps their own lead's status"
        );
        assert_eq!(world.mk_status(twin).as_deref(), Some("Invited"));
    }
}

/// Two rows of the sync's state holding one Salesforce person (left by an earlier version
/// that took two people for one): reconciliation infers no removal from the row Salesforce's
/// listing did not claim, so no real member is removed on either side.
#[tokio::test]
async fn a_second_state_row_for_a_listed_person_removes_nobody() {
    let world = quiet().await;
    let (lead, sf_lead) = linked(&world, "twice.held@example.com").await;
    let store = &world.app.store;
    let held = store.mirror_rows("webinar").await.unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    // A second row for a person key that sorts first, holding the same member.
    let shadow = campaign_sync::store::MirrorRow {
        person: "0".into(),
        ..held[0].clone()
    };
    store.upsert_mirror(&shadow).await.unwrap();
    for _ in 0..2 {
        let report = reconcile(&world, false).await;
        assert_eq!(report.salesforce_removed, 0, "{report:?}");
        assert!(report.changes.is_empty(), "{:?}", report.changes);
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.contains(&format!("holds Salesforce person {sf_lead} twice"))),
            "{report:?}"
        );
        world.settle().await;
        assert_eq!(
            world.sf_member_status(&sf_lead).as_deref(),
            Some("Registered")
        );
        assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    }
}

/// On a first run, before any identity is saved, the preview already leaves a duplicate Marketo
/// lead alone, as the run itself then does: what the dry run lists is what the run does.
#[tokio::test]
async fn a_first_dry_run_leaves_a_duplicate_marketo_lead_alone_as_the_run_does() {
    let world = quiet().await;
    let sf_lead = world
        .sf
        .create_lead(serde_json::json!({ "LastName": "Twin", "Company": "T", "Email": "first.twin@example.com" }))
        .unwrap();
    join(&world, &sf_lead, Some("Registered"));
    let first = world.mk.add_lead(NewLead::email("first.twin@example.com"));
    let second = world.mk.add_lead(NewLead::email("first.twin@example.com"));
    world.mk_sets(first, "Registered");
    world.mk_sets(second, "Invited");
    let preview = reconcile(&world, true).await;
    let run = reconcile(&world, false).await;
    for report in [&preview, &run] {
        assert!(report.changes.is_empty(), "{report:?}");
        assert_eq!(report.warnings.len(), 1, "{report:?}");
        assert!(
            report.warnings[0].contains("shares its e-mail with lead"),
            "{report:?}"
        );
    }
    assert_eq!(preview.warnings, run.warnings);
}

/// A second Salesforce Lead with a linked person's address: its change finds the person's
/// Marketo lead by that address, which is the other Lead's; it is left alone rather than
/// joined (which would make the two Leads one person, overwriting each other's status).
#[tokio::test]
async fn a_second_salesforce_lead_with_a_linked_address_is_left_alone() {
    let world = World::new().await;
    let (lead, sf_lead) = linked(&world, "two.leads@example.com").await;
    let second = world
        .sf
        .create_lead(serde_json::json!({ "LastName": "Two", "Company": "Dup", "Email": "two.leads@example.com" }))
        .unwrap();
    world.sf_adds(&second, Some("Attended"));
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    let identity = world
        .app
        .store
        .find_identity(Some(lead), None, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(identity.sf_lead_id.as_deref(), Some(sf_lead.as_str()));
    skipped_saying(
        &world,
        &format!(
            "Marketo lead {lead} with this address is Salesforce {sf_lead}'s: {second} is left alone"
        ),
    )
    .await;
}

/// The same duplicate seen without its address (the activity feed's signals carry none): found
/// by Marketo's record, it is still left alone rather than joined to the linked person.
#[tokio::test]
async fn a_duplicate_marketo_lead_seen_without_its_address_is_left_alone() {
    let world = quiet().await;
    let (lead, sf_lead) = linked(&world, "dup.feed@example.com").await;
    let twin = world.mk.add_lead(NewLead::email("dup.feed@example.com"));
    world.mk_sets(twin, "No Show");
    world
        .marketo_webhook(serde_json::json!({ "leadId": twin, "programId": crate::world::PROGRAM }))
        .await;
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered"),
        "the duplicate's status is not the person's"
    );
    skipped_saying(
        &world,
        &format!(
            "Marketo lead {twin} reaches Salesforce {sf_lead} (by Marketo's link or the \
             address), the person of lead {lead}"
        ),
    )
    .await;
    let identity = world
        .app
        .store
        .find_identity(None, Some(&sf_lead), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        identity.mkto_lead_id,
        Some(lead),
        "the person keeps their lead"
    );
    let rows = world.app.store.mirror_rows("webinar").await.unwrap();
    let holding = rows
        .iter()
        .filter(|r| r.sf_person_id.as_deref() == Some(sf_lead.as_str()))
        .count();
    assert_eq!(holding, 1, "one state row holds the person: {rows:?}");
    // The duplicate has no state row of its own: it is no member of the mapping, and a
    // reconciliation names it as a duplicate rather than as a person whose sides disagree.
    assert!(
        !rows.iter().any(|r| r.mkto_lead_id == Some(twin)),
        "no state row for the duplicate: {rows:?}"
    );
    let report = reconcile(&world, true).await;
    assert!(report.diverged.is_empty(), "{report:?}");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains(&twin.to_string())),
        "{report:?}"
    );
}

/// A Salesforce person linked already to one Marketo lead (through another program), paired
/// in this program by the address with a second lead: both are left alone here, rather than
/// the linked lead added to this program with the second one's status.
#[tokio::test]
async fn a_person_linked_to_another_lead_is_not_paired_with_a_duplicate() {
    let world = quiet().await;
    let (linked, sf_lead) = world.person("two.programs@example.com");
    world
        .app
        .store
        .link_identity(
            Some(linked),
            Some(&sf_lead),
            Some("two.programs@example.com"),
            1,
        )
        .await
        .unwrap();
    let here = world
        .mk
        .add_lead(NewLead::email("two.programs@example.com"));
    world.mk_sets(here, "Registered");
    join(&world, &sf_lead, Some("Invited"));
    for dry_run in [true, false, false] {
        let report = reconcile(&world, dry_run).await;
        assert!(report.changes.is_empty(), "{report:?}");
        assert!(
            report.warnings.iter().any(|w| w.contains(&format!(
                "Marketo lead {here} matched by e-mail to {sf_lead}, which is linked to Marketo lead {linked}"
            ))),
            "{report:?}"
        );
        world.settle().await;
    }
    assert_eq!(world.mk_status(linked), None, "not added to this program");
    assert_eq!(world.mk_status(here).as_deref(), Some("Registered"));
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("Invited"));
}

/// The Lead passed over for the Contact on the first run is still left alone on the next,
/// where no Marketo lead is left to pair: the second run settles.
#[tokio::test]
async fn a_lead_passed_over_for_a_contact_stays_passed_over_and_the_next_run_settles() {
    let world = quiet().await;
    let (lead, sf_lead) = world.person("settles@example.com");
    let contact = world
        .sf
        .create_contact(
            serde_json::json!({ "LastName": "Settles", "Email": "settles@example.com" }),
        )
        .unwrap();
    for (person, status) in [(&sf_lead, "Attended"), (&contact, "Registered")] {
        join(&world, person, Some(status));
    }
    world.mk_sets(lead, "Registered");
    for run in 0..3 {
        let report = reconcile(&world, false).await;
        assert!(report.changes.is_empty(), "run {run}: {report:?}");
        assert_eq!(report.warnings.len(), 1, "run {run}: {report:?}");
        assert!(
            report.warnings[0].contains(&sf_lead.to_string()),
            "run {run}: {report:?}"
        );
        world.settle().await;
    }
    assert_eq!(world.mk_status(lead).as_deref(), Some("Registered"));
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
    // Named in every run's report, a warning is one skipped outcome, not one a run.
    let skipped = world
        .outcomes(campaign_sync::kinds::OutcomeResult::Skipped)
        .await;
    let warnings: Vec<&str> = skipped
        .iter()
        .filter_map(|o| o.reason.as_deref())
        .filter(|r| r.starts_with("warning: ") && r.contains(sf_lead.as_str()))
        .collect();
    let distinct: std::collections::HashSet<&&str> = warnings.iter().collect();
    assert!(!warnings.is_empty(), "{skipped:?}");
    assert_eq!(warnings.len(), distinct.len(), "{warnings:?}");
}

/// A Marketo lead Marketo links to a Salesforce person synced through another lead is not
/// paired by its address with someone else, nor planned as a new person: it is left alone.
#[tokio::test]
async fn a_lead_linked_to_someone_synced_is_neither_paired_nor_planned() {
    let world = quiet().await;
    let (lead, sf_lead) = world.person("grace.l@example.com");
    world.sf_adds(&sf_lead, Some("Registered"));
    world.settle().await;
    // A second lead linked by Marketo to the same Salesforce Lead, with a third person's
    // address; that third person is a Salesforce member the sync has not met.
    let linked = world.mk.add_lead(NewLead {
        sfdc_lead_id: Some(sf_lead.clone()),
        ..NewLead::email("probe.l@example.com")
    });
    world.mk_sets(linked, "Invited");
    let probe = world
        .sf
        .create_lead(serde_json::json!({ "LastName": "Probe", "Company": "P", "Email": "probe.l@example.com" }))
        .unwrap();
    join(&world, &probe, Some("Invited"));
    let report = reconcile(&world, true).await;
    assert_eq!(report.linked, 0, "{report:?}");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains(&format!("Marketo lead {linked}"))
                && w.contains(&format!("lead {lead}"))),
        "{report:?}"
    );
    // The probe is a new Salesforce person, to be given a Marketo lead of their own.
    assert!(
        report
            .changes
            .iter()
            .all(|c| c.marketo_lead_id != Some(linked)),
        "{report:?}"
    );
}
