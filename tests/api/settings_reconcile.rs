//! Program settings (channel → Type, costs → ActualCost), status compatibility, and
//! reconciliation, against both simulators.

use std::io::Write;

use serde_json::json;

use crate::world::{INTEGRATION, Options, SECOND_PROGRAM, USER, World};

fn campaign_field(world: &World, campaign: &str, field: &str) -> serde_json::Value {
    world
        .sf
        .campaign(campaign)
        .and_then(|c| c.get(field).cloned())
        .unwrap_or_default()
}

fn campaign_patches(world: &World) -> usize {
    world
        .sf
        .requests()
        .iter()
        .filter(|r| {
            r.client.as_deref() == Some(INTEGRATION)
                && r.method == "PATCH"
                && r.path.contains("/sobjects/Campaign/")
        })
        .count()
}

#[tokio::test]
async fn channel_and_costs_reach_the_campaign_and_salesforce_edits_are_set_back() {
    let world = World::new().await;
    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(
        campaign_field(&world, &world.campaign, "Type"),
        json!("Webinar")
    );
    assert_eq!(
        campaign_field(&world, &world.campaign, "ActualCost").as_f64(),
        Some(1200.0)
    );
    assert_eq!(campaign_patches(&world), 1);
    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(
        campaign_patches(&world),
        1,
        "nothing differs, nothing is written"
    );
    world
        .sf
        .update(USER, &world.campaign, json!({ "ActualCost": 5 }))
        .unwrap();
    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(
        campaign_field(&world, &world.campaign, "ActualCost").as_f64(),
        Some(1200.0),
        "set back, as Marketo does"
    );
    let outcomes = world.app.store.outcomes(None, 0, 10).await.unwrap();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| o.action == campaign_sync::kinds::Action::CampaignSettings)
            .count(),
        2
    );
}

/// An org whose campaign Type picklist is restricted and lacks the channel refuses the Type
/// (`INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`): the cost is still written, and the refusal is
/// recorded with what to do about it.
#[tokio::test]
async fn a_type_the_picklist_refuses_still_lets_the_cost_through_and_says_what_to_do() {
    let mut options = Options::default();
    options.sf.campaign_types = Some(vec!["Conference".into(), "Email".into()]);
    let world = World::with(options).await;
    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(
        campaign_field(&world, &world.campaign, "ActualCost").as_f64(),
        Some(1200.0)
    );
    assert_ne!(
        campaign_field(&world, &world.campaign, "Type"),
        json!("Webinar")
    );
    let outcomes = world.app.store.outcomes(None, 0, 10).await.unwrap();
    let refused: Vec<_> = outcomes
        .iter()
        .filter(|o| o.action == campaign_sync::kinds::Action::CampaignSettings)
        .collect();
    assert_eq!(refused.len(), 1, "{outcomes:?}");
    assert_eq!(refused[0].result, campaign_sync::kinds::OutcomeResult::Dead);
    let reason = refused[0].reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("bad value for restricted picklist field: Webinar")
            && reason.contains("ActualCost was written")
            && reason.contains("channel_type_map"),
        "{reason}"
    );
    // The next pass sends only the Type, which is refused again; the cost is not rewritten.
    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(campaign_patches(&world), 3);
}

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

/// What the receivers need, which `check-config` and `reconcile` require although these tests
/// send nothing to them.
const RECEIVERS_SF: &str =
    "organization_ids = [\"00D000000000001AAA\"]\ninbound_token = \"unused\"\n";
const RECEIVERS_MKTO: &str = "webhook_token = \"unused\"\n";

/// `check-config --online` on `file`, with these environment variables.
async fn check_online(
    file: &tempfile::NamedTempFile,
    env: &[(&str, &str)],
) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_campaign-sync"))
        .args(["check-config", "--online", "--config"])
        .arg(file.path())
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap()
}

/// A configuration file pointing the binary at this world's simulators and mappings.
fn config_file(world: &World, database_url: Option<&str>) -> tempfile::NamedTempFile {
    let mut toml = String::new();
    if let Some(url) = database_url {
        toml += &format!("database_url = \"{url}\"\n\n");
    }
    toml += &format!(
        "[salesforce]\nlogin_url = \"{}\"\nclient_id = \"{INTEGRATION}\"\nclient_secret = \"campaign-sync-secret\"\n{RECEIVERS_SF}\n[marketo]\nbase_url = \"{}\"\nclient_id = \"sim-client\"\nclient_secret = \"sim-secret\"\n{RECEIVERS_MKTO}",
        world.sf.base_url(),
        world.mk.base_url()
    );
    for m in world.app.worker.mappings().all() {
        toml += &format!(
            "\n[[mappings]]\nname = \"{}\"\nprogram_id = {}\ncampaign_id = \"{}\"\n",
            m.name(),
            m.config.program_id,
            m.config.campaign_id
        );
    }
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(toml.as_bytes()).unwrap();
    file
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
    assert!(
        stderr.contains("mapping(s) could not be checked"),
        "{stderr}"
    );
}

#[tokio::test]
async fn one_reconciliation_repairs_what_happened_while_signals_were_lost() {
    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    // Synced before the outage: Ada is Registered on both sides.
    let (ada, ada_sf) = world.person("ada@example.com");
    let ada_member = world.sf_adds(&ada_sf, Some("Registered"));
    world.settle().await;
    assert_eq!(world.mk_status(ada).as_deref(), Some("Registered"));
    // The outage: Grace joins in Salesforce (the outbound message is dropped), Alan moves in
    // Marketo (no webhook), Ada is deleted in Salesforce (no poll).
    let (_, grace_sf) = world.person("grace@example.com");
    world.sf_adds(&grace_sf, Some("Invited"));
    world
        .sf
        .advance_clock(std::time::Duration::from_secs(25 * 3600));
    assert_eq!(world.sf.deliver_outbound_now().await.dropped, 1);
    let (alan, alan_sf) = world.person("alan@example.com");
    world.mk_sets(alan, "Attended");
    world.sf.delete_member(USER, &ada_member).unwrap();

    let reports = world.app.worker.reconcile().await;
    let report = reports[0].as_ref().unwrap();
    assert_eq!(
        (
            report.salesforce_changed,
            report.marketo_changed,
            report.salesforce_removed
        ),
        (1, 1, 1),
        "{report:?}"
    );
    world.settle().await;
    assert_eq!(world.mk_status(ada), None, "Ada left the program");
    let grace = world
        .mk
        .leads()
        .into_iter()
        .find(|l| l.email() == Some("grace@example.com"))
        .unwrap();
    assert_eq!(world.mk_status(grace.id).as_deref(), Some("Invited"));
    assert_eq!(
        world.sf_member_status(&alan_sf).as_deref(),
        Some("Attended")
    );

    // Now consistent: another reconciliation reads both sides and writes nothing.
    let writes = world.writes();
    let again = world.app.worker.reconcile().await;
    assert_eq!(again[0].as_ref().unwrap().signals_queued, 0);
    world.settle().await;
    assert_eq!(world.writes(), writes);
}

#[tokio::test]
async fn reconciliation_runs_on_demand_through_the_admin_api() {
    let world = World::with(Options {
        admin_token: Some("admin".into()),
        webhooks: false,
        ..Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("late@example.com");
    world.mk_sets(lead, "Registered");
    let response = world
        .app
        .client
        .post(world.app.url("/admin/reconcile"))
        .bearer_auth("admin")
        .send()
        .await
        .unwrap();
    // Queued for the leader, answered at once with the job.
    assert_eq!(response.status(), 202);
    let queued: serde_json::Value = response.json().await.unwrap();
    assert_eq!(queued["state"], "queued");
    let href = queued["href"].as_str().unwrap().to_string();
    let job = |app: &crate::test_app::TestApp| {
        let request = app.client.get(app.url(&href)).bearer_auth("admin");
        async move {
            request
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let waiting = job(&world.app).await;
    assert_eq!(waiting["state"], "queued");
    assert!(waiting["progress"].is_null(), "{waiting}");
    // A preview first: the same difference listed, nothing queued or written.
    let preview: serde_json::Value = world
        .app
        .client
        .post(world.app.url("/admin/reconcile?dryRun=true"))
        .bearer_auth("admin")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let preview_href = preview["href"].as_str().unwrap().to_string();
    assert_eq!(world.app.worker.run_jobs().await.unwrap(), 2);
    let previewed = world
        .app
        .client
        .get(world.app.url(&preview_href))
        .bearer_auth("admin")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(previewed["result"]["dry_run"], true, "{previewed}");
    assert_eq!(
        previewed["result"]["reports"][0]["differences"], 1,
        "{previewed}"
    );
    assert_eq!(
        previewed["result"]["reports"][0]["signals_queued"], 0,
        "{previewed}"
    );
    let body = job(&world.app).await;
    assert_eq!(body["state"], "done", "{body}");
    assert_eq!(body["result"]["reports"][0]["mapping"], "webinar");
    assert_eq!(body["result"]["reports"][0]["marketo_changed"], 1);
    assert_eq!(
        body["progress"],
        serde_json::json!({ "mappings_done": 1, "mappings_total": 1, "current_mapping": null }),
        "{body}"
    );
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    // What was found and how its repair ended, in metrics (process-wide: at least this one).
    let metrics = world.app.get("/metrics").await.text().await.unwrap();
    for series in [
        "reconcile_differences_total{mapping=\"webinar\",kind=\"marketo_changed\"}",
        "reconcile_repairs_total{mapping=\"webinar\",result=\"applied\"}",
    ] {
        assert!(metrics.contains(series), "{series} in {metrics}");
    }
}

#[tokio::test]
async fn a_running_reconciliation_job_reports_the_mapping_it_is_on() {
    let world = World::with(Options {
        admin_token: Some("admin".into()),
        mk: campaign_sync::sim::marketo::MarketoSimConfig {
            deliver_webhooks_in_background: false,
            latency: std::time::Duration::from_millis(150),
            ..Default::default()
        },
        ..Options::default()
    })
    .await;
    let (_, queued) = world
        .app
        .admin(reqwest::Method::POST, "/admin/reconcile", "admin")
        .await;
    let href = queued["href"].as_str().unwrap().to_string();
    let worker = world.app.worker.clone();
    let running = tokio::spawn(async move { worker.run_jobs().await });
    // Each Marketo call takes 150 ms, so the job is seen on its mapping.
    let mut seen = serde_json::Value::Null;
    for _ in 0..200 {
        seen = world
            .app
            .admin(reqwest::Method::GET, &href, "admin")
            .await
            .1;
        if seen["state"] == "running" && !seen["progress"].is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seen["state"], "running", "{seen}");
    assert_eq!(
        seen["progress"],
        serde_json::json!({ "mappings_done": 0, "mappings_total": 1, "current_mapping": "webinar" }),
        "{seen}"
    );
    assert_eq!(running.await.unwrap().unwrap(), 1);
}

#[tokio::test]
async fn the_reconcile_command_repairs_and_reports() {
    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("cli@example.com");
    world.mk_sets(lead, "Registered");
    // The command runs as its own process with its own store.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let file = config_file(&world, Some(&url));
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_campaign-sync"))
        .args([
            "reconcile",
            "--json",
            "--config",
            file.path().to_str().unwrap(),
        ])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["name"], "webinar", "{stdout}");
    assert_eq!(line["differences"], 1, "{stdout}");
    assert_eq!(line["changes"][0]["side"], "salesforce", "{stdout}");
    assert_eq!(
        (line["repaired"].as_u64(), line["failed"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
}
