//! The Asset API: program by id (channel, costs, sfdcId), form-encoded cost updates (appended,
//! or replaced with `costsDestructiveUpdate=true`; a bad cost date 704, a blank name 701),
//! program browse filters, channels and channel by name.

use campaign_sync::sim::marketo::NewProgram;
use serde_json::{Value, json};

use super::{PROGRAM, Sim, error_of};

/// Asset replies always carry `errors` and `warnings` (strings); the result is optional.
fn asset_result(body: &Value) -> Vec<Value> {
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(body["errors"], json!([]));
    assert!(body["warnings"].is_array() && body["requestId"].is_string());
    body["result"].as_array().cloned().unwrap_or_default()
}

async fn post_form(sim: &Sim, form: &[(&str, &str)]) -> Value {
    sim.client
        .post(sim.url(&format!("/rest/asset/v1/program/{PROGRAM}.json")))
        .bearer_auth(&sim.token)
        .form(form)
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn program_by_id_has_channel_costs_and_sfdc_id() {
    let sim = Sim::start().await;
    let programs = asset_result(
        &sim.get(&format!("/rest/asset/v1/program/{PROGRAM}.json"))
            .await,
    );
    assert_eq!(programs.len(), 1);
    let program = &programs[0];
    assert_eq!(program["id"], PROGRAM);
    assert_eq!(program["name"], "Spring Webinar");
    assert_eq!(program["channel"], "Online Advertising");
    assert_eq!(program["costs"], Value::Null);
    assert_eq!(program["sfdcId"], "701000000000001AAA");
    for required in ["folder", "status", "tags", "type", "createdAt", "updatedAt"] {
        assert!(program.get(required).is_some(), "{required} in {program}");
    }

    let missing = sim.get("/rest/asset/v1/program/9999.json").await;
    assert!(asset_result(&missing).is_empty());
    assert_eq!(
        missing["warnings"],
        json!(["No assets found for the given search criteria."])
    );
}

#[tokio::test]
async fn costs_are_appended_unless_destructive() {
    let sim = Sim::start().await;
    let first = r#"[{"startDate":"2016-01-01","cost":200,"note":"Google Adwords"}]"#;
    let second = r#"[{"startDate":"2016-02-01","cost":300}]"#;
    let updated = asset_result(&post_form(&sim, &[("costs", first)]).await);
    assert_eq!(
        updated[0]["costs"],
        json!([{ "startDate": "2016-01-01", "cost": 200, "note": "Google Adwords" }])
    );
    let appended = asset_result(&post_form(&sim, &[("costs", second)]).await);
    assert_eq!(appended[0]["costs"].as_array().map(Vec::len), Some(2));
    let replaced = asset_result(
        &post_form(
            &sim,
            &[("costs", second), ("costsDestructiveUpdate", "true")],
        )
        .await,
    );
    assert_eq!(
        replaced[0]["costs"],
        json!([{ "startDate": "2016-02-01", "cost": 300 }])
    );
    // By name, costs come only with includeCosts=true.
    let by_name = "/rest/asset/v1/program/byName.json?name=Spring%20Webinar";
    let plain = asset_result(&sim.get(by_name).await);
    assert_eq!((plain.len(), &plain[0]["costs"]), (1, &Value::Null));
    let with_costs = asset_result(&sim.get(&format!("{by_name}&includeCosts=true")).await);
    assert_eq!(with_costs[0]["costs"], replaced[0]["costs"]);
    let cleared = asset_result(&post_form(&sim, &[("costsDestructiveUpdate", "true")]).await);
    assert_eq!(cleared[0]["costs"], Value::Null);
    assert!(sim.sim.program(PROGRAM).expect("program").costs.is_empty());

    let bad = post_form(
        &sim,
        &[("costs", r#"[{"startDate":"2016-01-01","cost":1.5}]"#)],
    )
    .await;
    assert_eq!(error_of(&bad).0, "1003");
    assert_eq!(
        bad["warnings"],
        json!([]),
        "an Asset API error keeps `warnings`: {bad}"
    );
    let json_body = sim
        .post(
            &format!("/rest/asset/v1/program/{PROGRAM}.json"),
            &json!({ "costs": [] }),
        )
        .await;
    assert_eq!(error_of(&json_body).0, "612");
}

#[tokio::test]
async fn channels_list_their_progression_statuses() {
    let sim = Sim::start().await;
    sim.sim
        .add_channel(
            "Blog",
            vec![campaign_sync::sim::marketo::ProgressionStatus::new(
                "Influenced",
                30,
                true,
            )],
        )
        .expect("channel");
    let all = asset_result(&sim.get("/rest/asset/v1/channels.json").await);
    assert_eq!(all.len(), 2);
    let blog = &all[1];
    assert_eq!(blog["applicableProgramType"], "program");
    let steps: Vec<_> = blog["progressionStatuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .map(|s| (s["name"].clone(), s["step"].clone()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (json!("Not in Program"), json!(0)),
            (json!("Influenced"), json!(30))
        ],
        "step 0 is implicit"
    );

    let paged = asset_result(
        &sim.get("/rest/asset/v1/channels.json?maxReturn=1&offset=1")
            .await,
    );
    assert_eq!(paged[0]["name"], "Blog");
    // Pages are 1 to 200 channels, as program browse's are.
    for bad in ["maxReturn=201", "maxReturn=0", "offset=x"] {
        let refused = sim
            .get(&format!("/rest/asset/v1/channels.json?{bad}"))
            .await;
        assert_eq!(error_of(&refused).0, "1003", "{bad}");
    }

    let by_name = asset_result(
        &sim.get("/rest/asset/v1/channel/byName.json?name=Online%20Advertising")
            .await,
    );
    let statuses = by_name[0]["progressionStatuses"]
        .as_array()
        .expect("statuses");
    assert_eq!(statuses.len(), 5);
    assert_eq!(
        statuses[4],
        json!({ "name": "Attended", "step": 40, "description": null, "hidden": false, "success": true })
    );
    let unknown = sim
        .get("/rest/asset/v1/channel/byName.json?name=Nope")
        .await;
    assert!(asset_result(&unknown).is_empty());
}

async fn update_program(sim: &Sim, id: &str, form: &[(&str, &str)]) -> Value {
    sim.client
        .post(sim.url(&format!("/rest/asset/v1/program/{id}.json")))
        .bearer_auth(&sim.token)
        .form(form)
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn a_program_update_refuses_a_bad_cost_date_and_a_blank_name() {
    let sim = Sim::start().await;
    let id = PROGRAM.to_string();
    let garbage = r#"[{"startDate":"garbage","cost":5}]"#;
    let answer = update_program(&sim, &id, &[("costs", garbage), ("name", "Renamed")]).await;
    assert_eq!(error_of(&answer).0, "704", "{answer}");
    // A date the calendar lacks is as bad as garbage: Marketo does not roll it into March.
    for impossible in ["2026-02-31", "2026-02-29", "2026-04-31T00:00:00Z"] {
        let costs = format!(r#"[{{"startDate":"{impossible}","cost":5}}]"#);
        let answer = update_program(&sim, &id, &[("costs", &costs)]).await;
        assert_eq!(error_of(&answer).0, "704", "{impossible}: {answer}");
    }
    let answer = update_program(&sim, &id, &[("name", " ")]).await;
    assert_eq!(
        error_of(&answer),
        ("701".to_string(), "name cannot be blank".to_string())
    );
    let program = sim.get(&format!("/rest/asset/v1/program/{id}.json")).await;
    assert_eq!(
        program["result"][0]["name"], "Spring Webinar",
        "nothing changed"
    );
    assert_eq!(program["result"][0]["costs"], Value::Null);

    // Dates as the documentation writes them and as the Swagger types them are both taken.
    let good =
        r#"[{"startDate":"2016-01-01","cost":5},{"startDate":"2016-02-01T00:00:00Z","cost":6}]"#;
    let answer = update_program(&sim, &id, &[("costs", good)]).await;
    assert_eq!(
        answer["result"][0]["costs"].as_array().map(Vec::len),
        Some(2),
        "{answer}"
    );

    let answer = update_program(&sim, "9999", &[("name", "X")]).await;
    let (code, message) = error_of(&answer);
    assert_eq!(code, "702");
    assert_eq!(
        message, "Program '9999' not found",
        "the id, not the path's file name"
    );
}

#[tokio::test]
async fn program_browse_filters_by_id_folder_and_workspace() {
    let sim = Sim::start().await;
    sim.sim
        .add_program(NewProgram {
            id: 1001,
            name: "Other".to_string(),
            channel: "Online Advertising".to_string(),
            ..NewProgram::default()
        })
        .expect("program");
    let ids = |body: &Value| -> Vec<i64> {
        body["result"]
            .as_array()
            .map(|r| r.iter().filter_map(|p| p["id"].as_i64()).collect())
            .unwrap_or_default()
    };
    let browse = |query: &str| format!("/rest/asset/v1/programs.json?{query}");
    for filter in ["id", "programId"] {
        let body = sim
            .get(&browse(&format!("filterType={filter}&filterValues=1001")))
            .await;
        assert_eq!(ids(&body), [1001], "{filter}: {body}");
    }
    let body = sim.get(&browse("filterType=folderId&filterValues=1")).await;
    assert_eq!(ids(&body), [1001, PROGRAM]);
    let body = sim.get(&browse("filterType=folderId&filterValues=7")).await;
    assert!(ids(&body).is_empty(), "{body}");
    let body = sim
        .get(&browse("filterType=workspace&filterValues=Default"))
        .await;
    assert_eq!(ids(&body), [1001, PROGRAM]);

    let body = sim.get(&browse("filterType=name&filterValues=Other")).await;
    assert_eq!(error_of(&body).0, "1003");
    assert_eq!(body["warnings"], json!([]), "an Asset API answer");
    let body = sim.get(&browse("filterType=id")).await;
    assert_eq!(error_of(&body).0, "701");
}
