//! The control endpoints over HTTP: faults posted to `/__sim/faults` answered in Salesforce's
//! shapes and cleared by `DELETE`, bad control bodies refused with a JSON error, and the call
//! log's entry shape.

use std::time::{Duration, Instant};

use campaign_sync::sim::salesforce::SalesforceSimConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{USER, answer, login, seed, start};

pub async fn control(
    base: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    answer(request.send().await.expect("control call")).await
}

fn member(campaign: &str, lead: &str) -> Value {
    json!({"attributes": {"type": "CampaignMember"}, "CampaignId": campaign, "LeadId": lead})
}

#[tokio::test]
async fn http_status_faults_hit_the_next_calls_and_then_stop() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (_, lead) = seed(&sim);
    let base = sim.base_url();
    let fault = json!({"http_status": 503, "calls": 2});
    let (status, listed) = control(&base, Method::POST, "/__sim/faults", Some(fault)).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["active"][0]["calls_left"], 2);
    let client = login(&sim, USER).await;
    let read = format!("sobjects/Lead/{lead}");
    // A call refused its token is not one the fault hits.
    let refused = client
        .http
        .get(client.url(&read))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    for _ in 0..2 {
        let (status, body) = answer(client.get(&read).await).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body[0]["errorCode"], "SERVER_UNAVAILABLE");
    }
    let (status, _) = answer(client.get(&read).await).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_lock_fault_fails_every_record_of_a_collection_write_but_no_read() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, lead) = seed(&sim);
    let base = sim.base_url();
    let fault = json!({"error_code": "UNABLE_TO_LOCK_ROW", "rate": 1.0, "seconds": 30});
    assert_eq!(
        control(&base, Method::POST, "/__sim/faults", Some(fault))
            .await
            .0,
        StatusCode::OK
    );
    let client = login(&sim, USER).await;
    let (status, _) = answer(client.get(&format!("sobjects/Lead/{lead}")).await).await;
    assert_eq!(status, StatusCode::OK, "reads never hold a lock");
    let body = json!({"allOrNone": false, "records": [member(&campaign, &lead)]});
    let (status, results) = answer(client.post("composite/sobjects", body).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(results[0]["success"], false);
    assert_eq!(results[0]["errors"][0]["statusCode"], "UNABLE_TO_LOCK_ROW");
    assert!(results[0]["errors"][0]["message"].is_string());
    assert_eq!(results[0]["errors"][0]["fields"], json!([]));
    assert!(sim.members_of(&campaign).is_empty(), "nothing was written");
    let (status, single) = answer(
        client
            .post(
                "sobjects/CampaignMember",
                json!({"CampaignId": campaign, "LeadId": lead}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(single[0]["errorCode"], "UNABLE_TO_LOCK_ROW");
    let (status, cleared) = control(&base, Method::DELETE, "/__sim/faults", None).await;
    assert_eq!(
        (status, cleared["cleared"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    let body = json!({"allOrNone": false, "records": [member(&campaign, &lead)]});
    let (_, results) = answer(client.post("composite/sobjects", body).await).await;
    assert_eq!(results[0]["success"], true, "{results}");
    let log = sim.requests();
    let failed = log
        .iter()
        .find(|r| r.path.ends_with("/composite/sobjects"))
        .expect("logged");
    assert_eq!(failed.error_code.as_deref(), Some("UNABLE_TO_LOCK_ROW"));
    assert!(!failed.write, "no record was written");
    assert!(log.last().expect("last").write);
}

#[tokio::test]
async fn latency_faults_slow_calls_down() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (_, lead) = seed(&sim);
    let fault = json!({"latency_ms": 300, "seconds": 30});
    assert_eq!(
        control(&sim.base_url(), Method::POST, "/__sim/faults", Some(fault))
            .await
            .0,
        StatusCode::OK
    );
    let client = login(&sim, USER).await;
    let started = Instant::now();
    let (status, _) = answer(client.get(&format!("sobjects/Lead/{lead}")).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn bad_control_bodies_get_400_with_a_json_error() {
    let sim = start(SalesforceSimConfig::default()).await;
    let base = sim.base_url();
    for (path, body) in [
        ("/__sim/faults", json!({"error_code": "NO_SUCH_CODE"})),
        (
            "/__sim/faults",
            json!({"http_status": 503, "latency_ms": 10}),
        ),
        ("/__sim/faults", json!({"http_status": 503, "rate": 2})),
        ("/__sim/faults", json!({"http_status": 503, "colls": 2})),
        ("/__sim/outbound-endpoint", json!({"url": "not a url"})),
        ("/__sim/outbound-endpoint", json!({"address": "http://x"})),
        // Ports Salesforce does not send outbound messages to.
        ("/__sim/outbound-endpoint", json!({"url": "http://x:22/om"})),
        (
            "/__sim/outbound-endpoint",
            json!({"url": "http://x:443/om"}),
        ),
        (
            "/__sim/outbound-endpoint",
            json!({"url": "https://x:80/om"}),
        ),
    ] {
        let (status, answer) = control(&base, Method::POST, path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}");
        assert!(answer["error"].is_string(), "{path} {body}: {answer}");
    }
    let (_, listed) = control(&base, Method::GET, "/__sim/faults", None).await;
    assert_eq!(listed["active"], json!([]));
}

#[tokio::test]
async fn every_log_entry_has_the_common_shape() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, lead) = seed(&sim);
    let client = login(&sim, USER).await;
    client.query("SELECT Id FROM Campaign").await;
    client
        .post(
            "sobjects/CampaignMember",
            json!({"CampaignId": campaign, "LeadId": lead}),
        )
        .await;
    let log: Vec<Value> = reqwest::get(format!("{}/__sim/requests", sim.base_url()))
        .await
        .expect("log")
        .json()
        .await
        .expect("JSON");
    assert_eq!(log.len(), 3, "{log:?}");
    for entry in &log {
        for key in [
            "method",
            "path",
            "query",
            "client",
            "status",
            "error_code",
            "write",
        ] {
            assert!(entry.get(key).is_some(), "{key} missing in {entry}");
        }
    }
    let (token, query, create) = (&log[0], &log[1], &log[2]);
    assert_eq!(
        (token["kind"].as_str(), token["write"].as_bool()),
        (Some("token"), Some(false))
    );
    assert_eq!(token["query"], Value::Null);
    assert_eq!(query["path"], "/services/data/v62.0/query");
    assert!(
        query["query"]
            .as_str()
            .is_some_and(|q| q.starts_with("q=SELECT")),
        "{query}"
    );
    assert_eq!(query["write"], false);
    assert_eq!(
        (create["write"].as_bool(), create["status"].as_u64()),
        (Some(true), Some(201))
    );
    assert_eq!(create["client"], USER.0);
    assert!(
        create["body"]
            .as_str()
            .is_some_and(|b| b.contains(&campaign))
    );
}

/// An injected `INVALID_SESSION_ID` ends the session whose token the call presented, and the
/// token controls end every session: the old token stays refused, a new one works.
#[tokio::test]
async fn session_faults_and_token_controls_end_sessions() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (_, lead) = seed(&sim);
    let base = sim.base_url();
    let read = format!("sobjects/Lead/{lead}");
    let fault = json!({"error_code": "INVALID_SESSION_ID", "calls": 1});
    assert_eq!(
        control(&base, Method::POST, "/__sim/faults", Some(fault))
            .await
            .0,
        StatusCode::OK
    );
    let client = login(&sim, USER).await;
    for _ in 0..2 {
        let (status, body) = answer(client.get(&read).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body[0]["errorCode"], "INVALID_SESSION_ID");
    }
    for control_path in ["/__sim/tokens/expire", "/__sim/tokens/revoke"] {
        let client = login(&sim, USER).await;
        assert_eq!(answer(client.get(&read).await).await.0, StatusCode::OK);
        let (status, _) = control(&base, Method::POST, control_path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{control_path}");
        let (status, body) = answer(client.get(&read).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{control_path}: {body}");
        assert_eq!(body[0]["errorCode"], "INVALID_SESSION_ID");
    }
    let client = login(&sim, USER).await;
    assert_eq!(answer(client.get(&read).await).await.0, StatusCode::OK);
}

/// A control the simulator does not have (one of Marketo's) is 404 naming this simulator.
#[tokio::test]
async fn a_control_it_does_not_have_is_404_naming_the_simulator() {
    let sim = start(SalesforceSimConfig::default()).await;
    let base = sim.base_url();
    let body = Some(json!({"url": "http://127.0.0.1:9/hook"}));
    let (status, error) = control(&base, Method::POST, "/__sim/webhook-target", body).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let message = error["error"].as_str().unwrap_or_default();
    assert!(
        message.contains("Salesforce simulator") && message.contains("/__sim/webhook-target"),
        "{error}"
    );
}

/// A control called with a method it does not take answers 405 in JSON naming the methods it
/// takes, on both simulators, as every control answer is JSON.
#[tokio::test]
async fn a_control_called_with_the_wrong_method_answers_json() {
    let salesforce = start(SalesforceSimConfig::default()).await;
    let marketo = crate::sim_marketo::Sim::start().await;
    for (base, path) in [
        (salesforce.base_url(), "/__sim/outbound-endpoint"),
        (salesforce.base_url(), "/__sim/state"),
        (marketo.sim.base_url(), "/__sim/webhook-target"),
        (marketo.sim.base_url(), "/__sim/faults"),
    ] {
        let method = if path.ends_with("state") {
            Method::POST
        } else {
            Method::PUT
        };
        let (status, body) = control(&base, method.clone(), path, None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let error = body["error"].as_str().unwrap_or_default();
        let prefix = format!("{method} is not allowed on {path}; use ");
        // It names the methods the control takes (Marketo's named none: "use ").
        let named = error.strip_prefix(&prefix).unwrap_or_default();
        assert!(
            named.contains("GET") || named.contains("POST"),
            "{path}: {body}"
        );
    }
}

/// `POST /__sim/leads/{id}/convert` converts a Lead as a user would, so a deployment can be
/// tested with a conversion from outside: the Contact is answered, the Lead reads converted and
/// its members carry the Contact; again 409, an unknown Lead 404.
#[tokio::test]
async fn a_lead_is_converted_through_its_control() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, lead) = seed(&sim);
    let member = sim
        .add_member("sim-user", &campaign, &lead, Some("Registered"))
        .unwrap();
    let base = sim.base_url();
    let path = format!("/__sim/leads/{lead}/convert");
    let (status, body) = control(&base, Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let contact = body["contactId"].as_str().unwrap().to_string();
    assert!(contact.starts_with("003"), "{body}");
    let converted = sim.record(&lead).unwrap();
    assert_eq!(converted["IsConverted"], true);
    assert_eq!(sim.record(&member).unwrap()["ContactId"], contact.as_str());
    let (again, _) = control(&base, Method::POST, &path, None).await;
    assert_eq!(again, StatusCode::CONFLICT);
    let unknown = "/__sim/leads/00Q000000000000AAA/convert";
    let (missing, body) = control(&base, Method::POST, unknown, None).await;
    assert_eq!(missing, StatusCode::NOT_FOUND, "{body}");
}

/// The Campaign `Type` picklist restricted from outside, as `campaign-sync simulators` runs
/// without tests: the Campaign describe says so, a value it lacks is refused as Salesforce
/// refuses one, a value it has is written, and `null` lifts the restriction.
#[tokio::test]
async fn the_campaign_type_picklist_is_restricted_through_its_control() {
    let sim = start(SalesforceSimConfig::default()).await;
    let (campaign, _) = seed(&sim);
    let base = sim.base_url();
    let path = "/__sim/picklists/campaign-type";
    let client = login(&sim, USER).await;
    let type_field = |describe: serde_json::Value| {
        let fields = describe["fields"].as_array().cloned().unwrap_or_default();
        let field = fields.into_iter().find(|f| f["name"] == "Type").unwrap();
        let values: Vec<serde_json::Value> = field["picklistValues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["value"].clone())
            .collect();
        (
            field["type"].clone(),
            field["restrictedPicklist"].clone(),
            values,
        )
    };
    let (status, open) = answer(client.get("sobjects/Campaign/describe").await).await;
    assert_eq!(status, StatusCode::OK, "{open}");
    let (kind, restricted, values) = type_field(open);
    assert_eq!((kind, restricted), (json!("picklist"), json!(false)));
    assert!(values.contains(&json!("Webinar")), "{values:?}");
    let restrict = json!({"values": ["Conference", "Webinar"]});
    let (status, set) = control(&base, Method::POST, path, Some(restrict.clone())).await;
    assert_eq!((status, set), (StatusCode::OK, restrict));
    let (_, describe) = answer(client.get("sobjects/Campaign/describe").await).await;
    assert_eq!(
        type_field(describe),
        (
            json!("picklist"),
            json!(true),
            vec![json!("Conference"), json!("Webinar")]
        ),
        "the describe shows the restriction"
    );
    let record = format!("sobjects/Campaign/{campaign}");
    let (status, refused) = answer(client.patch(&record, json!({"Type": "Tradeshow"})).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(
        refused[0]["errorCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(refused[0]["fields"], json!(["Type"]));
    let (status, _) = answer(client.patch(&record, json!({"Type": "Conference"})).await).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let lifted = json!({"values": null});
    let (status, set) = control(&base, Method::POST, path, Some(lifted.clone())).await;
    assert_eq!((status, set), (StatusCode::OK, lifted));
    let (status, _) = answer(client.patch(&record, json!({"Type": "Tradeshow"})).await).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "any value once lifted");
    for bad in [
        json!({}),
        json!({"values": "Webinar"}),
        json!({"values": [""]}),
        json!({"values": [1]}),
        json!({"values": [], "other": 1}),
    ] {
        let (status, answer) = control(&base, Method::POST, path, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(answer["error"].is_string(), "{bad}: {answer}");
    }
}
