//! A repair that creates a record says which: the report of a real run names the Marketo lead
//! made for a member Salesforce alone had, where the preview could not.

use serde_json::Value;

use super::sims::simulators;
use crate::simulators::json;

/// The change the report lists for the Salesforce record `id`.
fn change_of<'a>(line: &'a Value, id: &str) -> &'a Value {
    line["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["salesforce_id"] == id)
        .unwrap_or_else(|| panic!("no change for {id}: {line}"))
}

#[tokio::test]
async fn a_repair_that_created_a_marketo_lead_names_it() {
    let sims = simulators(2).await;
    let sf_lead = sims
        .add_in_salesforce_only("only.in.salesforce@example.com", "Registered")
        .await;

    let (ok, dry, stderr) = sims.reconcile(&["--dry-run"]).await;
    assert!(ok, "{stderr}");
    let planned = change_of(&dry[0], &sf_lead);
    assert_eq!(planned["side"], "marketo", "{planned}");
    assert_eq!(planned["marketo_lead_id"], Value::Null, "not created yet");

    let (ok, real, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    let done = change_of(&real[0], &sf_lead);
    let created = done["marketo_lead_id"]
        .as_i64()
        .expect("the lead it created");
    let state =
        json(reqwest::Client::new().get(format!("{}/__sim/state", sims.url("marketo")))).await;
    let lead = state["leads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == created)
        .unwrap_or_else(|| panic!("lead {created} is not in Marketo"));
    assert_eq!(
        lead["fields"]["email"], "only.in.salesforce@example.com",
        "{lead}"
    );
}
