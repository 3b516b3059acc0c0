//! `check-config --online` reads each smart campaign `request_campaigns` names: one Marketo
//! does not have is named before any request for it ends dead.

use std::io::Write;

use crate::reconciliation::{check_online, config_file};
use crate::world::World;

#[tokio::test]
async fn check_config_online_names_a_smart_campaign_marketo_does_not_have() {
    let world = World::new().await;
    world.mk.add_requestable_campaign(5001, "Welcome");
    let mapping = world.app.worker.mappings().all()[0].name().to_string();
    let org = campaign_sync::sim::salesforce::SalesforceSimConfig::default().organization_id;
    let with = |campaigns: &str| {
        let file = config_file(&world, None);
        let text = std::fs::read_to_string(file.path()).unwrap();
        std::fs::write(file.path(), text.replace("00D000000000001EAA", &org)).unwrap();
        let mut handle = std::fs::OpenOptions::new()
            .append(true)
            .open(file.path())
            .unwrap();
        let table = format!("\n[triggers.mappings.{mapping}]\nrequest_campaigns = {campaigns}\n");
        handle.write_all(table.as_bytes()).unwrap();
        file
    };
    let file = with("{ added = 5001, status_changed = 99999 }");
    let out = check_online(&file, &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "triggers.mappings.{mapping}.request_campaigns.status_changed: Marketo has no smart \
             campaign 99999"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("5001"), "{stdout}");
    assert!(stderr.contains("1 problem(s) found"), "{stdout}{stderr}");

    let file = with("{ added = 5001, status_changed = 5001 }");
    let out = check_online(&file, &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
}
