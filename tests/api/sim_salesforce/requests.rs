//! Requests the simulated org answers before any record rule: API versions, a record update
//! naming its id, unknown resources and methods, bodies that are not JSON or too large, URIs
//! and headers over their limits, an empty collection call.

use campaign_sync::sim::salesforce::SalesforceSimConfig;
use reqwest::StatusCode;
use serde_json::json;

use super::{INTEGRATION, answer, login, seed, start};

#[tokio::test]
async fn only_the_orgs_api_versions_are_served_and_collections_from_42() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    let (campaign, _) = super::seed(&sim);
    let read = |version: &str| format!("/services/data/{version}/sobjects/Campaign/{campaign}");
    for (version, expected) in [
        ("v62.0", StatusCode::OK),
        ("v42.0", StatusCode::OK),
        ("v63.0", StatusCode::NOT_FOUND),
        ("v62", StatusCode::NOT_FOUND),
    ] {
        let (status, _) = answer(client.get(&read(version)).await).await;
        assert_eq!(status, expected, "{version}");
    }
    let collection =
        |version: &str| format!("/services/data/{version}/composite/sobjects?ids={campaign}");
    let (status, body) = answer(client.delete(&collection("v41.0")).await).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "collections came with 42.0: {body}"
    );
    let (status, body) = answer(client.delete(&collection("v42.0")).await).await;
    assert_eq!(status, StatusCode::OK, "42.0 serves collections: {body}");
}

/// A single-record update takes its id from the URL only; an `Id` in the body is refused.
#[tokio::test]
async fn a_single_record_update_naming_its_id_in_the_body_is_refused() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, _) = seed(&sim);
    let client = login(&sim, INTEGRATION).await;
    let path = format!("sobjects/Campaign/{campaign}");
    let (status, body) = answer(
        client
            .patch(&path, json!({"Id": campaign, "Type": "Webinar"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!([{"message": "The Id field should not be specified in the sobject data.", "errorCode": "INVALID_FIELD"}])
    );
    let (status, _) = answer(client.patch(&path, json!({"Type": "Webinar"})).await).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

/// A path Salesforce has no resource at answers its JSON 404 (after the token check); a method
/// a resource does not take, its JSON 405 naming the ones it does.
#[tokio::test]
async fn unknown_resources_and_methods_answer_in_salesforce_shape() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    for path in [
        "limits",
        "/services/data/v62.0/",
        "/services/data/v62.0",
        "/services/data/",
    ] {
        let response = client.get(path).await;
        assert!(
            response.headers().contains_key("sforce-limit-info"),
            "{path}"
        );
        let (status, body) = answer(response).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::NOT_FOUND,
                json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
            ),
            "{path}"
        );
    }
    let anonymous = reqwest::get(format!("{}/services/data/v62.0/limits", sim.base_url()))
        .await
        .expect("GET");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong_method = client.get("composite/sobjects").await;
    assert!(
        wrong_method.headers().contains_key("sforce-limit-info"),
        "a refused method is still a call: {:?}",
        wrong_method.headers()
    );
    let (status, body) = answer(wrong_method).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body[0]["errorCode"], "METHOD_NOT_ALLOWED");
    let message = body[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("HTTP Method 'GET' not allowed. Allowed are ")
            && message.contains("POST")
            && message.contains("PATCH"),
        "{message}"
    );
    // The token endpoint takes only POST, and its refusal is in the call log too.
    let token_get = reqwest::get(format!(
        "{}/services/oauth2/token?grant_type=client_credentials&client_secret=s",
        sim.base_url()
    ))
    .await
    .expect("GET");
    assert_eq!(token_get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(token_get.headers()["allow"], "POST");
    let logged = sim.requests();
    let refused = logged.last().expect("logged");
    assert_eq!(
        (
            refused.kind.as_str(),
            refused.method.as_str(),
            refused.status,
            refused.error_code.as_deref()
        ),
        ("token", "GET", Some(405), Some("METHOD_NOT_ALLOWED"))
    );
    // Its query string is logged as every call's is, the secret masked.
    let query = refused.query.as_deref().unwrap_or_default();
    assert!(
        query.starts_with("grant_type=client_credentials&client_secret=") && !query.ends_with("=s"),
        "{query}"
    );
}

/// A body sent as anything but JSON is Salesforce's 415, and nothing is written; JSON with a
/// charset, or a body without a `Content-Type`, is read.
#[tokio::test]
async fn a_body_that_is_not_json_is_unsupported_media_type() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    let lead = r#"{"LastName": "Hopper", "Company": "Navy"}"#;
    let send = |content_type: Option<&'static str>| {
        let mut request = client
            .http
            .post(client.url("sobjects/Lead"))
            .bearer_auth(&client.token)
            .body(lead);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        async move { answer(request.send().await.expect("POST")).await }
    };
    for given in ["application/x-www-form-urlencoded", "text/plain"] {
        let (status, body) = send(Some(given)).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{given}: {body}"
        );
        assert_eq!(
            body,
            json!([{"message": format!("MediaType of '{given}' is not supported by this resource"), "errorCode": "UNSUPPORTED_MEDIA_TYPE"}])
        );
    }
    let (status, body) = send(Some("application/xml")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        body[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("reads JSON only")),
        "{body}"
    );
    assert_eq!(
        client.query("SELECT Id FROM Lead").await["totalSize"],
        0,
        "nothing was created"
    );
    for given in [Some("application/json; charset=UTF-8"), None] {
        let (status, body) = send(given).await;
        assert_eq!(status, StatusCode::CREATED, "{given:?}: {body}");
    }
}

/// A Lead created without a Status gets the picklist's default, as in a new org.
#[tokio::test]
async fn a_new_lead_without_a_status_gets_the_default() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    for (body, expected) in [
        (
            json!({"LastName": "Hopper", "Company": "Navy"}),
            "Open - Not Contacted",
        ),
        (
            json!({"LastName": "Hopper", "Company": "Navy", "Status": "Working - Contacted"}),
            "Working - Contacted",
        ),
    ] {
        let (status, created) = answer(client.post("sobjects/Lead", body).await).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().expect("id");
        let (_, lead) = answer(client.get(&format!("sobjects/Lead/{id}")).await).await;
        assert_eq!(lead["Status"], expected);
    }
}

/// A URI over 16,384 bytes is refused with a bare 414 before the token is read, and the call
/// is still in the log.
#[tokio::test]
async fn a_uri_over_16_kib_is_414_and_logged() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    let ids: Vec<String> = (0..1000).map(|i| format!("'00Q{i:015}'")).collect();
    let soql = format!("SELECT Id FROM Lead WHERE Id IN ({})", ids.join(","));
    let response = client
        .http
        .get(client.url("query"))
        .query(&[("q", soql)])
        .bearer_auth(&client.token)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::URI_TOO_LONG);
    let logged = sim.requests();
    let refused = logged.last().expect("logged");
    assert_eq!(
        (refused.status, refused.path.as_str(), refused.write),
        (Some(414), "/services/data/v62.0/query", false)
    );
    assert_eq!(refused.client, None);
}

/// The URI and the headers together over 16,384 bytes are refused with 431, though the URI
/// alone is within its limit.
#[tokio::test]
async fn a_uri_and_headers_over_16_kib_together_are_431() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    let send = |header: usize| {
        client
            .http
            .get(client.url("sobjects/Lead/00Q000000000001AAA"))
            .header("X-Padding", "x".repeat(header))
            .bearer_auth(&client.token)
            .send()
    };
    let big = send(17_000).await.expect("GET");
    assert_eq!(big.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(sim.requests().last().unwrap().status, Some(431));
    let fits = send(1_000).await.expect("GET");
    assert_ne!(fits.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

/// A collection naming no record changes nothing: the call log does not count it as a write.
#[tokio::test]
async fn an_empty_collection_call_is_not_a_write() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    for response in [
        client
            .post("composite/sobjects", json!({ "records": [] }))
            .await,
        client
            .patch("composite/sobjects", json!({ "records": [] }))
            .await,
        client.delete("composite/sobjects?ids=").await,
    ] {
        assert_eq!(response.status(), StatusCode::OK);
        let logged = sim.requests();
        let call = logged.last().expect("logged");
        assert_eq!((call.write, call.records), (false, 0), "{call:?}");
    }
}

/// A body over axum's default 2 MB reaches the handler (Salesforce takes far more); one over the
/// simulator's 50 MB is refused in Salesforce's error shape, not plain text.
#[tokio::test]
async fn large_bodies_are_read_and_too_large_ones_refused_as_json() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    let padding = "x".repeat(12_000);
    let records: Vec<serde_json::Value> = (0..200)
        .map(|i| json!({"attributes": {"type": "Lead"}, "LastName": format!("L{i}"), "Company": "Big", "Padding__x": padding}))
        .collect();
    let response = client
        .post("composite/sobjects", json!({ "records": records }))
        .await;
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.is_array(), "{body}");

    let huge = format!(
        "{{\"records\": [], \"pad\": \"{}\"}}",
        "x".repeat(51 * 1024 * 1024)
    );
    let response = client
        .http
        .post(client.url("composite/sobjects"))
        .bearer_auth(&client.token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("POST");
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body[0]["errorCode"], "REQUEST_ENTITY_TOO_LARGE", "{body}");
}
