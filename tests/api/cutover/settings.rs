//! The cut-over previews the campaign settings `serve` writes at its first settings pass:
//! `reconcile` (dry run and real, text and `--json`) lists per mapping each setting that
//! differs, what Salesforce holds and what the pass would write, and writes none of them.

use serde_json::json;

use super::sims::simulators;
use crate::simulators::{BIN, json};

#[tokio::test]
async fn reconcile_lists_the_settings_serve_would_write_and_writes_none() {
    let sims = simulators(2).await;
    // The webinar's campaign already agrees with its program; the trade show's Type was kept
    // by hand and its ActualCost never set (program: channel "Tradeshow", cost 15000).
    sims.set_campaign(0, json!({"Type": "Webinar", "ActualCost": 1200}))
        .await;
    sims.set_campaign(1, json!({"Type": "Trade Show"})).await;
    let expected = json!([
        {"field": "Type", "from": "Trade Show", "to": "Tradeshow"},
        {"field": "ActualCost", "from": null, "to": 15000},
    ]);

    let (ok, dry, stderr) = sims.reconcile(&["--dry-run"]).await;
    assert!(ok, "{stderr}");
    assert_eq!(dry[0]["settings"], json!([]), "{}", dry[0]);
    assert_eq!(dry[1]["settings"], expected, "{}", dry[1]);

    let text = tokio::process::Command::new(BIN)
        .args(["reconcile", "--dry-run", "--config"])
        .arg(&sims.config)
        .output()
        .await
        .expect("reconcile");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(
            "  settings: campaign Type \"Trade Show\" → \"Tradeshow\" at serve's next settings \
             pass (reconcile does not write it)"
        ) && text.contains("  settings: campaign ActualCost none → 15000 at serve's next"),
        "{text}"
    );
    assert_eq!(text.matches("settings:").count(), 2, "{text}");

    let (ok, real, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    assert_eq!(real[1]["settings"], expected, "the real run lists them too");
    assert_eq!(sims.writes().await, (0, 0), "reconcile writes no setting");
    let state =
        json(reqwest::Client::new().get(format!("{}/__sim/state", sims.url("salesforce")))).await;
    let campaign = state["objects"]["Campaign"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Id"] == sims.d["mappings"][1]["campaign_id"])
        .cloned()
        .expect("the trade show's campaign");
    assert_eq!(campaign["Type"], "Trade Show", "{campaign}");
}

/// An org whose restricted Campaign Type picklist lacks the Type the first settings pass would
/// write: the preview says so beside the setting, with the way out, before `serve` meets the
/// refusal.
#[tokio::test]
async fn reconcile_warns_of_a_type_the_restricted_picklist_would_refuse() {
    let sims = simulators(2).await;
    sims.set_campaign(0, json!({"Type": "Webinar", "ActualCost": 1200}))
        .await;
    sims.set_campaign(1, json!({"Type": "Trade Show"})).await;
    let restrict = reqwest::Client::new()
        .post(format!(
            "{}/__sim/picklists/campaign-type",
            sims.url("salesforce")
        ))
        .json(&json!({"values": ["Webinar", "Trade Show"]}));
    json(restrict).await;
    let (ok, dry, stderr) = sims.reconcile(&["--dry-run"]).await;
    assert!(ok, "{stderr}");
    assert_eq!(dry[0]["warnings"], json!([]), "{}", dry[0]);
    let warnings = dry[1]["warnings"].to_string();
    for expected in [
        "campaign Type \\\"Tradeshow\\\"",
        "restricted Campaign Type picklist",
        "channel_type_map",
    ] {
        assert!(warnings.contains(expected), "{expected}: {warnings}");
    }
}

/// A reconciliation describes Campaign once for all its mappings, not once per mapping whose
/// Type it previews (each of the two seeded campaigns has none yet).
#[tokio::test]
async fn reconcile_describes_campaign_once_for_all_its_mappings() {
    let sims = simulators(2).await;
    let (ok, dry, stderr) = sims.reconcile(&["--dry-run"]).await;
    assert!(ok, "{stderr}");
    let typed = dry
        .iter()
        .filter(|line| line["settings"].to_string().contains("\"Type\""))
        .count();
    assert_eq!(typed, 2, "both campaigns' Type would change: {dry:?}");
    let log =
        json(reqwest::Client::new().get(format!("{}/__sim/requests", sims.url("salesforce"))))
            .await;
    let described = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/sobjects/Campaign/describe"))
        })
        .count();
    assert_eq!(described, 1, "{log}");
}
