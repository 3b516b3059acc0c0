//! The console in a real browser (headless Chromium) against the service and both simulators:
//! sign in, counts move after a sync, a person's timeline, a dead letter replayed and applied,
//! the CSV, and pages without the cookie sending the browser to sign-in.

mod webdriver;

use serde_json::json;

use crate::world::{Options, World};
use webdriver::Browser;

const TOKEN: &str = "console-test-token";

async fn world() -> World {
    World::with(Options {
        admin_token: Some(TOKEN.into()),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn an_operator_signs_in_follows_a_sync_finds_a_person_and_replays_a_dead_letter() {
    let world = world().await;
    let browser = Browser::start().await;
    let url = |path: &str| world.app.url(path);

    // Without the cookie every page goes to sign-in.
    for page in [
        "/console",
        "/console/errors",
        "/console/people?q=x",
        "/console/mappings",
        "/console/subscriptions",
    ] {
        browser.go(&url(page)).await;
        browser.wait_for_url("/console/sign-in").await;
    }
    browser.type_into("#token", "wrong").await;
    browser.click("#sign-in").await;
    assert!(browser.text("#error").await.contains("not the admin token"));
    browser.screenshot("sign-in").await;
    browser.type_into("#token", TOKEN).await;
    browser.click("#sign-in").await;
    assert!(
        browser.has("#create-subscription").await,
        "back to the page that asked for the sign-in"
    );
    browser.go(&url("/console")).await;
    assert!(browser.has("#mappings").await, "the overview");
    let cookie = browser.cookie("campaign_sync_console").await;
    assert_eq!(cookie["httpOnly"], json!(true), "{cookie}");
    assert_eq!(cookie["sameSite"], json!("Strict"), "{cookie}");
    let added = r#"tr[data-mapping="webinar"][data-window="last hour"] .added"#;
    assert_eq!(browser.text(added).await, "0");

    // A sync moves the counts.
    let (lead, sf_lead) = world.person("ada@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    browser.go(&url("/console")).await;
    assert_eq!(browser.text(added).await, "1");
    assert_eq!(
        browser.text(r#"tr[data-mapping="webinar"] .members"#).await,
        "1"
    );
    browser.screenshot("overview").await;

    // Search finds the person; the timeline shows the delivery, the write and the event.
    browser.go(&url("/console/people")).await;
    browser.type_into("#q", "nobody@example.com").await;
    browser.click("#search").await;
    assert!(browser.text("#nobody").await.contains("Nobody matches"));
    browser.screenshot("people").await;
    browser.go(&url("/console/people")).await;
    browser.type_into("#q", "ADA@example.com").await;
    browser.click("#search").await;
    browser.wait_for_url("/console/people/").await;
    let timeline = browser.text("#timeline").await;
    for expected in [
        "received marketo_member",
        "applied set_status on salesforce",
        "added_to_campaign",
    ] {
        assert!(timeline.contains(expected), "{expected} not in {timeline}");
    }
    assert!(browser.text("#mirror").await.contains("Registered"));
    browser.screenshot("timeline").await;

    // A write that fails for good shows on the errors page, in the CSV, and replays.
    world.refuse_member_writes().await;
    world.mk_sets(lead, "No Show");
    world.settle().await;
    browser.go(&url("/console/errors")).await;
    let errors = browser.text("#errors").await;
    assert!(
        errors.contains("ada@example.com")
            && errors.contains("No Show")
            && errors.contains(&sf_lead),
        "{errors}"
    );
    browser.screenshot("errors").await;
    let csv = world
        .app
        .client
        .get(url("/console/errors.csv"))
        .header(
            "cookie",
            format!(
                "campaign_sync_console={}",
                cookie["value"].as_str().unwrap()
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("id,state,kind,email"), "{csv}");
    assert!(
        csv.lines()
            .nth(1)
            .is_some_and(|l| l.contains("dead,") && l.contains("ada@example.com")),
        "{csv}"
    );
    world.accept_member_writes().await;
    browser.click(".replay-one").await;
    assert!(
        browser
            .text("#notice")
            .await
            .contains("1 dead letter(s) replayed")
    );
    world.settle().await;
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("No Show"));
    browser.go(&url("/console/errors")).await;
    assert!(browser.has("#no-errors").await);

    // Mappings: the settings last written, then start a reconciliation and see its job.
    world.app.worker.sync_settings().await.unwrap();
    browser.go(&url("/console/mappings")).await;
    let settings = browser.text("#settings-webinar").await;
    assert!(
        settings.contains("(applied)") && settings.contains("Type=Webinar"),
        "{settings}"
    );
    browser.click("#start-reconcile").await;
    assert!(browser.text("#job").await.contains("Reconciliation job"));
    browser.screenshot("mappings").await;

    // Subscriptions: one created through the admin API, paused from the page.
    let created = world
        .app
        .client
        .post(url("/admin/subscriptions"))
        .bearer_auth(TOKEN)
        .json(
            &serde_json::json!({"url": "http://127.0.0.1:9/hook", "event_types": ["signal_dead"]}),
        )
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    browser.go(&url("/console/subscriptions")).await;
    assert!(
        browser
            .text("#subscriptions")
            .await
            .contains("http://127.0.0.1:9/hook")
    );
    browser.click("#subscriptions button").await;
    // The answer re-renders this page: wait for it rather than read the page it replaces.
    browser.wait_for_text("#subscriptions", "paused").await;
    browser.screenshot("subscriptions").await;

    // Signing out ends the session (from the overview: the job page refreshes itself).
    browser.go(&url("/console")).await;
    browser.click("#sign-out").await;
    browser.wait_for_url("/console/sign-in").await;
    browser.go(&url("/console")).await;
    browser.wait_for_url("/console/sign-in").await;
    browser.quit().await;
}
