//! Rules a real org enforces that a lenient simulator would let a client break: the
//! client-credentials flow only on the My Domain host, e-mail addresses and field lengths,
//! lead conversion, a Campaign row locked by another transaction, getDeleted's 15 days, the
//! concurrent long-running request limit.

use std::time::Duration;

use campaign_sync::sim::salesforce::{SalesforceSim, SalesforceSimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{INTEGRATION, answer, login, seed, start};

#[tokio::test]
async fn client_credentials_are_refused_on_the_generic_login_host() {
    let sim = start(SalesforceSimConfig::default()).await;
    assert_ne!(sim.generic_login_url(), sim.base_url());
    let response = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", sim.generic_login_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", INTEGRATION.0),
            ("client_secret", INTEGRATION.1),
        ])
        .send()
        .await
        .expect("token request");
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "request not supported on this domain"})
    );
    // The call log names the path as requested and the host apart.
    let logged = sim.requests();
    let refused = logged.last().expect("logged");
    assert_eq!(refused.path, "/services/oauth2/token");
    assert_eq!(refused.host.as_deref(), Some("generic_login"));
    // Another method is the main host's 405, logged the same way.
    let wrong = reqwest::get(format!(
        "{}/services/oauth2/token?x=1",
        sim.generic_login_url()
    ))
    .await
    .expect("GET");
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    let (_, body) = answer(wrong).await;
    assert_eq!(body[0]["errorCode"], "METHOD_NOT_ALLOWED", "{body}");
    let logged = sim.requests();
    let refused = logged.last().expect("logged");
    assert_eq!(
        (
            refused.method.as_str(),
            refused.host.as_deref(),
            refused.query.as_deref()
        ),
        ("GET", Some("generic_login"), Some("x=1"))
    );
    // The My Domain host issues the token.
    login(&sim, INTEGRATION).await;
    assert_eq!(sim.requests().last().unwrap().host, None);
}

/// The generic login host listens where the simulator does, so a client that reaches one (from
/// a container, say) reaches the other.
#[tokio::test]
async fn the_generic_login_host_listens_on_the_simulators_address() {
    let listen = std::net::SocketAddr::from(([127, 0, 0, 2], 0));
    let sim = SalesforceSim::spawn_on(SalesforceSimConfig::default(), listen)
        .await
        .expect("a simulator on 127.0.0.2");
    assert!(
        sim.generic_login_url().starts_with("http://127.0.0.2:"),
        "{}",
        sim.generic_login_url()
    );
}

#[tokio::test]
async fn an_email_that_is_not_an_address_is_invalid_email_address() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    let lead = json!({"LastName": "L", "Company": "C", "Email": "a%40b.com"});
    let (status, body) = answer(client.post("sobjects/Lead", lead).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!([{"message": "Email: invalid email address: a%40b.com", "errorCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"]}])
    );
    let (_, created) = answer(
        client
            .post(
                "sobjects/Contact",
                json!({"LastName": "L", "Email": "a@b.com"}),
            )
            .await,
    )
    .await;
    let path = format!("sobjects/Contact/{}", created["id"].as_str().expect("id"));
    let (status, body) = answer(client.patch(&path, json!({"Email": "nobody"})).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body[0]["errorCode"], "INVALID_EMAIL_ADDRESS");
    let records = json!({"records": [
        {"attributes": {"type": "Lead"}, "LastName": "Ok", "Company": "C", "Email": "ok@x.com"},
        {"attributes": {"type": "Lead"}, "LastName": "Bad", "Company": "C", "Email": "bad@"},
    ]});
    let (_, results) = answer(client.post("composite/sobjects", records).await).await;
    assert_eq!(results[0]["success"], true);
    assert_eq!(
        results[1]["errors"][0],
        json!({"statusCode": "INVALID_EMAIL_ADDRESS", "message": "Email: invalid email address: bad@", "fields": ["Email"]})
    );
}

#[tokio::test]
async fn values_longer_than_the_field_are_string_too_long() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    let long_email = format!("{}@example.com", "a".repeat(69));
    for (field, label, max, value) in [
        ("FirstName", "First Name", 40, "f".repeat(41)),
        ("LastName", "Last Name", 80, "l".repeat(81)),
        ("Company", "Company", 255, "c".repeat(256)),
        ("Email", "Email", 80, long_email),
    ] {
        let mut lead = json!({"LastName": "L", "Company": "C"});
        lead[field] = json!(value);
        let (status, body) = answer(client.post("sobjects/Lead", lead.clone()).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(
            body,
            json!([{"message": format!("{label}: data value too large: {value} (max length={max})"),
                "errorCode": "STRING_TOO_LONG", "fields": [field]}])
        );
        let at_limit: String = value.chars().skip(1).collect();
        lead[field] = json!(if field == "Email" {
            format!("{}@example.com", "a".repeat(68))
        } else {
            at_limit
        });
        let (status, body) = answer(client.post("sobjects/Lead", lead).await).await;
        assert_eq!(status, StatusCode::CREATED, "{field} at its limit: {body}");
    }
}

#[tokio::test]
async fn campaign_costs_are_kept_in_whole_units() {
    let sim = start(SalesforceSimConfig::default()).await;
    let client = login(&sim, INTEGRATION).await;
    let (campaign, _) = super::seed(&sim);
    let path = format!("sobjects/Campaign/{campaign}");
    let body = json!({"ActualCost": 1234.5, "BudgetedCost": 99.4});
    let (status, _) = answer(client.patch(&path, body).await).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, read) = answer(client.get(&path).await).await;
    assert_eq!(
        (read["ActualCost"].as_f64(), read["BudgetedCost"].as_f64()),
        (Some(1235.0), Some(99.0)),
        "{read}"
    );
}

#[tokio::test]
async fn a_converted_lead_links_its_contact_and_refuses_writes() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, lead) = seed(&sim);
    let member = sim
        .add_member(INTEGRATION.0, &campaign, &lead, Some("Registered"))
        .expect("member");
    let contact = sim.convert_lead_to_contact(&lead).expect("convert");
    assert!(contact.starts_with("003"), "{contact}");
    let client = login(&sim, INTEGRATION).await;
    let (_, read) = answer(client.get(&format!("sobjects/Lead/{lead}")).await).await;
    assert_eq!(read["IsConverted"], true);
    assert_eq!(read["ConvertedContactId"], contact.as_str());
    let (_, person) = answer(client.get(&format!("sobjects/Contact/{contact}")).await).await;
    assert_eq!(person["Email"], "ada@example.com");
    assert_eq!(person["LastName"], "Lovelace");
    let (_, linked) = answer(
        client
            .get(&format!("sobjects/CampaignMember/{member}"))
            .await,
    )
    .await;
    assert_eq!(linked["ContactId"], contact.as_str());
    assert_eq!(
        linked["LeadId"],
        lead.as_str(),
        "the member keeps its LeadId"
    );

    let (status, body) = answer(
        client
            .patch(
                &format!("sobjects/Lead/{lead}"),
                json!({"FirstName": "Ada"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!([{"message": "cannot reference converted lead", "errorCode": "CANNOT_UPDATE_CONVERTED_LEAD"}])
    );
    // The member can still be written through the campaign, as the Contact's membership.
    let (status, _) = answer(
        client
            .patch(
                &format!("sobjects/CampaignMember/{member}"),
                json!({"Status": "Attended"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_held_campaign_lock_fails_each_member_write_with_unable_to_lock_row() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, lead) = seed(&sim);
    let other = sim
        .create_lead(json!({"LastName": "Hopper", "Company": "Navy", "Email": "grace@example.com"}))
        .expect("lead");
    let member = |lead: &str| json!({"attributes": {"type": "CampaignMember"}, "CampaignId": campaign, "LeadId": lead, "Status": "Registered"});
    let client = login(&sim, INTEGRATION).await;
    sim.hold_campaign_lock(&campaign, 2).expect("lock");
    let body = json!({"records": [member(&lead), member(&other)]});
    let (status, results) = answer(client.post("composite/sobjects", body.clone()).await).await;
    assert_eq!(status, StatusCode::OK);
    for result in results.as_array().expect("results") {
        assert_eq!(
            result,
            &json!({"success": false, "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW",
                "message": "unable to obtain exclusive access to this record", "fields": []}]})
        );
    }
    let (_, results) = answer(client.post("composite/sobjects", body).await).await;
    let ok: Vec<&Value> = results.as_array().expect("results").iter().collect();
    assert!(ok.iter().all(|r| r["success"] == true), "{results}");
}

#[tokio::test]
async fn get_deleted_refuses_a_start_15_days_back_or_not_a_minute_before_the_end() {
    let sim = start(SalesforceSimConfig::default()).await;
    sim.advance_clock(Duration::from_secs(20 * 24 * 3600));
    let client = login(&sim, INTEGRATION).await;
    let now = sim
        .record(
            &sim.create_lead(json!({"LastName": "Clock", "Company": "C"}))
                .expect("lead"),
        )
        .expect("lead")["CreatedDate"]
        .as_str()
        .expect("date")
        .to_owned();
    let now = chrono::DateTime::parse_from_rfc3339(&now.replace("+0000", "Z")).expect("date");
    let start = (now - chrono::Duration::days(16))
        .format("%Y-%m-%dT%H:%M:00Z")
        .to_string();
    let end = now.format("%Y-%m-%dT%H:%M:00Z").to_string();
    let within_the_end_minute = now.format("%Y-%m-%dT%H:%M:30Z").to_string();
    for (start, why) in [
        (start, "16 days back"),
        (end.clone(), "the same instant"),
        (within_the_end_minute, "the same minute"),
    ] {
        let url = reqwest::Url::parse_with_params(
            &client.url("sobjects/CampaignMember/deleted/"),
            [("start", start.as_str()), ("end", end.as_str())],
        )
        .expect("url");
        let response = client.http.get(url).bearer_auth(&client.token).send().await;
        let (status, body) = answer(response.expect("getDeleted")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}");
        assert_eq!(
            body[0]["errorCode"], "INVALID_REPLICATION_DATE",
            "{why}: {body}"
        );
    }
}

/// Salesforce's concurrent long-running request limit: with as many calls as the org allows
/// running past the threshold (here 2 past 100 ms, set by `POST /__sim/limits/long-requests`,
/// for 25 past 20 s), the next call is 403 `REQUEST_LIMIT_EXCEEDED` "ConcurrentPerOrgLongTxn
/// Limit exceeded."; once they end, calls are served again.
#[tokio::test]
async fn calls_past_the_long_running_limit_are_refused_with_request_limit_exceeded() {
    let sim = start(SalesforceSimConfig::default()).await;
    let lowered = reqwest::Client::new()
        .post(format!("{}/__sim/limits/long-requests", sim.base_url()))
        .json(&json!({"thresholdMs": 100, "max": 2}))
        .send()
        .await
        .expect("limit");
    assert_eq!(lowered.status(), StatusCode::OK);
    let client = std::sync::Arc::new(login(&sim, INTEGRATION).await);
    let slow = reqwest::Client::new()
        .post(format!("{}/__sim/faults", sim.base_url()))
        .json(&json!({"latency_ms": 600, "calls": 2}))
        .send()
        .await
        .expect("fault");
    assert!(slow.status().is_success());
    let running: Vec<_> = (0..2)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get("query?q=SELECT+Id+FROM+Lead").await.status() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = answer(client.get("query?q=SELECT+Id+FROM+Lead").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!([{"message": "ConcurrentPerOrgLongTxn Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    for call in running {
        assert_eq!(call.await.expect("call"), StatusCode::OK);
    }
    let (status, _) = answer(client.get("query?q=SELECT+Id+FROM+Lead").await).await;
    assert_eq!(status, StatusCode::OK, "the long calls ended");
}
