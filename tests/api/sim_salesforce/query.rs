//! The SOQL subset and 2,000-record paging.

use campaign_sync::sim::salesforce::SalesforceSimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{INTEGRATION, answer, login, seed, start};

fn ids(page: &Value) -> Vec<String> {
    page["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["Id"].as_str().expect("Id").to_owned())
        .collect()
}

#[tokio::test]
async fn the_soql_subset_filters_like_salesforce() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, lead) = seed(&sim);
    let second = sim
        .create_lead(json!({"LastName": "Two", "Company": "C", "Email": "Two@Example.com"}))
        .expect("lead");
    let third = sim
        .create_lead(json!({"LastName": "Three", "Company": "C"}))
        .expect("lead");
    // A second apart each: Salesforce keeps datetimes to the second.
    let second_later = || sim.advance_clock(std::time::Duration::from_secs(1));
    let registered = sim
        .add_member(INTEGRATION.0, &campaign, &lead, Some("Registered"))
        .expect("member");
    second_later();
    let attended = sim
        .add_member(INTEGRATION.0, &campaign, &second, Some("Attended"))
        .expect("member");
    second_later();
    let sent = sim
        .add_member(INTEGRATION.0, &campaign, &third, None)
        .expect("member");
    let client = login(&sim, INTEGRATION).await;

    let page = client
        .query(&format!(
            "SELECT Id, Status, LeadId, Email FROM CampaignMember WHERE CampaignId = '{}' AND Status IN ('Registered', 'Attended') ORDER BY Status",
            &campaign[..15]
        ))
        .await;
    assert_eq!(page["totalSize"], 2);
    assert_eq!(page["done"], true);
    assert_eq!(ids(&page), [attended.clone(), registered.clone()]);
    assert_eq!(page["records"][0]["attributes"]["type"], "CampaignMember");
    assert_eq!(page["records"][0]["Email"], "Two@Example.com");
    assert!(
        page["records"][0].get("CampaignId").is_none(),
        "only selected fields"
    );

    let page = client
        .query("SELECT Id FROM Lead WHERE Email = 'two@example.com'")
        .await;
    assert_eq!(ids(&page), [second]);
    let page = client
        .query(&format!(
            "select id from campaignmember where Status != 'Sent' and LeadId != '{lead}' limit 5"
        ))
        .await;
    assert_eq!(ids(&page), [attended.as_str()]);

    let modstamp = sim.record(&attended).expect("member")["SystemModstamp"]
        .as_str()
        .expect("stamp")
        .to_owned();
    let page = client
        .query(&format!(
            "SELECT Id FROM CampaignMember WHERE SystemModstamp > {modstamp}"
        ))
        .await;
    assert_eq!(ids(&page), [sent.as_str()]);
    let page = client
        .query(&format!(
            "SELECT Id FROM CampaignMember WHERE SystemModstamp < {modstamp} LIMIT 1"
        ))
        .await;
    assert_eq!(ids(&page), [registered]);

    let statuses = client
        .query(&format!("SELECT CampaignId, Label, IsDefault, HasResponded, SortOrder FROM CampaignMemberStatus WHERE CampaignId IN ('{campaign}')"))
        .await;
    assert_eq!(statuses["totalSize"], 3);
    assert_eq!(statuses["records"][0]["Label"], "Sent");
    assert_eq!(statuses["records"][0]["IsDefault"], true);

    for (soql, code) in [
        ("SELECT Id FROM", "MALFORMED_QUERY"),
        ("SELECT Nope FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Opportunity", "INVALID_TYPE"),
    ] {
        let (status, body) = raw_query(&client, soql).await;
        assert_eq!(
            (status, body[0]["errorCode"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{soql}"
        );
    }
    // An operator the simulator does not take is named in words, with the ones it takes.
    let like = "SELECT Id FROM Lead WHERE Email LIKE 'ada%'";
    let (_, body) = raw_query(&client, like).await;
    let message = body[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("unexpected operator \"LIKE\" after Email")
            && message.contains("IN and NOT IN")
            && !message.contains("Some("),
        "{message}"
    );
    let cut = "SELECT Id FROM Lead WHERE Email = 'a' AND";
    let (_, body) = raw_query(&client, cut).await;
    let message = body[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("expected a name, found the end of the query"),
        "{message}"
    );
}

#[tokio::test]
async fn large_results_come_in_2000_record_pages() {
    let sim = start(SalesforceSimConfig::default()).await;
    for n in 0..4500 {
        sim.create_lead(json!({"LastName": format!("L{n}"), "Company": "Bulk"}))
            .expect("lead");
    }
    let client = login(&sim, INTEGRATION).await;
    let mut page = client
        .query("SELECT Id, LastName FROM Lead WHERE Company = 'Bulk'")
        .await;
    let mut sizes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    loop {
        assert_eq!(page["totalSize"], 4500);
        sizes.push(page["records"].as_array().map_or(0, Vec::len));
        seen.extend(ids(&page));
        if page["done"] == true {
            assert!(page.get("nextRecordsUrl").is_none());
            break;
        }
        let next = page["nextRecordsUrl"]
            .as_str()
            .expect("nextRecordsUrl")
            .to_owned();
        assert!(next.starts_with("/services/data/v62.0/query/01g"), "{next}");
        let (status, body) = answer(client.get(&next).await).await;
        assert_eq!(status, StatusCode::OK);
        page = body;
    }
    assert_eq!(sizes, [2000, 2000, 500]);
    assert_eq!(seen.len(), 4500);
}

/// A SOQL query sent as is (the client's `query` asserts success): its status and body.
async fn raw_query(client: &super::Client, soql: &str) -> (StatusCode, Value) {
    let url = reqwest::Url::parse_with_params(&client.url("query"), [("q", soql)]).expect("url");
    let response = client
        .http
        .get(url)
        .bearer_auth(&client.token)
        .send()
        .await
        .expect("query");
    answer(response).await
}
