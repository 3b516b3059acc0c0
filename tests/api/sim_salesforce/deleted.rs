//! getDeleted: `sobjects/CampaignMember/deleted/?start=&end=`.

use std::time::Duration;

use campaign_sync::sim::salesforce::SalesforceSimConfig;
use reqwest::StatusCode;
use serde_json::json;

use super::{INTEGRATION, answer, login, seed, start};

#[tokio::test]
async fn get_deleted_lists_removed_members_once_their_minute_has_passed() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, lead) = seed(&sim);
    let member = sim
        .add_member(INTEGRATION.0, &campaign, &lead, None)
        .expect("member");
    let start_at = campaign_sync_now(&sim);
    sim.delete_member(INTEGRATION.0, &member).expect("delete");
    sim.advance_clock(Duration::from_secs(120));
    let client = login(&sim, INTEGRATION).await;
    let url = client.url("sobjects/CampaignMember/deleted/");
    let end = "2999-01-01T00:00:00Z".to_owned();
    let response = client
        .http
        .get(
            reqwest::Url::parse_with_params(
                &url,
                [("start", start_at.as_str()), ("end", end.as_str())],
            )
            .expect("url"),
        )
        .bearer_auth(&client.token)
        .send()
        .await
        .expect("getDeleted");
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deletedRecords"][0]["id"], member.as_str());
    let deleted_date = body["deletedRecords"][0]["deletedDate"]
        .as_str()
        .expect("date");
    assert!(
        deleted_date.ends_with(".000+0000") || deleted_date.ends_with("+0000"),
        "{deleted_date}"
    );
    assert!(
        body["earliestDateAvailable"]
            .as_str()
            .is_some_and(|d| d.ends_with(":00.000+0000"))
    );
    assert!(
        body["latestDateCovered"]
            .as_str()
            .is_some_and(|d| d.ends_with(":00.000+0000"))
    );
}

/// The org's current minute, as a getDeleted `start`.
fn campaign_sync_now(sim: &campaign_sync::sim::salesforce::SalesforceSim) -> String {
    let lead = sim
        .record(
            &sim.create_lead(json!({"LastName": "Clock", "Company": "C"}))
                .expect("lead"),
        )
        .expect("lead");
    let created = lead["CreatedDate"].as_str().expect("date");
    format!("{}:00Z", &created[..16])
}
