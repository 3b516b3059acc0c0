//! sObject Collections: mixed results, allOrNone rollback, the 200-record and ten-chunk limits.

use campaign_sync::sim::salesforce::SalesforceSimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{INTEGRATION, answer, login, seed, start};

fn member(campaign: &str, lead: &str) -> Value {
    json!({"attributes": {"type": "CampaignMember"}, "CampaignId": campaign, "LeadId": lead, "Status": "Registered"})
}

#[tokio::test]
async fn mixed_results_answer_200_with_one_result_per_record() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, lead) = seed(&sim);
    let client = login(&sim, INTEGRATION).await;
    let body = json!({"allOrNone": false, "records": [member(&campaign, &lead), member(&campaign, &lead)]});
    let (status, results) = answer(client.post("composite/sobjects", body).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(results[0]["success"], true);
    assert!(
        results[0]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("00v"))
    );
    assert_eq!(
        results[1],
        json!({"success": false, "errors": [{"statusCode": "DUPLICATE_VALUE", "message": "Already a campaign member.", "fields": []}]})
    );
    let id = results[0]["id"].as_str().expect("id").to_owned();

    let update = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "CampaignMember"}, "id": id, "Status": "Attended"},
        {"attributes": {"type": "CampaignMember"}, "id": id, "Status": "Nope"},
        {"attributes": {"type": "CampaignMember"}, "Status": "Sent"},
    ]});
    let (status, results) = answer(client.patch("composite/sobjects", update).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(results[0], json!({"id": id, "success": true, "errors": []}));
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(
        results[2]["errors"][0]["statusCode"], "MISSING_ARGUMENT",
        "an update without an id: {results}"
    );
    assert_eq!(sim.record(&id).expect("member")["Status"], "Attended");

    let (status, results) = answer(
        client
            .delete(&format!("composite/sobjects?ids={id},{id}"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(results[0], json!({"id": id, "success": true, "errors": []}));
    assert_eq!(results[1]["errors"][0]["statusCode"], "ENTITY_IS_DELETED");
}

#[tokio::test]
async fn all_or_none_rolls_every_record_back() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, lead) = seed(&sim);
    let other = sim
        .create_lead(json!({"LastName": "Other", "Company": "Co"}))
        .expect("lead");
    let client = login(&sim, INTEGRATION).await;
    let body = json!({"allOrNone": true, "records": [
        member(&campaign, &other),
        {"attributes": {"type": "Lead"}, "LastName": "No company"},
        member(&campaign, &lead),
    ]});
    let (status, results) = answer(client.post("composite/sobjects", body).await).await;
    assert_eq!(status, StatusCode::OK);
    let codes: Vec<&str> = results
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["errors"][0]["statusCode"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        codes,
        [
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "REQUIRED_FIELD_MISSING",
            "ALL_OR_NONE_OPERATION_ROLLED_BACK"
        ]
    );
    assert!(sim.members_of(&campaign).is_empty());
}

#[tokio::test]
async fn more_than_200_records_are_rejected_whole() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    let lead = json!({"attributes": {"type": "Lead"}, "LastName": "L", "Company": "C"});
    let body = json!({"allOrNone": false, "records": vec![lead; 201]});
    let (status, body) = answer(client.post("composite/sobjects", body).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body[0]["errorCode"], "EXCEEDED_ID_LIMIT");
    assert_eq!(sim.state()["objects"]["Lead"], json!([]));
}

#[tokio::test]
async fn a_collection_of_more_than_ten_chunks_is_refused_whole() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    let record = |i: usize| {
        if i.is_multiple_of(2) {
            json!({"attributes": {"type": "Lead"}, "LastName": format!("L{i}"), "Company": "Co"})
        } else {
            json!({"attributes": {"type": "Contact"}, "LastName": format!("C{i}")})
        }
    };
    let alternating: Vec<Value> = (0..12).map(record).collect();
    let (status, body) = answer(
        client
            .post("composite/sobjects", json!({"records": alternating}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body[0]["errorCode"], "INVALID_BATCH_REQUEST");
    assert_eq!(sim.state()["objects"]["Lead"], json!([]));
    assert_eq!(sim.state()["objects"]["Contact"], json!([]));

    // Ten chunks are taken, and so are many records of a type in one run.
    let mut ten: Vec<Value> = (0..10).map(record).collect();
    ten.extend((0..20).map(|i| record(2 * i + 11)));
    let (status, results) = answer(
        client
            .post("composite/sobjects", json!({"records": ten}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{results}");
    assert!(
        results
            .as_array()
            .is_some_and(|r| r.len() == 30 && r.iter().all(|r| r["success"] == true)),
        "{results}"
    );
}
