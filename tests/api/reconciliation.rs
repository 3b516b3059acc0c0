//! Reconciliation, against both simulators: one run repairs what lost signals missed, on
//! demand through the admin API and the `reconcile` command.

use std::io::Write;

use serde_json::json;

use crate::world::{INTEGRATION, Options, USER, World};

/// What the receivers need, which `check-config` and `reconcile` require although these tests
/// send nothing to them.
const RECEIVERS_SF: &str =
    "organization_ids = [\"00D000000000001EAA\"]\ninbound_token = \"unused\"\n";
const RECEIVERS_MKTO: &str = "webhook_token = \"unused\"\n";

/// `check-config --online` on `file`, with these environment variables.
pub(crate) async fn check_online(
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
pub(crate) fn config_file(world: &World, database_url: Option<&str>) -> tempfile::NamedTempFile {
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
    assert_eq!(queued["joined"], false);
    let href = queued["href"].as_str().unwrap().to_string();
    // Asked for again while it waits: the same job, not a second pass.
    let again: serde_json::Value = world
        .app
        .client
        .post(world.app.url("/admin/reconcile"))
        .bearer_auth("admin")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&again["id"], &again["joined"]),
        (&queued["id"], &json!(true))
    );
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
    assert_eq!(
        preview["joined"], false,
        "a preview is not the repair: {preview}"
    );
    // A misspelt preview flag is refused, not run as a real reconciliation.
    let misspelt = world
        .app
        .client
        .post(world.app.url("/admin/reconcile?dryrun=true"))
        .bearer_auth("admin")
        .send()
        .await
        .unwrap();
    assert_eq!(misspelt.status(), 400);
    let said: serde_json::Value = misspelt.json().await.unwrap();
    let message = said["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("unknown field `dryrun`"), "{said}");
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

/// A job whose replica stopped mid-run (a new leader requeued it) goes on where it stopped:
/// the mappings that run finished keep their reports, which the job's result includes, and
/// the job says it restarted.
#[tokio::test]
async fn a_requeued_job_keeps_what_its_stopped_run_finished() {
    let world = World::with(Options {
        admin_token: Some("admin".into()),
        ..Options::default()
    })
    .await;
    let (_, queued) = world
        .app
        .admin(reqwest::Method::POST, "/admin/reconcile", "admin")
        .await;
    let href = queued["href"].as_str().unwrap().to_string();
    let id = queued["id"].as_i64().unwrap();
    let store = &world.app.store;
    let now = campaign_sync::store::now_millis();
    // The replica that stopped had reconciled the webinar mapping, queueing 50 repairs.
    store.start_next_job("stopped", now).await.unwrap().unwrap();
    let finished = serde_json::json!({ "mapping": "webinar", "differences": 50, "queued": 50 });
    let halfway = serde_json::json!({
        "mappings_done": 1, "mappings_total": 1, "current_mapping": null,
        "reports": [finished], "restarts": 0
    });
    assert!(store.job_progress(id, "stopped", &halfway).await.unwrap());
    assert_eq!(store.requeue_running_jobs().await.unwrap(), 1);

    assert_eq!(world.app.worker.run_jobs().await.unwrap(), 1);
    let (_, job) = world.app.admin(reqwest::Method::GET, &href, "admin").await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["result"]["restarts"], 1, "{job}");
    assert_eq!(job["progress"]["restarts"], 1, "{job}");
    assert!(job["progress"].get("reports").is_none(), "{job}");
    assert_eq!(
        job["result"]["reports"],
        serde_json::json!([finished]),
        "not reconciled a second time: {job}"
    );
}
