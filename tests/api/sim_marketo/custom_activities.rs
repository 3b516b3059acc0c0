//! Custom activity types, custom activities, the activity feed and Request Campaign in the
//! Marketo simulator, over HTTP.

use campaign_sync::sim::marketo::NewLead;
use serde_json::{Value, json};

use super::Sim;

const TYPE: &str = "/rest/v1/activities/external/type.json";

fn new_type(api_name: &str) -> Value {
    json!({
        "apiName": api_name, "name": "Added to Salesforce Campaign",
        "triggerName": "Is Added to Salesforce Campaign", "filterName": "Was Added to Salesforce Campaign",
        "primaryAttribute": { "apiName": "campaignId", "name": "Campaign Id", "dataType": "string" },
    })
}

fn code(answer: &Value) -> &str {
    answer["errors"][0]["code"].as_str().unwrap_or("none")
}

#[tokio::test]
async fn a_type_is_created_extended_approved_and_then_takes_activities() {
    let sim = Sim::start().await;
    let lead = sim.sim.add_lead(NewLead::email("ada@example.com"));
    let created = sim.post(TYPE, &new_type("csAdded")).await;
    assert_eq!(created["result"][0]["status"], "draft", "{created}");
    assert_eq!(created["result"][0]["apiName"], "csAdded", "{created}");
    assert!(created["result"][0].get("id").is_none(), "{created}");
    // The creation's answer has no id: the listing gives it.
    let listed = sim.get("/rest/v1/activities/external/types.json").await;
    let type_id = listed["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["apiName"] == "csAdded")
        .and_then(|t| t["id"].as_i64())
        .expect("the new type is listed with its id");
    assert_eq!(
        code(&sim.post(TYPE, &new_type("csAdded")).await),
        "1003",
        "duplicate"
    );
    for bad in ["9-bad", "cs_added"] {
        assert_eq!(
            code(&sim.post(TYPE, &new_type(bad)).await),
            "1003",
            "api name {bad}"
        );
    }

    let attributes = json!({ "attributes": [
        { "apiName": "status", "name": "Status", "dataType": "string" },
    ]});
    let path = "/rest/v1/activities/external/type/csAdded/attributes/create.json";
    let extended = sim.post(path, &attributes).await;
    assert_eq!(extended["success"], true, "{extended}");
    let activity = json!({ "input": [{
        "leadId": lead, "activityDate": "2026-12-01T10:00:00Z", "activityTypeId": type_id,
        "primaryAttributeValue": "701000000000001AAA",
        "attributes": [{ "apiName": "status", "value": "Invited" }],
    }]});
    let posted = sim
        .post("/rest/v1/activities/external.json", &activity)
        .await;
    assert_eq!(
        posted["result"][0]["status"], "skipped",
        "a draft type: {posted}"
    );

    // Twenty secondary attributes at most: the one above and nineteen more, not twenty.
    let more = |n: usize| {
        let list: Vec<Value> = (0..n)
            .map(|i| json!({ "apiName": format!("extra{i}"), "name": format!("Extra {i}"), "dataType": "string" }))
            .collect();
        json!({ "attributes": list })
    };
    assert_eq!(code(&sim.post(path, &more(20)).await), "1028");
    assert_eq!(sim.post(path, &more(19)).await["success"], true);

    let drafts = sim.get("/rest/v1/activities/types.json").await;
    assert!(
        drafts["result"]
            .as_array()
            .is_some_and(|t| t.iter().all(|t| t["id"] != type_id)),
        "a draft type takes no activities and is not listed: {drafts}"
    );
    let approve = "/rest/v1/activities/external/type/csAdded/approve.json";
    assert_eq!(
        sim.post(approve, &json!({})).await["result"][0]["status"],
        "approved"
    );
    assert_eq!(
        code(&sim.post(approve, &json!({})).await),
        "1003",
        "nothing to approve"
    );
    let listed = sim.get("/rest/v1/activities/external/types.json").await;
    assert_eq!(listed["result"][0]["attributes"][0]["apiName"], "status");
    // The activity types a feed reader looks up: the standard ones and the approved custom one.
    let all = sim.get("/rest/v1/activities/types.json").await;
    let types = all["result"].as_array().expect("a list");
    assert!(
        types
            .iter()
            .any(|t| t["id"] == 104 && t["name"] == "Change Status in Progression"),
        "{all}"
    );
    let custom = types
        .iter()
        .find(|t| t["id"] == type_id)
        .unwrap_or_else(|| panic!("the approved type is listed: {all}"));
    assert_eq!(custom["name"], "Added to Salesforce Campaign");
    assert_eq!(
        custom["primaryAttribute"],
        json!({ "name": "Campaign Id", "dataType": "string" })
    );
    assert_eq!(
        custom["attributes"][0],
        json!({ "name": "Status", "dataType": "string" })
    );
    let described = sim
        .get("/rest/v1/activities/external/type/csAdded/describe.json")
        .await;
    assert_eq!(described["result"][0]["id"], type_id);

    let posted = sim
        .post("/rest/v1/activities/external.json", &activity)
        .await;
    assert_eq!(posted["result"][0]["status"], "added", "{posted}");
    let mut by_name = activity.clone();
    by_name["input"][0]["apiName"] = json!("csAdded");
    by_name["input"][0]
        .as_object_mut()
        .unwrap()
        .remove("activityTypeId");
    let nameless = sim
        .post("/rest/v1/activities/external.json", &by_name)
        .await;
    assert_eq!(
        nameless["result"][0]["errors"][0]["code"], "1003",
        "the type is named by activityTypeId, which is required: {nameless}"
    );
    let mut unknown = activity.clone();
    unknown["input"][0]["attributes"][0]["apiName"] = json!("nope");
    unknown["input"][0]["leadId"] = json!(999_999);
    let refused = sim
        .post("/rest/v1/activities/external.json", &unknown)
        .await;
    assert_eq!(
        refused["result"][0]["errors"][0]["code"], "1004",
        "{refused}"
    );

    let feed = sim.activities_since_2020(&type_id.to_string()).await;
    let items = feed["result"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{feed}");
    assert_eq!(items[0]["leadId"], lead);
    assert_eq!(items[0]["primaryAttributeValue"], "701000000000001AAA");
    assert_eq!(items[0]["attributes"][0]["value"], "Invited");
    assert_eq!(feed["moreResult"], false);
    // The custom feed keeps the standard feed's limits, and a call mixes no kinds.
    let first = sim
        .get("/rest/v1/activities/pagingtoken.json?sinceDatetime=2020-01-01T00:00:00Z")
        .await;
    let token = first["nextPageToken"].as_str().expect("token");
    let feed_with =
        |query: String| format!("/rest/v1/activities.json?nextPageToken={token}&{query}");
    let many: Vec<String> = (1..=31).map(|i| i.to_string()).collect();
    for query in [
        format!("activityTypeIds={type_id}&leadIds={}", many.join(",")),
        format!("activityTypeIds={type_id}&batchSize=301"),
        format!("activityTypeIds={type_id},104"),
    ] {
        assert_eq!(
            code(&sim.get(&feed_with(query.clone())).await),
            "1003",
            "{query}"
        );
    }
    let one = sim
        .get(&feed_with(format!(
            "activityTypeIds={type_id}&batchSize=1&leadIds={lead}"
        )))
        .await;
    assert_eq!(one["result"].as_array().map(Vec::len), Some(1), "{one}");
    let state = sim.get("/__sim/state").await;
    assert_eq!(state["customActivities"].as_array().unwrap().len(), 1);
    assert_eq!(state["customActivityTypes"][0]["apiName"], "csAdded");
}

#[tokio::test]
async fn request_campaign_needs_a_requestable_campaign_and_keeps_its_limits() {
    let sim = Sim::start().await;
    let lead = sim.sim.add_lead(NewLead::email("grace@example.com"));
    let body = json!({ "input": {
        "leads": [{ "id": lead }],
        "tokens": [{ "name": "{{my.campaignName}}", "value": "Webinar Q4" }],
    }});
    let path = "/rest/v1/campaigns/5001/trigger.json";
    assert_eq!(code(&sim.post(path, &body).await), "1013");
    sim.sim.add_requestable_campaign(5001, "On added");
    let answer = sim.post(path, &body).await;
    assert_eq!(answer["result"][0]["id"], 5001, "{answer}");
    let leads: Vec<Value> = (0..101).map(|i| json!({ "id": i })).collect();
    let too_many = json!({ "input": { "leads": leads } });
    assert_eq!(code(&sim.post(path, &too_many).await), "1003");
    let bad_token = json!({ "input": { "leads": [{ "id": lead }], "tokens": [{ "name": "campaign", "value": "x" }] } });
    assert_eq!(code(&sim.post(path, &bad_token).await), "1003");
    let requests = sim.sim.campaign_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].tokens[0].value, "Webinar Q4");
}
