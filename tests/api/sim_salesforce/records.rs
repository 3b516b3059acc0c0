//! Single-record REST: validation codes and bodies, CampaignMember rules.

use campaign_sync::sim::salesforce::SalesforceSimConfig;
use reqwest::StatusCode;
use serde_json::json;

use super::{INTEGRATION, answer, login, seed, start};

#[tokio::test]
async fn a_lead_without_company_is_required_field_missing() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    let (status, body) = answer(
        client
            .post("sobjects/Lead", json!({"LastName": "Hopper"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!([{"message": "Required fields are missing: [Company]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Company"]}])
    );
    let (status, body) = answer(
        client
            .post(
                "sobjects/Lead/",
                json!({"LastName": "Hopper", "Company": "Navy"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["success"], true);
    assert_eq!(body["errors"], json!([]));
    let id = body["id"].as_str().expect("id");
    assert!(id.len() == 18 && id.starts_with("00Q"), "{id}");
    let (status, lead) = answer(client.get(&format!("sobjects/Lead/{id}")).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lead["IsConverted"], false);
    assert_eq!(lead["attributes"]["type"], "Lead");
}

#[tokio::test]
async fn campaign_members_follow_salesforce_rules() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, lead) = seed(&sim);
    let contact = sim
        .create_contact(json!({"LastName": "Curie", "Email": "marie@example.com"}))
        .expect("contact");
    let client = login(&sim, INTEGRATION).await;

    let both = json!({"CampaignId": campaign, "LeadId": lead, "ContactId": contact});
    let (status, created) = answer(client.post("sobjects/CampaignMember", both).await).await;
    assert_eq!(status, StatusCode::CREATED);
    let member_id = created["id"].as_str().expect("id").to_owned();
    assert!(member_id.starts_with("00v"));
    let (_, member) = answer(
        client
            .get(&format!("sobjects/CampaignMember/{member_id}"))
            .await,
    )
    .await;
    assert_eq!(member["ContactId"], contact.as_str());
    assert_eq!(member["LeadId"], json!(null));
    assert_eq!(member["Email"], "marie@example.com");
    assert_eq!(member["Status"], "Sent");
    assert_eq!(member["HasResponded"], false);
    assert_eq!(member["CreatedDate"], member["LastModifiedDate"]);

    let again = json!({"CampaignId": campaign, "ContactId": contact});
    let (status, body) = answer(client.post("sobjects/CampaignMember", again).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!([{"message": "Already a campaign member.", "errorCode": "DUPLICATE_VALUE"}])
    );

    let unknown = json!({"CampaignId": campaign, "LeadId": lead, "Status": "Maybe"});
    let (status, body) = answer(client.post("sobjects/CampaignMember", unknown).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body[0]["errorCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(body[0]["fields"], json!(["Status"]));

    let path = format!("sobjects/CampaignMember/{member_id}");
    let (status, body) = answer(client.patch(&path, json!({"LeadId": lead})).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD_FOR_INSERT_UPDATE");
    assert_eq!(body[0]["fields"], json!(["LeadId"]));

    // Datetimes are whole seconds: an update in the same second keeps the stamp.
    let response = client.patch(&path, json!({"Status": "Registered"})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (_, same_second) = answer(client.get(&path).await).await;
    let stamp = same_second["SystemModstamp"].as_str().expect("a stamp");
    // REST writes datetimes with a numeric offset (outbound messages use `Z`).
    assert!(stamp.ends_with(".000+0000"), "{stamp}");
    assert!(Some(stamp) >= member["SystemModstamp"].as_str());
    sim.advance_clock(std::time::Duration::from_secs(1));
    let response = client.patch(&path, json!({"Status": "Attended"})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (_, updated) = answer(client.get(&path).await).await;
    assert_eq!(updated["Status"], "Attended");
    assert_eq!(updated["HasResponded"], true);
    assert!(updated["SystemModstamp"].as_str() > member["SystemModstamp"].as_str());
    assert_eq!(updated["CreatedDate"], member["CreatedDate"]);
}

#[tokio::test]
async fn converted_leads_cannot_join_and_deleted_members_are_gone() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, lead) = seed(&sim);
    let client = login(&sim, INTEGRATION).await;
    let (_, created) = answer(
        client
            .post(
                "sobjects/CampaignMember",
                json!({"CampaignId": campaign, "LeadId": lead}),
            )
            .await,
    )
    .await;
    let path = format!(
        "sobjects/CampaignMember/{}",
        created["id"].as_str().expect("id")
    );
    assert_eq!(client.delete(&path).await.status(), StatusCode::NO_CONTENT);
    // Read, changed or deleted again, a deleted record answers 404 `ENTITY_IS_DELETED`.
    let deleted = json!([{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED"}]);
    for response in [
        client.get(&path).await,
        client.patch(&path, json!({"Status": "Sent"})).await,
        client.delete(&path).await,
    ] {
        assert_eq!(
            answer(response).await,
            (StatusCode::NOT_FOUND, deleted.clone())
        );
    }
    // One that never was: `NOT_FOUND`.
    let (status, body) = answer(
        client
            .get("sobjects/CampaignMember/00v000000000000AAA")
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
    );

    sim.convert_lead(&lead).expect("convert");
    let (status, body) = answer(
        client
            .post(
                "sobjects/CampaignMember",
                json!({"CampaignId": campaign, "LeadId": lead}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body[0]["errorCode"], "CANNOT_UPDATE_CONVERTED_LEAD");
}

#[tokio::test]
async fn a_campaign_created_over_rest_gets_the_default_statuses() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    let (status, created) = answer(
        client
            .post(
                "sobjects/Campaign",
                json!({"Name": "Spring", "Type": "Email"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().expect("id");
    assert!(id.starts_with("701"));
    let labels: Vec<(String, bool, bool)> = sim
        .statuses_of(id)
        .iter()
        .map(|s| {
            (
                s["Label"].as_str().unwrap_or_default().to_owned(),
                s["IsDefault"] == true,
                s["HasResponded"] == true,
            )
        })
        .collect();
    assert_eq!(
        labels,
        [
            ("Sent".to_owned(), true, false),
            ("Responded".to_owned(), false, true)
        ]
    );
    let path = format!("sobjects/Campaign/{id}");
    assert_eq!(
        client
            .patch(&path, json!({"Type": "Webinar", "ActualCost": 1234.5}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let (_, campaign) = answer(client.get(&path).await).await;
    assert_eq!(
        (campaign["Type"].clone(), campaign["ActualCost"].clone()),
        (json!("Webinar"), json!(1235)),
        "currency(18,0) keeps whole units"
    );
}
