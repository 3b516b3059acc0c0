//! The `reconcile` command and reconciliation jobs that end short: repairs made and reported,
//! nothing written while sync is switched off, a job failed when every mapping failed, and a held
//! mapping's repairs said to wait.

use crate::reconciliation::config_file;
use crate::world::{Options, World};
use serde_json::json;

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

/// Campaign sync switched off (through the admin API or the console, stored for every
/// replica): the command repairs nothing and says so; its dry run still lists the differences.
#[tokio::test]
async fn the_reconcile_command_writes_nothing_while_sync_is_switched_off() {
    let world = World::with(Options {
        webhooks: false,
        ..Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("cli-off@example.com");
    world.mk_sets(lead, "Registered");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let store = campaign_sync::store::Store::connect(&url).await.unwrap();
    store
        .set_switch(campaign_sync::store::SYNC_SWITCH, false, 0)
        .await
        .unwrap();
    store.close().await;
    let file = config_file(&world, Some(&url));
    let run = |dry_run: bool| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_campaign-sync"));
        command.args(["reconcile", "--config", file.path().to_str().unwrap()]);
        if dry_run {
            command.arg("--dry-run");
        }
        command.output()
    };
    let out = run(false).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("campaign sync is switched off") && stderr.contains("--dry-run"),
        "{stderr}"
    );
    assert_eq!(world.sf_member_status(&sf_lead), None, "nothing written");
    let preview = run(true).await.unwrap();
    let stdout = String::from_utf8_lossy(&preview.stdout);
    assert!(preview.status.success(), "{stdout}");
    assert!(stdout.contains("cli-off@example.com"), "{stdout}");
}

/// A reconciliation in which every mapping failed is a failed job naming why, not `done`.
#[tokio::test]
async fn a_reconciliation_where_every_mapping_failed_is_a_failed_job() {
    let world = World::with(Options {
        admin_token: Some("admin".into()),
        ..Options::default()
    })
    .await;
    // Marketo refuses the API user everything (603: a missing role permission).
    world
        .mk_fault(json!({ "error_code": "603", "calls": 50 }))
        .await;
    let queued = world
        .app
        .client
        .post(world.app.url("/admin/reconcile?dryRun=true"))
        .bearer_auth("admin")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(world.app.worker.run_jobs().await.unwrap(), 1);
    let href = queued["href"].as_str().unwrap();
    let body = world
        .app
        .client
        .get(world.app.url(href))
        .bearer_auth("admin")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(body["state"], "failed", "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("every mapping failed: webinar: ") && error.contains("603"),
        "{body}"
    );
}

/// A reconciliation of a held mapping says so: its repairs wait until the statuses match.
#[tokio::test]
async fn a_reconciliation_of_a_held_mapping_says_its_repairs_wait() {
    let world = World::new().await;
    world.remove_no_show();
    world.app.worker.check_statuses().await;
    let mapping = world
        .app
        .worker
        .mappings()
        .by_name("webinar")
        .unwrap()
        .clone();
    assert!(mapping.is_held());
    let report = world
        .app
        .worker
        .reconcile_mapping(&mapping, true)
        .await
        .unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.starts_with("the mapping is held") && w.contains("No Show")),
        "{report:?}"
    );
}
