//! Changes left waiting in the store before a `reconcile` run (a webhook stored while no worker
//! ran, an earlier run's retry now due) are processed before any mapping is read, so that each
//! mapping's report, repairs and calls are its own run's.

use campaign_sync::signal::{MarketoMember, NewSignal, Signal};
use serde_json::json;

use super::sims::simulators;
use crate::simulators::json as answer;

#[tokio::test]
async fn changes_left_waiting_are_processed_before_the_mappings_and_counted_apart() {
    let sims = simulators(4).await;
    let (ok, _, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    // A Marketo user moves a member on; the webhook was stored but no worker ran since.
    let program = sims.d["mappings"][0]["program_id"].as_i64().unwrap();
    let lead = sims.d["people"][1]["marketo_lead_id"].as_i64().unwrap();
    answer(
        reqwest::Client::new()
            .post(format!(
                "{}/__sim/programs/{program}/members/status",
                sims.url("marketo")
            ))
            .json(&json!({ "leadId": lead, "status": "Attended" })),
    )
    .await;
    let url = format!("sqlite://{}", sims.db.display());
    let store = campaign_sync::store::Store::connect(&url).await.unwrap();
    let change = Signal::MarketoMember(MarketoMember {
        lead_id: lead,
        program_id: program,
        email: None,
        status: None,
        trigger: None,
    });
    store
        .record(
            vec![NewSignal::new("mkto:webhook:left-waiting", change)],
            campaign_sync::store::now_millis(),
        )
        .await
        .unwrap();
    store.close().await;

    let (ok, lines, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{lines:?} {stderr}");
    assert!(
        stderr.contains("processed 1 change(s) left waiting before this run (calls: Salesforce "),
        "{stderr}"
    );
    // The mapping's own run found it synced already: nothing of it is counted as its repair.
    assert_eq!(
        (
            lines[0]["differences"].as_u64(),
            lines[0]["repaired"].as_u64()
        ),
        (Some(0), Some(0)),
        "{}",
        lines[0]
    );
    assert_eq!(sims.member(1).await["Status"], "Attended");
}
