//! Values of the wrong JSON type or out of range are refused before anything is written:
//! `JSON_PARSER_ERROR` on a single-record call, the record's error in a collection, and
//! `NUMBER_OUTSIDE_VALID_RANGE` for a cost beyond `currency(18,0)`.

use campaign_sync::sim::salesforce::SalesforceSimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{INTEGRATION, answer, login, seed, start};

#[tokio::test]
async fn a_lead_with_values_of_the_wrong_type_is_refused_and_not_stored() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    for body in [
        json!({"LastName": ["Arr"], "Company": "Co"}),
        json!({"LastName": "Arr", "Company": {"x": 1}}),
        json!({"LastName": "Arr", "Company": "Co", "Email": 5}),
    ] {
        let (status, answer) = answer(client.post("sobjects/Lead/", body.clone()).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            answer[0]["errorCode"], "JSON_PARSER_ERROR",
            "{body}: {answer}"
        );
        assert!(answer[0]["message"].is_string());
    }
    assert_eq!(sim.state()["objects"]["Lead"], json!([]));
}

#[tokio::test]
async fn a_campaign_update_of_the_wrong_type_changes_nothing() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, _) = seed(&sim);
    let client = login(&sim, INTEGRATION).await;
    let path = format!("sobjects/Campaign/{campaign}");
    let before = sim.campaign(&campaign);
    let refused = [
        (json!({"ActualCost": "abc"}), "JSON_PARSER_ERROR"),
        (json!({"ActualCost": true}), "JSON_PARSER_ERROR"),
        (json!({"ActualCost": [5]}), "JSON_PARSER_ERROR"),
        (json!({"IsActive": "maybe"}), "JSON_PARSER_ERROR"),
        (json!({"StartDate": "not a date"}), "JSON_PARSER_ERROR"),
        (json!({"EndDate": "2025-02-30"}), "JSON_PARSER_ERROR"),
        (json!({"ActualCost": 1e20}), "NUMBER_OUTSIDE_VALID_RANGE"),
        (
            json!({"Type": "Webinar", "BudgetedCost": 1e18}),
            "NUMBER_OUTSIDE_VALID_RANGE",
        ),
    ];
    for (body, code) in refused {
        let (status, answer) = answer(client.patch(&path, body.clone()).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer[0]["errorCode"], code, "{body}: {answer}");
    }
    assert_eq!(sim.campaign(&campaign), before, "nothing was written");

    // Text that reads as the field's type is taken, as Salesforce's parser coerces it.
    let body = json!({"ActualCost": "12.5", "IsActive": "false", "StartDate": "2026-03-01"});
    let response = client.patch(&path, body).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let stored = sim.campaign(&campaign).expect("campaign");
    assert_eq!(stored["ActualCost"], 13, "currency(18,0) keeps whole units");
    assert_eq!(stored["IsActive"], false);
    assert_eq!(stored["StartDate"], "2026-03-01");
}

#[tokio::test]
async fn a_member_status_that_is_not_text_is_refused_never_reported_done() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, lead) = seed(&sim);
    let member = sim
        .add_member("sim-user", &campaign, &lead, Some("Registered"))
        .expect("member");
    let client = login(&sim, INTEGRATION).await;
    let path = format!("sobjects/CampaignMember/{member}");
    for status in [json!(7), json!(["Invited"]), json!({"a": 1})] {
        let (code, body) = answer(client.patch(&path, json!({"Status": status})).await).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{status}");
        assert_eq!(
            body[0]["errorCode"], "JSON_PARSER_ERROR",
            "{status}: {body}"
        );

        let record =
            json!({"attributes": {"type": "CampaignMember"}, "id": member, "Status": status});
        let (code, results) = answer(
            client
                .patch("composite/sobjects", json!({"records": [record]}))
                .await,
        )
        .await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(results[0]["success"], false, "{status}: {results}");
        assert_eq!(results[0]["errors"][0]["statusCode"], "JSON_PARSER_ERROR");
    }
    let other = sim
        .create_lead(json!({"LastName": "Other", "Company": "Co"}))
        .expect("lead");
    let new = json!({"CampaignId": campaign, "LeadId": other, "Status": 7});
    let (code, body) = answer(client.post("sobjects/CampaignMember", new).await).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body[0]["errorCode"], "JSON_PARSER_ERROR");
    assert_eq!(sim.members_of(&campaign).len(), 1, "no member was added");
    assert_eq!(sim.record(&member).expect("member")["Status"], "Registered");
}

#[tokio::test]
async fn collections_refuse_a_wrongly_typed_record_alone() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    let lead =
        |last: Value| json!({"attributes": {"type": "Lead"}, "LastName": last, "Company": "Co"});
    let body =
        json!({"records": [lead(json!("Good")), lead(json!(["Arr"])), lead(json!({"x": 1}))]});
    let (status, results) = answer(client.post("composite/sobjects", body).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(results[0]["success"], true, "{results}");
    for bad in [1, 2] {
        assert_eq!(results[bad]["success"], false, "{results}");
        assert_eq!(results[bad]["errors"][0]["statusCode"], "JSON_PARSER_ERROR");
    }
    let leads = sim.state()["objects"]["Lead"].clone();
    assert_eq!(leads.as_array().map(Vec::len), Some(1), "{leads}");
}
