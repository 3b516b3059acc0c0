//! The Marketo contract test: a realistic sync against the Marketo simulator (adds, status
//! changes, removals, lead lookups and creation, program, channel and cost reads,
//! reconciliation, a bulk program member extract and a cancelled one), then every Marketo
//! request it recorded checked against the official Swagger
//! specs (method, path, query and form parameters, body) and replayed, its answer checked
//! against the declared response schema. The specs are read from `../shared/reference/marketo/`
//! beside the checkout (or `$SHARED_REFERENCE_DIR/marketo/`); nothing of them is copied.

mod known;
mod swagger;

use std::collections::BTreeSet;
use std::path::PathBuf;

use campaign_sync::sim::marketo::{CallRecord, MarketoSimConfig};
use serde_json::{Value, json};

use crate::sim_marketo::create_export_job;
use crate::world::{Options, PROGRAM, USER, World};
use known::KNOWN;
use swagger::{Operation, Spec, form_pairs};

fn specs() -> Vec<Spec> {
    let root = std::env::var_os("SHARED_REFERENCE_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference"),
        PathBuf::from,
    );
    ["mapi", "asset", "identity"]
        .iter()
        .map(|name| Spec::load(&root.join(format!("marketo/openapi-swagger2-{name}.json"))))
        .collect()
}

/// The service syncing one mapping both ways, as in production.
async fn realistic_sync() -> World {
    let world = World::with(Options {
        mk: MarketoSimConfig {
            deliver_webhooks_in_background: false,
            rate_limit_calls: 10_000,
            export_status_interval: std::time::Duration::ZERO,
            ..MarketoSimConfig::default()
        },
        configure: |c| c.marketo.extract_poll_secs = 0,
        ..Options::default()
    })
    .await;
    let (ada, _) = world.person("ada@example.com");
    for status in ["Registered", "Attended"] {
        world
            .mk
            .set_status_as_user(PROGRAM, ada, status)
            .expect("Marketo user");
        world.settle().await;
    }
    let (_, grace) = world.person("grace@example.com");
    let member = world
        .sf
        .add_member(USER, &world.campaign, &grace, Some("Invited"))
        .expect("Salesforce user");
    world.settle().await;
    world
        .sf
        .update_member(USER, &member, "Registered")
        .expect("update");
    world.settle().await;
    let newcomer = world
        .sf
        .create_lead(
            json!({"LastName": "Hopper", "Company": "Navy", "Email": "hopper@example.com"}),
        )
        .expect("lead");
    world
        .sf
        .add_member(USER, &world.campaign, &newcomer, Some("Invited"))
        .expect("add");
    world.settle().await;
    world.sf.delete_member(USER, &member).expect("delete");
    world.sf.advance_clock(std::time::Duration::from_secs(90));
    let later = campaign_sync::store::now_millis() + 90_000;
    world
        .app
        .worker
        .poll_deleted_at(later)
        .await
        .expect("deleted poll");
    world.settle().await;
    world.app.worker.sync_settings().await.expect("settings");
    world.app.worker.check_statuses().await;
    for report in world.app.worker.reconcile().await {
        report.expect("reconcile");
    }
    world.settle().await;
    // What reconciliation does for a program over the member query cap.
    let extracted = world.app.worker.marketo().extract_members(
        PROGRAM,
        &campaign_sync::connectors::marketo::NoLedger,
        |_| {},
    );
    assert!(extracted.await.expect("extract") > 0);
    world
}

/// A job created and cancelled, as the client does when one does not finish in time.
async fn cancelled_extract(http: &reqwest::Client, base: &str, token: &str) {
    let exports = format!("{base}/bulk/v1/program/members/export");
    let id = create_export_job(http, base, token, PROGRAM).await;
    let cancelled: Value = http
        .post(format!("{exports}/{id}/cancel.json"))
        .bearer_auth(token)
        .send()
        .await
        .expect("cancel")
        .json()
        .await
        .expect("cancel JSON");
    assert_eq!(cancelled["result"][0]["status"], "Cancelled", "{cancelled}");
}

/// Method, parameters and body as the spec sees them: a `POST …?_method=GET` is the GET
/// operation with its parameters in the form body.
fn as_specified(call: &CallRecord) -> (String, Vec<(String, String)>, Option<String>) {
    let mut params = form_pairs(call.query.as_deref().unwrap_or(""));
    let read_as_post =
        call.method == "POST" && params.iter().any(|(n, v)| n == "_method" && v == "GET");
    if !read_as_post {
        return (call.method.clone(), params, call.body.clone());
    }
    params.retain(|(n, _)| n != "_method");
    params.extend(form_pairs(call.body.as_deref().unwrap_or("")));
    ("GET".to_string(), params, None)
}

fn known(op: &Operation<'_>, at: &str, rule: &str) -> bool {
    KNOWN.iter().any(|(template, place, fragment, _)| {
        op.template.contains(template) && at.contains(place) && rule.contains(fragment)
    })
}

/// With `fields`, Marketo answers each record with exactly those fields (and `seq`), so a
/// record's properties follow the request rather than the spec's default set.
fn selected(params: &[(String, String)], at: &str, rule: &str) -> bool {
    let Some((_, fields)) = params.iter().find(|(n, _)| n == "fields") else {
        return false;
    };
    let record = at.starts_with("response.result[") && at.ends_with(']') && !at.contains('.');
    let record = record
        || at
            .strip_prefix("response.result[")
            .is_some_and(|r| !r.contains('.'));
    let named = |name: &str| fields.split(',').any(|f| f == name);
    let property = rule.split('"').nth(1).unwrap_or_default();
    record
        && ((rule.starts_with("required property") && !named(property))
            || (rule.contains("is not declared") && named(property)))
}

/// Sends the call again with a fresh token and returns the JSON answer; `None` for the one
/// answer that is not JSON, an extract's file (checked to be CSV with a header row).
async fn replay(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    call: &CallRecord,
) -> Option<Value> {
    let query = call
        .query
        .as_deref()
        .map_or(String::new(), |q| format!("?{q}"));
    let url = format!("{base}{}{query}", call.path);
    let method = reqwest::Method::from_bytes(call.method.as_bytes()).expect("method");
    let mut request = http.request(method, url).bearer_auth(token);
    if let Some(body) = &call.body {
        let json = serde_json::from_str::<Value>(body).is_ok();
        let kind = if json {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        };
        request = request.header("content-type", kind).body(body.clone());
    }
    let response = request.send().await.expect("replay");
    assert_eq!(
        response.status(),
        200,
        "replay of {} {}",
        call.method,
        call.path
    );
    if call.path.ends_with("/file.json") {
        let text = response.text().await.expect("the file");
        assert!(text.starts_with("leadId,"), "a CSV file: {text}");
        return None;
    }
    Some(response.json().await.expect("a JSON answer"))
}

#[tokio::test]
async fn every_marketo_call_of_a_sync_follows_the_official_swagger() {
    let specs = specs();
    let world = realistic_sync().await;
    let http = reqwest::Client::new();
    let base = world.mk.base_url();
    let client = world.mk.config().clients[0].clone();
    let token: Value = http
        .post(format!("{base}/identity/oauth/token"))
        .query(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.client_id),
            ("client_secret", &client.client_secret),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token JSON");
    let token = token["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    cancelled_extract(&http, &base, &token).await;
    let calls: Vec<CallRecord> = world
        .mk
        .requests()
        .into_iter()
        .filter(|c| c.kind == "rest" || c.kind == "identity")
        .collect();
    let mut broken = Vec::new();
    let mut visited = BTreeSet::new();
    for call in &calls {
        let (method, params, body) = as_specified(call);
        let request = format!(
            "{} {}{}",
            call.method,
            call.path,
            call.query
                .as_deref()
                .map_or(String::new(), |q| format!("?{q}"))
        );
        let Some(op) = specs.iter().find_map(|s| s.find(&method, &call.path)) else {
            broken.push(format!(
                "{request}: no operation {method} {} in the specs",
                call.path
            ));
            continue;
        };
        visited.insert(format!("{method} {}", op.template));
        if call.kind == "identity" {
            continue; // its query (the secret) is not logged; the connector tests cover it
        }
        for (at, rule) in op.check_request(&params, body.as_deref()) {
            if !known(&op, &at, &rule) {
                broken.push(format!("{request}: {} {at}: {rule}", op.name()));
            }
        }
        let answer = replay(&http, &base, &token, call).await;
        if let (Some(schema), Some(answer)) = (op.response_schema(), answer) {
            let mut out = Vec::new();
            op.spec.check(schema, &answer, "response", &mut out);
            for (at, rule) in out {
                if !known(&op, &at, &rule) && !selected(&params, &at, &rule) {
                    broken.push(format!("{request}: answer to {}: {at}: {rule}", op.name()));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "{} broken rule(s):\n{}",
        broken.len(),
        broken.join("\n")
    );
    for expected in [
        "GET /identity/oauth/token",
        "GET /rest/v1/leads.json",
        "POST /rest/v1/leads.json",
        "GET /rest/v1/programs/{programId}/members.json",
        "POST /rest/v1/programs/{programId}/members/status.json",
        "POST /rest/v1/programs/{programId}/members/delete.json",
        "GET /rest/asset/v1/program/{id}.json",
        "GET /rest/asset/v1/channel/byName.json",
        "POST /bulk/v1/program/members/export/create.json",
        "POST /bulk/v1/program/members/export/{exportId}/enqueue.json",
        "GET /bulk/v1/program/members/export/{exportId}/status.json",
        "GET /bulk/v1/program/members/export/{exportId}/file.json",
        "POST /bulk/v1/program/members/export/{exportId}/cancel.json",
    ] {
        assert!(
            visited.contains(expected),
            "the sync never called {expected}: {visited:?}"
        );
    }
}

#[test]
fn the_checker_names_each_broken_rule() {
    let specs = specs();
    let op = specs
        .iter()
        .find_map(|s| s.find("GET", "/rest/v1/programs/abc/members.json"))
        .expect("the program members query");
    let params = vec![
        ("filterType".to_string(), "leadId".to_string()),
        ("batchSize".to_string(), "many".to_string()),
        ("colour".to_string(), "blue".to_string()),
    ];
    let broken: Vec<String> = op
        .check_request(&params, Some("{}"))
        .into_iter()
        .map(|(at, rule)| format!("{at}: {rule}"))
        .collect();
    assert_eq!(
        broken,
        [
            "path programId: \"abc\" is not of type \"integer\"",
            "query filterValues: required parameter is missing",
            "query batchSize: \"many\" is not of type \"integer\"",
            "query colour: parameter is not declared",
            "body: the operation takes no body",
        ]
    );
    let status = specs
        .iter()
        .find_map(|s| s.find("POST", "/rest/v1/programs/1001/members/status.json"))
        .expect("status sync");
    let mut out = Vec::new();
    let body = json!({"statusName": 7, "input": [{"leadId": "x"}]});
    let schema = &status.op["parameters"][1]["schema"];
    status.spec.check(schema, &body, "body", &mut out);
    assert_eq!(out.len(), 2, "{out:?}");
}
