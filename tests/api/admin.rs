//! The admin surface: token, dead letters and replay, outcomes, mapping switches.

use campaign_sync::config::{MappingConfig, Secret};
use campaign_sync::signal::{MarketoMember, NewSignal, Signal};
use campaign_sync::store::now_millis;

use crate::test_app::{TestApp, TestDb};

const TOKEN: &str = "admin-secret";

async fn app() -> TestApp {
    TestApp::spawn_with(TestDb::sqlite(), |c| {
        c.admin.token = Secret::new(TOKEN);
        c.mappings
            .push(MappingConfig::new("webinar", 1001, "701000000000001AAA"));
    })
    .await
}

async fn admin(app: &TestApp, method: reqwest::Method, path: &str) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_calls_need_the_token() {
    let app = app().await;
    for path in [
        "/admin/dead-letters",
        "/admin/outcomes",
        "/admin/mappings",
        "/v1/trigger-events",
    ] {
        assert_eq!(app.get(path).await.status(), 401, "{path}");
        let wrong = app
            .client
            .get(app.url(path))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
    }
    let open = TestApp::spawn().await;
    let unset = open
        .client
        .get(open.url("/admin/mappings"))
        .bearer_auth("")
        .send()
        .await
        .unwrap();
    assert_eq!(unset.status(), 401, "an unset token refuses everyone");
    let body: serde_json::Value = unset.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("admin.token is not set"),
        "{body}"
    );
    // The scheme's name is case-insensitive, as HTTP has it.
    for header in [format!("bearer {TOKEN}"), format!("BEARER  {TOKEN} ")] {
        let answer = app
            .client
            .get(app.url("/admin/mappings"))
            .header("authorization", &header)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{header}");
    }
    let basic = app
        .client
        .get(app.url("/admin/mappings"))
        .header("authorization", format!("Basic {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401, "another scheme is no bearer token");
}

/// `admin.read_token` reads the two `/v1/...` feeds and nothing under `/admin/`; the admin
/// token still reads them too.
#[tokio::test]
async fn the_read_token_opens_the_feeds_only() {
    const READER: &str = "feed-reader-token-0123";
    let app = TestApp::spawn_with(TestDb::sqlite(), |c| {
        c.admin.token = Secret::new(TOKEN);
        c.admin.read_token = Secret::new(READER);
        c.mappings
            .push(MappingConfig::new("webinar", 1001, "701000000000001AAA"));
    })
    .await;
    let call = |token: &'static str, path: &'static str| {
        let request = app.client.get(app.url(path)).bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let feeds = [
        "/v1/trigger-events",
        "/v1/member-of?campaignId=701000000000001AAA&leadId=1001",
    ];
    for path in feeds {
        assert_eq!(call(READER, path).await, 200, "{path}");
        assert_eq!(call(TOKEN, path).await, 200, "{path}");
    }
    for path in ["/admin/status", "/admin/mappings", "/admin/dead-letters"] {
        assert_eq!(call(READER, path).await, 401, "{path}");
        assert_eq!(call(TOKEN, path).await, 200, "{path}");
    }
    let refused = app
        .client
        .post(app.url("/admin/reconcile"))
        .bearer_auth(READER)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    // Nor does it sign in to the console, which says which token it is and which one to use.
    let sign_in = app
        .client
        .post(app.url("/console/sign-in"))
        .form(&[("token", READER)])
        .send()
        .await
        .unwrap();
    assert_eq!(sign_in.status(), 401);
    let page = sign_in.text().await.unwrap();
    assert!(
        page.contains("That is admin.read_token") && page.contains("sign in with admin.token"),
        "{page}"
    );
}

#[tokio::test]
async fn dead_letters_are_listed_and_replayed() {
    let app = app().await;
    let signal = NewSignal::new(
        "k",
        Signal::MarketoMember(MarketoMember {
            lead_id: 1,
            program_id: 1001,
            email: None,
            status: None,
            trigger: None,
        }),
    );
    let id = app.store.record(vec![signal], now_millis()).await.unwrap()[0].id;
    let claimed = app
        .store
        .claim("t", 10, 60_000, now_millis())
        .await
        .unwrap();
    app.store
        .bury(claimed[0].id, "t", "603 Access denied", now_millis())
        .await
        .unwrap();

    let list: serde_json::Value = admin(&app, reqwest::Method::GET, "/admin/dead-letters")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["id"], id);
    assert_eq!(list["items"][0]["last_error"], "603 Access denied");
    assert_eq!(
        list["next_before"],
        serde_json::Value::Null,
        "one page holds it all"
    );
    let next: serde_json::Value = admin(
        &app,
        reqwest::Method::GET,
        &format!("/admin/dead-letters?after={id}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(next["items"], serde_json::json!([]));
    assert_eq!(
        next["next_after"], id,
        "the feed form: after it, nothing yet"
    );

    let replayed = admin(
        &app,
        reqwest::Method::POST,
        &format!("/admin/dead-letters/{id}/replay"),
    )
    .await;
    assert_eq!(replayed.status(), 200);
    let again = admin(
        &app,
        reqwest::Method::POST,
        &format!("/admin/dead-letters/{id}/replay"),
    )
    .await;
    assert_eq!(again.status(), 404, "only dead signals replay");
    let list: serde_json::Value = admin(&app, reqwest::Method::GET, "/admin/dead-letters")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn mappings_switch_at_run_time() {
    let app = app().await;
    let off = admin(
        &app,
        reqwest::Method::POST,
        "/admin/mappings/webinar/disable",
    )
    .await;
    assert_eq!(off.status(), 200);
    let list: serde_json::Value = admin(&app, reqwest::Method::GET, "/admin/mappings")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["enabled"], false);
    assert_eq!(
        admin(&app, reqwest::Method::POST, "/admin/mappings/nope/disable")
            .await
            .status(),
        404
    );
    assert_eq!(
        admin(
            &app,
            reqwest::Method::POST,
            "/admin/mappings/webinar/toggle"
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        admin(&app, reqwest::Method::POST, "/admin/sync/disable")
            .await
            .status(),
        200
    );
    assert!(!app.worker.mappings().sync_enabled());
}

#[tokio::test]
async fn outcome_filters_are_validated() {
    let app = app().await;
    let bad = admin(&app, reqwest::Method::GET, "/admin/outcomes?result=maybe").await;
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["field"], "result");
    let ok = admin(&app, reqwest::Method::GET, "/admin/outcomes?result=dead").await;
    assert_eq!(ok.status(), 200);
}

/// `GET /v1/member-of` names a campaign id that is not one (400) apart from a campaign no
/// mapping syncs (404).
#[tokio::test]
async fn member_of_refuses_a_malformed_campaign_id() {
    let app = app().await;
    let bad = admin(
        &app,
        reqwest::Method::GET,
        "/v1/member-of?campaignId=bad&leadId=1001",
    )
    .await;
    assert_eq!(bad.status(), 400);
    let answer: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(answer["error"]["field"], "campaignId", "{answer}");
    let unmapped = admin(
        &app,
        reqwest::Method::GET,
        "/v1/member-of?campaignId=701000000000002AAA&leadId=1001",
    )
    .await;
    assert_eq!(unmapped.status(), 404);
    let mapped = admin(
        &app,
        reqwest::Method::GET,
        "/v1/member-of?campaignId=701000000000001AAA&leadId=1001",
    )
    .await;
    assert_eq!(mapped.status(), 200);
    // Both named, of two different mappings (or none): refused, not answered for one.
    let both = admin(
        &app,
        reqwest::Method::GET,
        "/v1/member-of?campaignId=701000000000001AAA&programId=1002&leadId=1001",
    )
    .await;
    assert_eq!(both.status(), 400);
    let answer: serde_json::Value = both.json().await.unwrap();
    assert_eq!(answer["error"]["field"], "programId", "{answer}");
    let agreeing = admin(
        &app,
        reqwest::Method::GET,
        "/v1/member-of?campaignId=701000000000001AAA&programId=1001&leadId=1001",
    )
    .await;
    assert_eq!(agreeing.status(), 200);
    // The person must be one person, named so it can be found.
    let campaign = "/v1/member-of?campaignId=701000000000001AAA";
    for (person, field) in [
        ("&email=", "email"),
        ("&email=not-an-email", "email"),
        ("&leadId=0", "leadId"),
        ("&leadId=-3", "leadId"),
        ("&leadId=00Q5g0000000001EAA", "leadId"),
    ] {
        let refused = admin(&app, reqwest::Method::GET, &format!("{campaign}{person}")).await;
        assert_eq!(refused.status(), 400, "{person}");
        let answer: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(answer["error"]["field"], field, "{person}: {answer}");
        if person.contains("00Q") {
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("Salesforce id; ask by the person's email"),
                "{message}"
            );
        }
    }
    let by_email = admin(
        &app,
        reqwest::Method::GET,
        &format!("{campaign}&email=ada@example.com"),
    )
    .await;
    assert_eq!(by_email.status(), 200);
    // Both given: one person, or a 400 rather than an answer about one of two.
    for (lead, email) in [(1001, "ada@example.com"), (1002, "grace@example.com")] {
        let row = campaign_sync::store::IdentityRow {
            email: Some(email.into()),
            mkto_lead_id: Some(lead),
            ..Default::default()
        };
        app.store.save_identity(&row, 1).await.unwrap();
    }
    for (email, status) in [("ada@example.com", 200), ("grace@example.com", 400)] {
        let answer = admin(
            &app,
            reqwest::Method::GET,
            &format!("{campaign}&leadId=1001&email={email}"),
        )
        .await;
        assert_eq!(answer.status(), status, "{email}");
    }
}
