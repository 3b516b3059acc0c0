//! The Salesforce connector against the Salesforce simulator: token re-use and re-auth,
//! collections with per-record results, paging, and the daily-usage margin.

use std::time::Duration;

use campaign_sync::config::SalesforceConfig;
use campaign_sync::connectors::CallError;
use campaign_sync::connectors::salesforce::{
    RecordOutcome, SalesforceClient, classify::classify_record,
};
use campaign_sync::sim::salesforce::{SalesforceSim, SalesforceSimConfig};
use campaign_sync::store::now_millis;
use serde_json::json;

async fn sim(adjust: impl FnOnce(&mut SalesforceSimConfig)) -> (SalesforceSim, SalesforceConfig) {
    let mut config = SalesforceSimConfig::default();
    adjust(&mut config);
    let sim = SalesforceSim::spawn(config).await.unwrap();
    let mut settings = SalesforceConfig::default();
    sim.configure_service(&mut settings, "campaign-sync")
        .unwrap();
    (sim, settings)
}

#[tokio::test]
async fn collections_report_each_record_and_queries_page_through() {
    let (sim, settings) = sim(|_| {}).await;
    let campaign = sim
        .create_campaign(json!({ "Name": "Webinar" }), &[])
        .unwrap();
    let client = SalesforceClient::new(&settings).expect("client");
    let leads: Vec<_> = (0..450).map(|i| json!({ "LastName": format!("L{i}"), "Company": "C", "Email": format!("l{i}@example.com") })).collect();
    let created = client.create("Lead", leads).await.unwrap();
    assert_eq!(created.len(), 450);
    let ids: Vec<String> = created.iter().map(|r| r.id.clone().unwrap()).collect();
    let mut members: Vec<_> = ids
        .iter()
        .map(|id| json!({ "CampaignId": campaign, "LeadId": id, "Status": "Sent" }))
        .collect();
    members.push(json!({ "CampaignId": campaign, "LeadId": ids[0], "Status": "Sent" }));
    let results = client.create("CampaignMember", members).await.unwrap();
    // Chunks run side by side, so either copy of the membership may be the one refused.
    let outcomes = [classify_record(&results[0]), classify_record(&results[450])];
    let refused = outcomes
        .iter()
        .filter(|o| **o == RecordOutcome::AlreadyExists)
        .count();
    assert_eq!(refused, 1, "{outcomes:?}");
    assert!(results[1..450].iter().all(|r| r.success));
    let mut listed = Vec::new();
    client
        .each_campaign_member_page(&campaign, |page| listed.push(page))
        .await
        .unwrap();
    let pages: Vec<usize> = listed.iter().map(Vec::len).collect();
    assert_eq!(pages, [450], "one query page holds up to 2,000");
    let listed: Vec<_> = listed.into_iter().flatten().collect();
    assert!(
        listed.iter().all(|m| m.email.is_some()),
        "e-mail reads through from the Lead"
    );
    let (contacts, open_leads) = client
        .people_by_email(&["l7@example.com".into()])
        .await
        .unwrap();
    assert!(contacts.is_empty());
    assert_eq!(open_leads[0].id, ids[7]);
    let gone = client.delete(&ids[..2]).await.unwrap();
    assert!(gone.iter().all(|r| r.success));
}

/// An e-mail may run to 80 characters: 200 long ones in one `IN (…)` list would pass the 16 KB
/// URI Salesforce (and the simulator) accepts, so lookups are cut by length, not by count.
#[tokio::test]
async fn lookups_of_long_emails_are_cut_to_fit_the_uri() {
    let (sim, settings) = sim(|_| {}).await;
    let client = SalesforceClient::new(&settings).expect("client");
    let emails: Vec<String> = (0..250)
        .map(|i| {
            format!("{i:03}.a.rather.long.mailbox.name.for.testing.lookups@subsidiary.example.com")
        })
        .collect();
    assert!(emails.iter().all(|e| e.len() > 70 && e.len() <= 80));
    let leads: Vec<_> = emails
        .iter()
        .map(|e| json!({ "LastName": "L", "Company": "C", "Email": e }))
        .collect();
    let created = client.create("Lead", leads).await.unwrap();
    assert!(created.iter().all(|r| r.success));
    let (contacts, leads) = client.people_by_email(&emails).await.unwrap();
    assert!(contacts.is_empty());
    assert_eq!(leads.len(), 250);
    let ids: Vec<String> = created.iter().map(|r| r.id.clone().unwrap()).collect();
    assert!(client.converted_leads(&ids).await.unwrap().is_empty());
    let refused = sim
        .requests()
        .iter()
        .filter(|r| r.status == Some(414))
        .count();
    assert_eq!(refused, 0);
}

#[tokio::test]
async fn a_rejected_token_is_replaced_once() {
    let (sim, settings) = sim(|_| {}).await;
    let campaign = sim
        .create_campaign(json!({ "Name": "Webinar" }), &[])
        .unwrap();
    let client = SalesforceClient::new(&settings).expect("client");
    client.get("Campaign", &campaign).await.unwrap();
    sim.revoke_tokens();
    assert_eq!(
        client.get("Campaign", &campaign).await.unwrap()["Name"],
        "Webinar"
    );
    sim.expire_tokens();
    assert_eq!(
        client.campaign_statuses(&campaign).await.unwrap(),
        ["Sent", "Responded"]
    );
}

/// A client that made 5 reads of a 10-call day, with writes stopped at 50 % used; the campaign
/// it read.
async fn half_a_small_day_used() -> (SalesforceSim, SalesforceClient, String) {
    let (sim, mut settings) = sim(|c| c.daily_api_limit = 10).await;
    settings.daily_limit_margin_percent = 50;
    let campaign = sim
        .create_campaign(json!({ "Name": "Webinar" }), &[])
        .unwrap();
    let client = SalesforceClient::new(&settings).expect("client");
    for _ in 0..5 {
        client.get("Campaign", &campaign).await.unwrap();
    }
    (sim, client, campaign)
}

#[tokio::test]
async fn writes_pause_inside_the_daily_margin_and_the_limit_pauses_the_side() {
    let (_sim, client, campaign) = half_a_small_day_used().await;
    assert_eq!(
        client.api_usage().map(|(used, limit)| (used >= 5, limit)),
        Some((true, 10))
    );
    let paused = client
        .patch("Campaign", &campaign, &json!({ "ActualCost": 1 }))
        .await
        .unwrap_err();
    assert!(matches!(paused, CallError::Paused { .. }), "{paused:?}");
    assert!(
        client.quota().paused(now_millis()).is_none(),
        "the margin stops writes only; reads go on"
    );
    for _ in 0..10 {
        if let Err(error) = client.get("Campaign", &campaign).await {
            let until = error
                .paused_until()
                .expect("REQUEST_LIMIT_EXCEEDED pauses: {error:?}");
            assert_eq!(client.quota().paused(now_millis()).unwrap().until_ms, until);
            let calls = client.calls_made();
            let refused = client.get("Campaign", &campaign).await.unwrap_err();
            assert!(matches!(refused, CallError::Paused { .. }));
            assert_eq!(client.calls_made(), calls, "a paused side sends nothing");
            return;
        }
    }
    panic!("the simulator's daily limit never answered 403");
}

#[tokio::test]
async fn the_configured_request_timeout_ends_a_call_to_a_server_that_never_answers() {
    // A server that accepts connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = silent.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let settings = SalesforceConfig {
        login_url: format!("http://{address}"),
        request_timeout_secs: 1,
        ..SalesforceConfig::default()
    };
    let client = SalesforceClient::new(&settings).expect("client");
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        client.query("SELECT Id FROM Campaign"),
    )
    .await
    .expect("the client's own timeout ends the call, not this one");
    assert!(matches!(result, Err(CallError::Retry { .. })), "{result:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    held.abort();
}

#[tokio::test]
async fn clones_share_the_daily_usage_and_the_call_count() {
    let (_sim, worker, campaign) = half_a_small_day_used().await;
    let outbox = worker.clone();
    assert_eq!(outbox.calls_made(), worker.calls_made());
    assert_eq!(
        outbox.api_usage().map(|(used, limit)| (used >= 5, limit)),
        Some((true, 10)),
        "the usage one clone read is the other's"
    );
    let paused = outbox
        .patch("Campaign", &campaign, &json!({ "ActualCost": 1 }))
        .await
        .unwrap_err();
    assert!(matches!(paused, CallError::Paused { .. }), "{paused:?}");
}

/// Salesforce failing on its side (a 500 `UNKNOWN_EXCEPTION`) shows as down in the side's
/// health, and the next answer brings it back up.
#[tokio::test]
async fn a_server_error_marks_salesforce_down_until_a_call_succeeds() {
    let (sim, settings) = sim(|_| {}).await;
    let client = SalesforceClient::new(&settings).expect("client");
    client.query("SELECT Id FROM Campaign").await.unwrap();
    let fault = reqwest::Client::new()
        .post(format!("{}/__sim/faults", sim.base_url()))
        .json(&json!({"http_status": 500, "calls": 1}))
        .send()
        .await
        .unwrap();
    assert!(fault.status().is_success());
    let error = client.query("SELECT Id FROM Campaign").await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    let health = campaign_sync::upstream::health("salesforce", &settings.login_url);
    assert_eq!(health.up, Some(false), "{health:?}");
    assert!(health.failing_since.is_some(), "{health:?}");
    let failed_at = health.last_error_at.expect("when the error was seen");
    client.query("SELECT Id FROM Campaign").await.unwrap();
    let health = campaign_sync::upstream::health("salesforce", &settings.login_url);
    assert_eq!(health.up, Some(true), "{health:?}");
    // The error stays, as history, with when it was seen.
    assert!(health.last_error.is_some(), "{health:?}");
    assert_eq!(health.last_error_at, Some(failed_at));
}

/// Salesforce locks a member's Campaign row while it writes the member: two writes to one
/// campaign's members at once take turns, and one kept waiting past the lock timeout fails
/// with `UNABLE_TO_LOCK_ROW`; deleting members locks it the same way. The client sends a
/// campaign's member chunks one after another.
#[tokio::test]
async fn member_chunks_of_one_campaign_go_one_after_another_so_none_waits_for_the_row() {
    let (sim, settings) = sim(|c| {
        c.campaign_row_hold = Duration::from_millis(150);
        c.row_lock_timeout = Duration::from_millis(50);
    })
    .await;
    let campaign = sim
        .create_campaign(json!({ "Name": "Webinar" }), &[])
        .unwrap();
    let client = SalesforceClient::new(&settings).expect("client");
    let leads: Vec<_> = (0..450)
        .map(|i| json!({ "LastName": format!("R{i}"), "Company": "C", "Email": format!("r{i}@example.com") }))
        .collect();
    let ids: Vec<String> = client
        .create("Lead", leads)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.unwrap())
        .collect();
    let member = |id: &String| json!({ "CampaignId": campaign, "LeadId": id, "Status": "Sent" });
    // The simulator's rule: two writes to the campaign's members at once, the second refused.
    let (first, second) = tokio::join!(
        client.create("CampaignMember", ids[..2].iter().map(member).collect()),
        client.create("CampaignMember", ids[2..4].iter().map(member).collect()),
    );
    let refused = [first.unwrap(), second.unwrap()]
        .concat()
        .into_iter()
        .filter(|r| !r.success)
        .map(|r| r.errors[0].status_code.clone())
        .collect::<Vec<_>>();
    assert_eq!(
        refused, ["UNABLE_TO_LOCK_ROW"; 2],
        "one write waited too long"
    );
    // The client's own chunks (200, 200, 46) never wait on each other.
    let results = client
        .create("CampaignMember", ids[4..].iter().map(member).collect())
        .await
        .unwrap();
    assert_eq!(results.len(), 446);
    assert!(
        results.iter().all(|r| r.success),
        "{:?}",
        results.iter().find(|r| !r.success)
    );
    // Deleting members locks the row too: two deletes at once, the second refused; the
    // client's own delete chunks take turns.
    let members: Vec<String> = results.into_iter().map(|r| r.id.unwrap()).collect();
    let (first, second) = tokio::join!(client.delete(&members[..2]), client.delete(&members[2..4]));
    let refused = [first.unwrap(), second.unwrap()]
        .concat()
        .into_iter()
        .filter(|r| !r.success)
        .count();
    assert_eq!(refused, 2, "one delete waited too long");
    let deleted = client.delete(&members[4..]).await.unwrap();
    assert_eq!(deleted.len(), 442);
    assert!(deleted.iter().all(|r| r.success), "{deleted:?}");
}
