//! The console's outcomes page: every outcome the overview counts is listed there, each count
//! links to its list, and the list filters by mapping, result and why a change was skipped.

use campaign_sync::kinds::{Action, Connector};
use campaign_sync::store::{Outcome, OutcomeResult, now_millis};

use crate::admin_console::{console_client, console_page, cookie_pair, get, sign_in, world};
use crate::world::World;

/// Records a skipped outcome of the webinar mapping for `person`, with `reason`.
async fn skipped(world: &World, mapping: &str, person: &str, reason: &str) {
    let outcome = Outcome {
        id: 0,
        signal_id: None,
        mapping: Some(mapping.into()),
        person: Some(person.into()),
        connector: Connector::Salesforce,
        action: Action::SetStatus,
        result: OutcomeResult::Skipped,
        reason: Some(reason.into()),
        recorded_at: now_millis(),
    };
    world.app.store.record_outcome(&outcome).await.unwrap();
}

/// The link a page's element of `class` holds inside the row that starts with `row`.
fn link_in(html: &str, row: &str, class: &str) -> String {
    let (_, rest) = html
        .split_once(row)
        .unwrap_or_else(|| panic!("{row}: {html}"));
    let row = rest.split("</tr>").next().unwrap();
    let marker = format!("class=\"{class}");
    let (_, cell) = row
        .split_once(&marker)
        .unwrap_or_else(|| panic!("{class}: {row}"));
    let (_, href) = cell.split_once("href=\"").expect("a link");
    unescaped(href.split('"').next().unwrap())
}

/// An attribute's value as the browser reads it (askama writes `&` as `&#38;`).
pub(crate) fn unescaped(attribute: &str) -> String {
    attribute.replace("&#38;", "&").replace("&amp;", "&")
}

/// The `data-id`s of the outcome rows a page lists.
fn rows(html: &str) -> Vec<String> {
    html.split("<tr data-id=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn each_overview_count_links_to_the_outcomes_it_counts() {
    let world = world().await;
    let (lead, _) = world.person("ada@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    world.refuse_member_writes().await;
    world.mk_sets(lead, "No Show");
    world.settle().await;
    let person = get(&world, "/admin/people?q=ada@example.com").await["items"][0]["id"].clone();
    let person = person.to_string();
    skipped(&world, "webinar", &person, campaign_sync::sync::ECHO).await;
    let overruled = format!("{}: Salesforce changed too", campaign_sync::sync::OVERRULED);
    skipped(&world, "webinar", &person, &overruled).await;
    skipped(&world, "webinar", &person, campaign_sync::sync::STALE).await;

    let client = console_client();
    let cookie = cookie_pair(&sign_in(&client, &world).await);
    let overview = console_page(&client, world.app.url("/console"), &cookie).await;
    let row = "data-mapping=\"webinar\" data-window=\"last hour\"";
    let count_page = |class: &'static str| {
        let href = link_in(&overview, row, class);
        let (client, cookie, url) = (client.clone(), cookie.clone(), world.app.url(&href));
        async move {
            assert!(
                href.starts_with("/console/outcomes?mapping=webinar"),
                "{href}"
            );
            console_page(&client, url, &cookie).await
        }
    };
    let failed = count_page("failed").await;
    let results: Vec<&str> = failed
        .split("data-result=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap())
        .collect();
    assert_eq!(results, ["dead"], "{failed}");
    assert!(
        failed.contains(&format!(
            "<a href=\"/console/people/{person}\">ada@example.com</a>"
        )),
        "each row links to the person's timeline: {failed}"
    );
    for (class, reason) in [
        ("echoed", "echo of our own write"),
        ("overruled", "Salesforce changed too"),
        ("skipped", "stale: older than"),
    ] {
        let page = count_page(class).await;
        assert_eq!(rows(&page).len(), 1, "{class}: {page}");
        assert!(page.contains(reason), "{class}: {page}");
    }

    // Every outcome, then without the echoes; newest first.
    let all = console_page(&client, world.app.url("/console/outcomes"), &cookie).await;
    let without = console_page(
        &client,
        world
            .app
            .url("/console/outcomes?no_echoes=1&mapping=webinar"),
        &cookie,
    )
    .await;
    let (all, without) = (rows(&all), rows(&without));
    assert_eq!(all.len(), without.len() + 1, "{all:?} {without:?}");
    let mut newest_first = all.clone();
    newest_first.sort_by_key(|id| std::cmp::Reverse(id.parse::<i64>().unwrap()));
    assert_eq!(all, newest_first);

    for (query, says) in [
        ("result=bogus", "There is no result"),
        ("skip=bogus", "There is no kind of skip"),
        ("result=dead&skip=echo", "filters skipped changes only"),
        ("before=abc", "before"),
        ("limit=5", "limit"),
        ("person=ada%40example.com", "is not a person's id"),
        ("person=-1", "is not a person's id"),
    ] {
        let response = client
            .get(world.app.url(&format!("/console/outcomes?{query}")))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let page = response.text().await.unwrap();
        assert!(page.contains(says), "{query}: {page}");
    }
    // A mapping neither configured nor in the history: 404, as the admin API answers.
    let unknown = client
        .get(world.app.url("/console/outcomes?mapping=nosuch"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let page = unknown.text().await.unwrap();
    assert!(page.contains("No such mapping"), "{page}");
    // The lists the overview's Failed and Diverged link to say why they hold more.
    for (result, note) in [("dead", "dead-note"), ("diverged", "diverged-note")] {
        let url = world.app.url(&format!("/console/outcomes?result={result}"));
        let page = console_page(&client, url, &cookie).await;
        assert!(page.contains(&format!("id=\"{note}\"")), "{page}");
    }
    // An empty errors list says what it was filtered to.
    let url = world.app.url("/console/errors?state=retrying&q=nobody");
    let page = console_page(&client, url, &cookie).await;
    assert!(page.contains("Nothing retrying matches nobody."), "{page}");
}

#[tokio::test]
async fn the_outcomes_page_pages_older_ones() {
    let world = world().await;
    for n in 0..105 {
        skipped(&world, "retired", &format!("p{n}"), "stale").await;
    }
    let client = console_client();
    let cookie = cookie_pair(&sign_in(&client, &world).await);
    let first = console_page(
        &client,
        world.app.url("/console/outcomes?mapping=retired"),
        &cookie,
    )
    .await;
    assert_eq!(rows(&first).len(), 100, "{first}");
    assert!(
        first.contains("<option value=\"retired\" selected>"),
        "a mapping no longer configured is still offered: {first}"
    );
    let (_, older) = first
        .split_once("id=\"older\" href=\"")
        .expect("an older page");
    let older = unescaped(older.split('"').next().unwrap());
    let second = console_page(&client, world.app.url(&older), &cookie).await;
    assert_eq!(rows(&second).len(), 5, "{second}");
    assert!(!second.contains("id=\"older\""), "{second}");
    assert!(second.contains("id=\"newest\""), "{second}");
}

/// The store's filter by kind of skip, which the page and the overview's links use, answers
/// alike on SQLite and PostgreSQL.
#[tokio::test]
async fn skips_are_told_apart_alike_on_every_backend() {
    use campaign_sync::store::{OutcomeFilter, SkipKind};
    for db in crate::test_app::TestDb::all().await {
        let store = db.store().await;
        let overruled = format!("{}: the other side won", campaign_sync::sync::OVERRULED);
        for (result, reason) in [
            (OutcomeResult::Skipped, campaign_sync::sync::ECHO),
            (OutcomeResult::Skipped, campaign_sync::sync::ECHO_BEFORE),
            (OutcomeResult::Skipped, overruled.as_str()),
            (OutcomeResult::Skipped, campaign_sync::sync::STALE),
            (OutcomeResult::Applied, "written"),
        ] {
            let outcome = Outcome {
                id: 0,
                signal_id: None,
                mapping: Some("webinar".into()),
                person: Some("1".into()),
                connector: Connector::Salesforce,
                action: Action::SetStatus,
                result,
                reason: Some(reason.into()),
                recorded_at: 1,
            };
            store.record_outcome(&outcome).await.unwrap();
        }
        let count = |skip: Option<SkipKind>, without_echoes: bool| {
            let filter = OutcomeFilter {
                skip,
                without_echoes,
                limit: 100,
                ..OutcomeFilter::default()
            };
            let store = &store;
            async move { store.outcomes_named(&filter).await.unwrap().len() }
        };
        let label = db.label;
        assert_eq!(count(Some(SkipKind::Echo), false).await, 2, "{label}");
        assert_eq!(count(Some(SkipKind::Overruled), false).await, 1, "{label}");
        assert_eq!(count(Some(SkipKind::Other), false).await, 1, "{label}");
        assert_eq!(count(None, true).await, 3, "{label}");
        assert_eq!(count(None, false).await, 5, "{label}");
    }
}
