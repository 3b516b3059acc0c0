//! What changes between the cut-over's `reconcile` and the first `serve` (while the webhooks
//! and outbound messages are being pointed at the service, none reaches it) is read by the
//! change feeds, which start where the reconciliation last read the sides.

use std::process::{Command, Stdio};

use serde_json::json;

use super::sims::simulators;
use crate::simulators::{BIN, Running, eventually, json, salesforce_member_status};

#[tokio::test]
async fn changes_made_before_the_first_serve_are_read_by_the_feeds() {
    let sims = simulators(3).await;
    let (ok, _, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    let cursors: Vec<String> = {
        let db = rusqlite::Connection::open(&sims.db).unwrap();
        let mut query = db
            .prepare("SELECT name FROM cursors ORDER BY name")
            .unwrap();
        query
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        cursors,
        [
            "marketo:activities",
            "salesforce:deleted",
            "salesforce:member_changes"
        ]
    );
    // A change on each side, unheard: nothing delivers to the service yet.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    sims.set_in_salesforce(1, "Attended").await;
    let http = reqwest::Client::new();
    let program = sims.d["mappings"][0]["program_id"].as_i64().unwrap();
    let campaign = sims.d["mappings"][0]["campaign_id"].as_str().unwrap();
    let lead = sims.d["people"][2]["marketo_lead_id"].as_i64().unwrap();
    json(
        http.post(format!(
            "{}/__sim/programs/{program}/members/status",
            sims.url("marketo")
        ))
        .json(&json!({"leadId": lead, "status": "Attended"})),
    )
    .await;
    // Then the service's first start, its feeds read every second.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let text = std::fs::read_to_string(&sims.config).unwrap();
    let config = sims.config.with_file_name("serve.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\n{text}[schedules]\nsalesforce_changes_secs = 1\n\
             marketo_activity_secs = 1\n"
        ),
    )
    .unwrap();
    let serve = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _serve = Running(serve);
    eventually("the Salesforce change reaches Marketo", async || {
        (sims.marketo_status(1).await.as_deref() == Some("Attended")).then_some(())
    })
    .await;
    let person = sims.d["people"][2]["salesforce_id"].as_str().unwrap();
    eventually("the Marketo change reaches Salesforce", async || {
        let status =
            salesforce_member_status(&http, &sims.url("salesforce"), campaign, person).await;
        (status.as_deref() == Some("Attended")).then_some(())
    })
    .await;
}
