//! The console's person page when a list is longer than the page: it says where the timeline is
//! cut and links to the rest; and every console page refuses a query parameter it does not take.

use campaign_sync::kinds::{Action, Connector};
use campaign_sync::store::{Outcome, OutcomeResult, now_millis};

use crate::admin_console::{console_client, console_page, cookie_pair, get, sign_in, world};

#[tokio::test]
async fn a_cut_timeline_says_so_and_links_to_the_rest() {
    let world = world().await;
    let (lead, _) = world.person("long@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let person = get(&world, "/admin/people?q=long@example.com").await["items"][0]["id"].clone();
    // More outcomes than a page shows, all after the person's deliveries.
    let later = now_millis() + 60_000;
    for n in 0..150 {
        let outcome = Outcome {
            id: 0,
            signal_id: None,
            mapping: Some("webinar".into()),
            person: Some(person.to_string()),
            connector: Connector::Salesforce,
            action: Action::SetStatus,
            result: OutcomeResult::Skipped,
            reason: Some(format!("filler {n}")),
            recorded_at: later + n,
        };
        world.app.store.record_outcome(&outcome).await.unwrap();
    }
    let client = console_client();
    let cookie = cookie_pair(&sign_in(&client, &world).await);
    let page = |query: &str| {
        let url = world.app.url(&format!("/console/people/{person}{query}"));
        console_page(&client, url, &cookie)
    };
    let rows = |html: &str, class: &str| html.matches(&format!("<tr class=\"{class}\">")).count();

    let cut = page("").await;
    assert_eq!(rows(&cut, "outcome"), 100, "{cut}");
    assert!(cut.contains("id=\"cut\""), "the page says it is cut: {cut}");
    // Since when, to the millisecond (entries of the same second before it are not shown).
    let since = cut.split("happened since ").nth(1).unwrap_or_default();
    assert!(
        since.get(19..24).is_some_and(|ms| ms.starts_with('.')),
        "{since}"
    );
    // The deliveries are older than the oldest outcome shown: not shown as if they came next.
    assert_eq!(rows(&cut, "delivery"), 0, "{cut}");
    assert!(
        cut.contains(&format!("href=\"/console/people/{person}?limit=1000\""))
            && cut.contains(&format!("href=\"/console/outcomes?person={person}\"")),
        "{cut}"
    );

    let whole = page("?limit=1000").await;
    assert!(!whole.contains("id=\"cut\""), "{whole}");
    assert!(rows(&whole, "outcome") > 150, "{whole}");
    assert!(rows(&whole, "delivery") > 0, "{whole}");

    for (query, says) in [("?limit=5000", "limit"), ("?x=1", "x")] {
        let response = client
            .get(world.app.url(&format!("/console/people/{person}{query}")))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let text = response.text().await.unwrap();
        assert!(text.contains(says), "{query}: {text}");
    }
}

/// As every `/admin/...` route: a parameter a page does not take is a 400 naming it, and one
/// it takes but cannot read says which and what it should be, in words.
#[tokio::test]
async fn console_pages_refuse_parameters_they_do_not_take() {
    let world = world().await;
    let client = console_client();
    let cookie = cookie_pair(&sign_in(&client, &world).await);
    for (path, says) in [
        ("/console?x=1", "x"),
        ("/console/errors?stat=dead", "stat"),
        ("/console/errors.csv?x=1", "x"),
        ("/console/people?query=ada", "query"),
        ("/console/mappings?jobs=1", "jobs"),
        ("/console/subscriptions?x=1", "x"),
        ("/console/outcomes?results=dead", "results"),
        (
            "/console/mappings?job=abc",
            "job: a whole number, not \"abc\"",
        ),
    ] {
        let response = client
            .get(world.app.url(path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let text = response.text().await.unwrap().replace("&quot;", "\"");
        assert!(text.contains(says), "{path}: {text}");
        assert!(!text.contains("invalid digit"), "{path}: {text}");
    }
}
