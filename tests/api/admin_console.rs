//! The operator JSON (`/admin/status`, people, timeline, outcomes filters, retrying, bulk
//! replay), `campaign-sync status`, end to end against
//! both simulators (the console's session and CSRF refusals are in `console_session.rs`).

use serde_json::{Value, json};

use crate::world::{Options, World};

pub(crate) const TOKEN: &str = "operator-token";

pub(crate) async fn world() -> World {
    World::with(Options {
        admin_token: Some(TOKEN.into()),
        ..Options::default()
    })
    .await
}

pub(crate) async fn get(world: &World, path: &str) -> Value {
    let response = world
        .app
        .client
        .get(world.app.url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// Ada registered in Marketo and synced; then a move a validation rule refuses, dead.
pub(crate) async fn synced_and_one_dead(world: &World) -> (i64, String) {
    let (lead, sf_lead) = world.person("ada@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    world.refuse_member_writes().await;
    world.mk_sets(lead, "No Show");
    world.settle().await;
    (lead, sf_lead)
}

#[tokio::test]
async fn status_people_timeline_outcomes_and_bulk_replay_answer_from_a_real_sync() {
    let world = world().await;
    let (lead, sf_lead) = synced_and_one_dead(&world).await;

    let status = get(&world, "/admin/status").await;
    let webinar = &status["mappings"][0];
    assert_eq!(webinar["name"], "webinar");
    assert_eq!(webinar["members"], 1);
    assert_eq!(webinar["changes"]["lastHour"]["added"], 1, "{status}");
    assert_eq!(webinar["changes"]["lastHour"]["failed"], 1, "{status}");
    assert_eq!(status["upstreams"]["salesforce"]["state"], "up", "{status}");
    assert_eq!(status["worker"]["backlog"]["dead"], 1);
    // The simulator reports Sforce-Limit-Info like Salesforce; Marketo reports no daily count.
    let salesforce = &status["upstreams"]["salesforce"];
    assert!(
        salesforce["callsToday"].as_i64().is_some_and(|n| n > 0),
        "{salesforce}"
    );
    assert!(salesforce["dailyLimit"].as_i64().is_some(), "{salesforce}");
    assert!(salesforce["rateWindow"].is_null(), "{salesforce}");
    // Marketo's client-side window: the calls just made, against the configured limit.
    let window = &status["upstreams"]["marketo"]["rateWindow"];
    let limit = world.config.marketo.rate_limit_calls;
    assert_eq!(window["limit"], limit, "{window}");
    assert_eq!(
        window["windowSecs"],
        world.config.marketo.rate_limit_window_secs + 1,
        "{window}"
    );
    assert!(
        window["used"]
            .as_u64()
            .is_some_and(|n| n > 0 && n <= u64::from(limit)),
        "{window}"
    );

    let metrics = world
        .app
        .client
        .get(world.app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The gauges are process-wide (other tests' services share them): present, whatever value.
    assert!(
        metrics.contains("upstream_up{system=\"salesforce\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("upstream_auth_failures_consecutive{system=\"marketo\"}"));

    for q in ["ADA@example.com", &lead.to_string(), &sf_lead] {
        let found = get(&world, &format!("/admin/people?q={q}")).await;
        assert_eq!(found["items"].as_array().unwrap().len(), 1, "{q}: {found}");
    }
    let person = get(&world, "/admin/people?q=ada@example.com").await["items"][0]["id"].clone();
    let timeline = get(&world, &format!("/admin/people/{person}/timeline")).await;
    assert_eq!(timeline["mirror"][0]["sf_status"], "Registered");
    assert_eq!(timeline["trigger_events"][0]["kind"], "added_to_campaign");
    // One signal row per person and program: revived by the later change, now dead.
    assert_eq!(timeline["deliveries"][0]["state"], "dead", "{timeline}");
    assert_eq!(timeline["outcomes"][0]["result"], "dead", "{timeline}");
    assert!(
        timeline["outcomes"].as_array().unwrap().len() > 1,
        "{timeline}"
    );
    let newest = get(&world, &format!("/admin/people/{person}/timeline?limit=1")).await;
    for list in ["deliveries", "outcomes", "trigger_events"] {
        assert_eq!(
            newest[list].as_array().unwrap().len(),
            1,
            "{list}: {newest}"
        );
    }
    assert_eq!(newest["outcomes"][0], timeline["outcomes"][0]);

    let outcomes = get(&world, "/admin/outcomes?email=ada@example.com&limit=1").await;
    let first = &outcomes["items"][0];
    assert_eq!(first["result"], "dead", "newest first: {outcomes}");
    assert_eq!(first["salesforce_lead_id"], json!(sf_lead));
    let before = outcomes["next_before"]
        .as_i64()
        .expect("a full page has a next page");
    let older = get(
        &world,
        &format!("/admin/outcomes?email=ada@example.com&before={before}"),
    )
    .await;
    assert_eq!(older["items"][0]["result"], "applied", "{older}");
    let none = get(&world, "/admin/outcomes?mapping=webinar&result=diverged").await;
    assert_eq!(none["items"], json!([]));
    assert_eq!(get(&world, "/admin/retrying").await["items"], json!([]));

    let replayed = world
        .app
        .client
        .post(world.app.url("/admin/dead-letters/replay"))
        .bearer_auth(TOKEN)
        .json(&json!({ "filter": "ada@example.com" }))
        .send()
        .await
        .unwrap();
    let replayed: Value = replayed.json().await.unwrap();
    assert_eq!(replayed["count"], 1, "{replayed}");
    assert_eq!(replayed["skipped"], json!([]), "{replayed}");
    // Asked again by id, it is no longer dead: each id not replayed is named with why.
    let id = replayed["replayed"][0].as_i64().unwrap();
    let again: Value = world
        .app
        .client
        .post(world.app.url("/admin/dead-letters/replay"))
        .bearer_auth(TOKEN)
        .json(&json!({ "ids": [id, 999_999, id] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["count"], 0, "{again}");
    let skipped: Vec<i64> = again["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["reason"]
                .as_str()
                .unwrap()
                .starts_with("not a dead letter")
        })
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(skipped, vec![id, 999_999], "{again}");
    let both = world
        .app
        .client
        .post(world.app.url("/admin/dead-letters/replay"))
        .bearer_auth(TOKEN)
        .json(&json!({ "ids": [id], "filter": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 400, "ids and filter together are refused");
    let missing = world
        .app
        .client
        .post(world.app.url("/admin/dead-letters/replay"))
        .bearer_auth(TOKEN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);

    // The same overview through the command, from another process.
    let url = world.app.url("");
    let output = tokio::task::spawn_blocking(move || {
        crate::binary::output(
            &["status", "--url", &url],
            &[("CAMPAIGN_SYNC_ADMIN__TOKEN", TOKEN)],
        )
    })
    .await
    .unwrap();
    let text = crate::binary::text(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("webinar  enabled  1 member(s)"), "{text}");
    assert!(text.contains("last hour    added 1"), "{text}");
    assert!(text.contains("salesforce  up"), "{text}");
}

#[tokio::test]
async fn the_status_command_names_a_refused_token() {
    let world = world().await;
    let url = world.app.url("");
    let output = tokio::task::spawn_blocking(move || {
        crate::binary::output(&["status", "--url", &url, "--token", "wrong"], &[])
    })
    .await
    .unwrap();
    assert!(!output.status.success());
    assert!(crate::binary::text(&output).contains("refused the admin token"));
    // Without any token: a usage error naming both ways to give it.
    let url = world.app.url("");
    let output = tokio::task::spawn_blocking(move || {
        let mut command = crate::binary::command(&["status", "--url", &url], &[]);
        command.env_remove("CAMPAIGN_SYNC_ADMIN__TOKEN");
        command.output().expect("run campaign-sync")
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = crate::binary::text(&output);
    assert!(
        text.contains("--token") && text.contains("CAMPAIGN_SYNC_ADMIN__TOKEN"),
        "{text}"
    );
    // Nothing listening: the cause is named.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let output = tokio::task::spawn_blocking(move || {
        crate::binary::output(&["status", "--url", &url, "--token", "t"], &[])
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = crate::binary::text(&output).to_lowercase();
    assert!(
        text.contains("could not reach") && text.contains("connection refused"),
        "{text}"
    );
    // An address that is not one, or holds a path: a usage error (exit 2), as a bad flag is.
    for url in ["notaurl", "http://127.0.0.1:9/admin"] {
        let output = crate::binary::output(&["status", "--url", url, "--token", "t"], &[]);
        assert_eq!(output.status.code(), Some(2), "{url}");
        assert!(crate::binary::text(&output).contains("--url"), "{url}");
    }
}

/// A client that shows redirects instead of following them, as the console tests read them.
pub(crate) fn console_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in with the admin token; the whole `Set-Cookie` header.
pub(crate) const ADMIN_TOKEN: &str = TOKEN;

pub(crate) async fn sign_in(client: &reqwest::Client, world: &World) -> String {
    let signed_in = client
        .post(world.app.url("/console/sign-in"))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string()
}

/// The `name=value` pair of a `Set-Cookie` header, as a browser sends it back.
/// A console page's HTML, read with the signed-in `cookie`.
pub(crate) async fn console_page(
    client: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    cookie: &str,
) -> String {
    client
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub(crate) fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// The CSRF token a console page's forms carry.
pub(crate) fn csrf_of(html: &str) -> String {
    let (_, rest) = html
        .split_once(r#"name="csrf" value=""#)
        .expect("a CSRF field");
    rest.split('"').next().unwrap().to_string()
}

/// The page's form id, which its forms send back so the same form sent again does nothing more.
pub(crate) fn form_id_of(html: &str) -> String {
    let (_, rest) = html
        .split_once(r#"name="form_id" value=""#)
        .unwrap_or_else(|| panic!("no form id: {html}"));
    rest.split('"').next().unwrap().to_string()
}
