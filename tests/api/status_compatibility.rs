//! Status compatibility, against both simulators: a mapping whose statuses cannot translate is
//! held while the others sync, is checked before its first write, and `check-config --online`
//! names what it cannot translate or could not check.

use crate::reconciliation::{check_online, config_file};
use crate::world::{Options, SECOND_PROGRAM, World};
use serde_json::json;

#[tokio::test]
async fn an_incompatible_mapping_is_held_and_named_while_another_syncs() {
    let world = World::with(Options {
        incompatible_mapping: true,
        ..Options::default()
    })
    .await;
    world.app.worker.check_statuses().await;
    let ready = world.app.get("/readyz").await;
    assert_eq!(
        ready.status(),
        200,
        "a held mapping does not fail readiness"
    );
    let body: serde_json::Value = ready.json().await.unwrap();
    let held = &body["held_mappings"][0];
    assert_eq!(held["name"], "tradeshow");
    let problems = held["problems"].to_string();
    for name in ["Visited Booth", "Responded", "1002", "Data Summit"] {
        assert!(problems.contains(name), "{name} missing from {problems}");
    }
    // Changes in both programs: only the compatible one is written.
    let (lead, sf_lead) = world.person("both@example.com");
    world.mk_sets(lead, "Registered");
    world
        .mk
        .set_status_as_user(SECOND_PROGRAM, lead, "Invited")
        .unwrap();
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    assert_eq!(world.writes().0, 1, "the held mapping wrote nothing");
    let depth = world.app.store.inbox_depth().await.unwrap();
    assert!(
        depth.iter().any(|(s, n)| s == "pending" && *n == 1),
        "its signal waits: {depth:?}"
    );
    let metrics = world.app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("mapping_incompatible_statuses{mapping=\"tradeshow\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_mapping_is_checked_before_its_first_write_even_before_the_scheduled_check() {
    let world = World::with(Options {
        incompatible_mapping: true,
        ..Options::default()
    })
    .await;
    let (lead, _) = world.person("early@example.com");
    // "Invited" has a label on both sides; the mapping is held for its other statuses.
    world
        .mk
        .set_status_as_user(SECOND_PROGRAM, lead, "Invited")
        .unwrap();
    world.settle().await;
    assert_eq!(world.writes().0, 0, "the unchecked mapping wrote nothing");
    let tradeshow = world.app.worker.mappings().by_name("tradeshow").unwrap();
    assert!(tradeshow.is_held(), "{:?}", tradeshow.problems());
}

#[tokio::test]
async fn check_config_online_lists_the_untranslatable_statuses() {
    let world = World::with(Options {
        incompatible_mapping: true,
        ..Options::default()
    })
    .await;
    let file = config_file(&world, None);
    let out = check_online(&file, &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("mapping \"webinar\": statuses compatible"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"Visited Booth\"") && stdout.contains("\"Responded\""),
        "{stdout}"
    );
}

/// A mapping to a campaign Salesforce does not have is named as such, not as a list of
/// statuses the campaign lacks.
#[tokio::test]
async fn check_config_online_names_a_campaign_that_does_not_exist() {
    let world = World::new().await;
    let file = config_file(&world, None);
    let real = world.app.worker.mappings().all()[0]
        .config
        .campaign_id
        .clone();
    let missing = "701000000000999AAA";
    let text = std::fs::read_to_string(file.path()).unwrap();
    std::fs::write(file.path(), text.replacen(&real, missing, 1)).unwrap();
    let out = check_online(&file, &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let about: Vec<&str> = stdout.lines().filter(|l| l.contains(missing)).collect();
    assert_eq!(
        about.len(),
        1,
        "one line for the missing campaign: {stdout}"
    );
    assert!(
        about[0].contains(&format!("Salesforce campaign {missing} was not found")),
        "{stdout}"
    );
}

/// Refused credentials leave every mapping unchecked, each saying why, and nothing about a
/// pause: the check ends there, it does not wait.
#[tokio::test]
async fn check_config_online_says_why_a_mapping_could_not_be_checked() {
    let world = World::new().await;
    let file = config_file(&world, None);
    let out = check_online(
        &file,
        &[("CAMPAIGN_SYNC_MARKETO__CLIENT_SECRET", "not-the-secret")],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout} {stderr}");
    let unchecked: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(": could not check: "))
        .collect();
    assert_eq!(
        unchecked.len(),
        world.app.worker.mappings().all().len(),
        "{stdout}"
    );
    assert!(
        unchecked.iter().all(|l| !l.contains("paused until")),
        "{stdout}"
    );
    // Each names the keys to check.
    assert!(
        unchecked
            .iter()
            .all(|l| l.contains("check marketo.client_id and marketo.client_secret")),
        "{stdout}"
    );
    assert!(
        stderr.contains("mapping(s) could not be checked"),
        "{stderr}"
    );
    assert!(!stderr.contains("side paused"), "{stderr}");
}

/// The org the Salesforce credentials log in to must be one `organization_ids` lists, or every
/// outbound message from it is refused: `check-config --online` says so, naming it.
#[tokio::test]
async fn check_config_online_names_an_org_the_receiver_would_refuse() {
    let world = World::new().await;
    let org = campaign_sync::sim::salesforce::SalesforceSimConfig::default().organization_id;
    let file = config_file(&world, None);
    let text = std::fs::read_to_string(file.path()).unwrap();
    let listed = text.replace("00D000000000001EAA", &org);
    std::fs::write(file.path(), &listed).unwrap();
    let out = check_online(&file, &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("organization_ids"), "{stdout}");
    // Another org's id (well formed) is listed instead.
    std::fs::write(file.path(), text).unwrap();
    let out = check_online(&file, &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "salesforce.organization_ids: the credentials log in to org {org}, which is not listed"
        )),
        "{stdout}"
    );
}

/// An org whose Campaign Type picklist is restricted and lacks the Type a program's channel
/// maps to refuses every settings pass: `check-config --online` names the Type with the
/// picklist's values and the ways out, and passes once `channel_type_map` maps the channel to
/// one of them.
#[tokio::test]
async fn check_config_online_names_a_campaign_type_the_picklist_would_refuse() {
    let mut options = Options::default();
    options.sf.campaign_types = Some(vec!["Conference".into(), "Email".into()]);
    let world = World::with(options).await;
    let file = config_file(&world, None);
    let out = check_online(&file, &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("statuses compatible"), "{stdout}");
    let refused: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("restricted Campaign Type picklist"))
        .collect();
    assert_eq!(
        refused.len(),
        world.app.worker.mappings().all().len(),
        "{stdout}"
    );
    for expected in [
        "campaign Type \"Webinar\" (the program's channel \"Webinar\")",
        "(\"Conference\", \"Email\")",
        "channel_type_map",
    ] {
        assert!(refused[0].contains(expected), "{expected}: {stdout}");
    }
    // The org listed too, so the Type is all that could fail.
    let org = campaign_sync::sim::salesforce::SalesforceSimConfig::default().organization_id;
    let mut text = std::fs::read_to_string(file.path())
        .unwrap()
        .replace("00D000000000001EAA", &org);
    text += "channel_type_map = { Webinar = \"Conference\" }\n";
    std::fs::write(file.path(), text).unwrap();
    let out = check_online(&file, &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("picklist"), "{stdout}");
}

/// A campaign that already holds the Type its program maps to is not written, so a restricted
/// picklist that lacks the value (restricted after the campaign got it) refuses nothing:
/// `check-config --online` names no Type problem (it did, for a write no pass would make).
#[tokio::test]
async fn check_config_online_names_no_type_a_campaign_already_holds() {
    let world = World::new().await;
    world
        .sf
        .update(
            crate::world::USER,
            &world.campaign,
            json!({ "Type": "Webinar" }),
        )
        .unwrap();
    let restricted = world
        .app
        .client
        .post(format!(
            "{}/__sim/picklists/campaign-type",
            world.sf.base_url()
        ))
        .json(&json!({ "values": ["Conference", "Email"] }))
        .send()
        .await
        .unwrap();
    assert!(restricted.status().is_success());
    let file = config_file(&world, None);
    let out = check_online(&file, &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("statuses compatible"), "{stdout}");
    assert!(!stdout.contains("picklist"), "{stdout}");
}

/// A held mapping reconciled again and again: each difference waits once, with the first pass's
/// repair (its job keeps reading it as waiting), and later passes say they left it to that one.
#[tokio::test]
async fn a_held_mappings_difference_waits_once_however_often_it_is_reconciled() {
    let world = World::with(Options {
        incompatible_mapping: true,
        webhooks: false,
        ..Options::default()
    })
    .await;
    let (lead, _) = world.person("held@example.com");
    world
        .mk
        .set_status_as_user(SECOND_PROGRAM, lead, "Invited")
        .unwrap();
    let tradeshow = world.app.worker.mappings().by_name("tradeshow").unwrap();
    let first = world
        .app
        .worker
        .reconcile_mapping(tradeshow, false)
        .await
        .unwrap();
    assert_eq!(first.signals_queued, 1, "{first:?}");
    world.settle().await;
    assert!(
        world
            .app
            .worker
            .mappings()
            .by_name("tradeshow")
            .unwrap()
            .is_held()
    );
    for _ in 0..2 {
        let again = world
            .app
            .worker
            .reconcile_mapping(tradeshow, false)
            .await
            .unwrap();
        world.settle().await;
        assert_eq!(
            (again.signals_queued, again.repairs_already_waiting),
            (0, 1),
            "{again:?}"
        );
    }
    let prefix = format!("reconcile:{}:", first.run);
    let states = world.app.store.repair_states(&prefix).await.unwrap();
    assert_eq!(states.waiting, 1, "the first pass's repair still waits");
}
