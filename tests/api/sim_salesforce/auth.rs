//! OAuth bodies, token expiry and revocation, the API allocation, injected faults, inspection.

use campaign_sync::sim::salesforce::SalesforceSimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{INTEGRATION, USER, answer, login, start, token_response};

#[tokio::test]
async fn client_credentials_token_has_the_documented_fields_and_no_expires_in() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (status, body) = answer(token_response(&sim, INTEGRATION).await).await;
    assert_eq!(status, StatusCode::OK);
    for field in [
        "access_token",
        "instance_url",
        "token_type",
        "issued_at",
        "signature",
        "id",
    ] {
        assert!(body[field].is_string(), "{field} missing from {body}");
    }
    assert!(body.get("expires_in").is_none());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["instance_url"], sim.base_url());
    let org15 = &sim.config().organization_id[..15];
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with(&format!("{org15}!")))
    );
}

#[tokio::test]
async fn bad_credentials_get_the_documented_oauth_errors() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (status, body) = answer(token_response(&sim, ("campaign-sync", "wrong")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_client", "error_description": "invalid client credentials"})
    );
    let (status, body) = answer(token_response(&sim, ("nobody", "x")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_client_id", "error_description": "client identifier invalid"})
    );
    let password_grant = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .form(&[("grant_type", "password"), ("client_id", INTEGRATION.0)])
        .send()
        .await
        .expect("token request");
    let (status, body) = answer(password_grant).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn expired_revoked_or_missing_tokens_get_401_with_salesforce_bodies() {
    let sim = start(SalesforceSimConfig {
        token_idle_timeout: std::time::Duration::from_millis(50),
        ..SalesforceSimConfig::default()
    })
    .await;
    let client = login(&sim, INTEGRATION).await;
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    let invalid =
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]);
    let (status, body) = answer(client.get("sobjects/Lead/00Q000000000000AAA").await).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, invalid.clone()));

    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    sim.revoke_tokens();
    let (status, body) = answer(client.get("query?q=SELECT+Id+FROM+Lead").await).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, invalid.clone()));
    let client = login(&sim, INTEGRATION).await;
    sim.expire_tokens();
    let (status, body) = answer(client.get("query?q=SELECT+Id+FROM+Lead").await).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, invalid));

    let anonymous = reqwest::get(format!(
        "{}/services/data/v62.0/query?q=SELECT+Id+FROM+Lead",
        sim.base_url()
    ))
    .await
    .expect("request");
    let (status, body) = answer(anonymous).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!([{"message": "INVALID_HEADER_TYPE", "errorCode": "INVALID_AUTH_HEADER"}])
    );
}

#[tokio::test]
async fn every_call_reports_usage_and_the_daily_limit_answers_403() {
    let sim = start(SalesforceSimConfig {
        daily_api_limit: 2,
        ..SalesforceSimConfig::default()
    })
    .await;
    let client = login(&sim, INTEGRATION).await;
    for used in 1..=2 {
        let response = client.get("query?q=SELECT+Id+FROM+Lead").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["sforce-limit-info"],
            format!("api-usage={used}/2").as_str()
        );
    }
    let response = client.get("query?q=SELECT+Id+FROM+Lead").await;
    assert_eq!(response.headers()["sforce-limit-info"], "api-usage=3/2");
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    // The allocation is rolling: a day later those calls no longer count.
    sim.advance_clock(std::time::Duration::from_secs(24 * 3600 + 60));
    let response = client.get("query?q=SELECT+Id+FROM+Lead").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["sforce-limit-info"], "api-usage=1/2");
}

#[tokio::test]
async fn transient_failures_are_503_or_a_writes_unable_to_lock_row() {
    let sim = start(SalesforceSimConfig {
        transient_failure_rate: 1.0,
        seed: 7,
        ..SalesforceSimConfig::default()
    })
    .await;
    let (_, lead) = super::seed(&sim);
    let client = login(&sim, INTEGRATION).await;
    let code = |body: &Value| body[0]["errorCode"].as_str().unwrap_or_default().to_owned();
    for _ in 0..12 {
        let (status, body) = answer(client.get("query?q=SELECT+Id+FROM+Lead").await).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::SERVICE_UNAVAILABLE, "SERVER_UNAVAILABLE".into()),
            "a read takes no lock"
        );
    }
    let mut seen = Vec::new();
    for _ in 0..12 {
        let path = format!("sobjects/Lead/{lead}");
        let (status, body) = answer(client.patch(&path, json!({"Company": "C"})).await).await;
        seen.push((status, code(&body)));
    }
    assert!(
        seen.contains(&(StatusCode::SERVICE_UNAVAILABLE, "SERVER_UNAVAILABLE".into())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&(StatusCode::BAD_REQUEST, "UNABLE_TO_LOCK_ROW".into())),
        "{seen:?}"
    );
    let records = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Lead"}, "id": lead, "Company": "D"},
    ]});
    let mut per_record = false;
    for _ in 0..12 {
        let (status, body) =
            answer(client.patch("composite/sobjects", records.clone()).await).await;
        if status == StatusCode::OK {
            assert_eq!(body[0]["success"], false, "{body}");
            assert_eq!(
                body[0]["errors"][0]["statusCode"], "UNABLE_TO_LOCK_ROW",
                "{body}"
            );
            per_record = true;
        } else {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        }
    }
    assert!(
        per_record,
        "a collection's lock fails its records, with 200"
    );
}

#[tokio::test]
async fn inspection_lists_calls_and_state() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, lead) = super::seed(&sim);
    let client = login(&sim, USER).await;
    let (status, created) = answer(
        client
            .post(
                "sobjects/CampaignMember",
                json!({"CampaignId": campaign, "LeadId": lead}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let calls: Value = reqwest::get(format!("{}/__sim/requests", sim.base_url()))
        .await
        .expect("requests")
        .json()
        .await
        .expect("json");
    let last = &calls.as_array().expect("array")[1];
    assert_eq!(last["client"], USER.0);
    assert_eq!(last["method"], "POST");
    assert_eq!(last["path"], "/services/data/v62.0/sobjects/CampaignMember");
    assert_eq!(last["status"], 201);
    assert_eq!(last["ids"], json!([created["id"]]));
    assert_eq!(last["write"], true);
    let state: Value = reqwest::get(format!("{}/__sim/state", sim.base_url()))
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    assert_eq!(state["objects"]["CampaignMember"][0]["Id"], created["id"]);
    assert_eq!(
        state["objects"]["CampaignMemberStatus"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(sim.requests().len(), 2);
}

/// Credentials revoked mid-run (`POST /__sim/credentials/revoke`): that client's session ends
/// and its token requests get `invalid_grant` "authentication failure" until restored; other
/// clients are untouched.
#[tokio::test]
async fn revoked_credentials_are_refused_with_invalid_grant_until_restored() {
    let sim = start(SalesforceSimConfig::default()).await;
    let integration = login(&sim, INTEGRATION).await;
    let user = login(&sim, USER).await;
    let control = |action: &str| format!("{}/__sim/credentials/{action}", sim.base_url());
    let http = reqwest::Client::new();
    let revoked = http
        .post(control("revoke"))
        .json(&json!({"clientId": INTEGRATION.0}))
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let (status, _) = answer(integration.get("query?q=SELECT+Id+FROM+Lead").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "its session ended");
    let (status, body) = answer(token_response(&sim, INTEGRATION).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "authentication failure"})
    );
    let (status, _) = answer(user.get("query?q=SELECT+Id+FROM+Lead").await).await;
    assert_eq!(status, StatusCode::OK, "another client is untouched");
    let unknown = http
        .post(control("revoke"))
        .json(&json!({"clientId": "nobody"}))
        .send()
        .await
        .expect("revoke");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let restored = http.post(control("restore")).send().await.expect("restore");
    assert_eq!(restored.status(), StatusCode::NO_CONTENT);
    let again = login(&sim, INTEGRATION).await;
    let (status, _) = answer(again.get("query?q=SELECT+Id+FROM+Lead").await).await;
    assert_eq!(status, StatusCode::OK);
}
