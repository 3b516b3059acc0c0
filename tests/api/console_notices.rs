//! What the console says after an action: a replay keeps the errors page's filter and says
//! when nothing was chosen, lifting a pause is confirmed, and a job's state reads as words.

use campaign_sync::store::now_millis;

use crate::admin_console::{console_client, console_page, cookie_pair, csrf_of, sign_in, world};

/// A redirect's page without the seal that lets it show its notice (which it must carry).
fn unsealed(location: &str) -> &str {
    location.split_once("&seal=").expect("a sealed notice").0
}

/// The notice a page shows, up to the end of its paragraph.
fn notice(html: &str) -> String {
    let (_, rest) = html.split_once("id=\"notice\">").unwrap_or(("", ""));
    rest.split("</p>").next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_replay_keeps_the_filter_and_says_when_nothing_was_selected() {
    let world = world().await;
    let (lead, _) = world.person("kept@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    world.refuse_member_writes().await;
    world.mk_sets(lead, "No Show");
    world.settle().await;
    let client = console_client();
    let cookie = cookie_pair(&sign_in(&client, &world).await);
    let page = console_page(
        &client,
        world.app.url("/console/errors?state=dead"),
        &cookie,
    )
    .await;
    let (_, rest) = page
        .split_once("name=\"one\" value=\"")
        .expect("a dead letter to replay");
    let id = rest.split('"').next().unwrap().to_string();
    let csrf = csrf_of(&page);
    let post = |form: Vec<(&'static str, String)>| {
        let request = client
            .post(world.app.url("/console/errors/replay"))
            .header("cookie", &cookie)
            .form(&form);
        async move {
            let answer = request.send().await.unwrap();
            assert_eq!(answer.status(), 303);
            answer.headers()["location"].to_str().unwrap().to_string()
        }
    };
    // Nothing ticked: said in words, back on the filtered list.
    let none = post(vec![
        ("csrf", csrf.clone()),
        ("filter", String::new()),
        ("state", "dead".into()),
        ("scope", "selected".into()),
    ])
    .await;
    assert_eq!(
        unsealed(&none),
        "/console/errors?state=dead&nothing=selected"
    );
    let said = notice(&console_page(&client, world.app.url(&none), &cookie).await);
    assert!(said.starts_with("Nothing was selected"), "{said}");
    // A list filtered to another state holds no dead letter: it offers no "replay all", and
    // one sent anyway replays nothing.
    let retrying = console_page(
        &client,
        world.app.url("/console/errors?state=retrying"),
        &cookie,
    )
    .await;
    assert!(!retrying.contains("id=\"replay-all\""), "{retrying}");
    let other = post(vec![
        ("csrf", csrf.clone()),
        ("filter", String::new()),
        ("state", "retrying".into()),
        ("scope", "all".into()),
    ])
    .await;
    assert_eq!(
        unsealed(&other),
        "/console/errors?state=retrying&nothing=all"
    );
    let still = world.app.store.dead(0, 10).await.unwrap();
    assert_eq!(still.len(), 1, "the dead letter is left dead: {still:?}");

    let one = post(vec![
        ("csrf", csrf.clone()),
        ("filter", "kept@example.com".into()),
        ("state", "dead".into()),
        ("one", id),
    ])
    .await;
    assert_eq!(
        unsealed(&one),
        "/console/errors?state=dead&q=kept%40example.com&replayed=1"
    );
    let after = console_page(&client, world.app.url(&one), &cookie).await;
    assert!(
        notice(&after).starts_with("1 dead letter(s) replayed"),
        "{after}"
    );
    assert!(
        after.contains("<option value=\"dead\" selected>"),
        "{after}"
    );

    // Nothing dead matches any more: replaying all says so.
    let all = post(vec![
        ("csrf", csrf),
        ("filter", "kept@example.com".into()),
        ("state", "dead".into()),
        ("scope", "all".into()),
    ])
    .await;
    let said = notice(&console_page(&client, world.app.url(&all), &cookie).await);
    assert!(said.starts_with("No dead letter matches"), "{all}: {said}");
}

/// Lifts Marketo's pause from the overview's form; where the console sends the browser.
async fn lift_marketo(
    world: &crate::world::World,
    client: &reqwest::Client,
    cookie: &str,
) -> String {
    let overview = console_page(client, world.app.url("/console"), cookie).await;
    let lifted = client
        .post(world.app.url("/console/upstreams/resume"))
        .header("cookie", cookie)
        .form(&[("csrf", csrf_of(&overview).as_str()), ("system", "marketo")])
        .send()
        .await
        .unwrap();
    assert_eq!(lifted.status(), 303);
    lifted.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn lifting_a_pause_is_confirmed_and_a_job_state_reads_as_words() {
    let world = world().await;
    let client = console_client();
    let cookie = cookie_pair(&sign_in(&client, &world).await);
    let to = lift_marketo(&world, &client, &cookie).await;
    let page = console_page(&client, world.app.url(&to), &cookie).await;
    let said = notice(&page);
    assert!(said.starts_with("Marketo was not paused"), "{to}: {said}");
    // The page refreshes itself without the notice: it said so once.
    assert!(
        page.contains(r#"<meta http-equiv="refresh" content="30; url=/console">"#),
        "{page}"
    );

    let store = &world.app.store;
    let now = now_millis();
    let id = store
        .queue_job("reconcile", &serde_json::json!({}), now)
        .await
        .unwrap();
    let started = store.start_next_job("test", now).await.unwrap().unwrap();
    assert_eq!(started.id, id);
    assert!(
        store
            .finish_job(id, "test", Err("boom"), now)
            .await
            .unwrap()
    );
    let page = console_page(
        &client,
        world.app.url(&format!("/console/mappings?job={id}")),
        &cookie,
    )
    .await;
    assert!(
        page.contains(&format!("Reconciliation job {id} has failed")),
        "{page}"
    );
}

/// A notice travels in the page's address with this session's seal: the same address typed or
/// followed from a link without it, or sealed by another session, says nothing happened.
#[tokio::test]
async fn a_notice_without_this_sessions_seal_is_not_shown() {
    let world = world().await;
    let client = console_client();
    let cookie = cookie_pair(&sign_in(&client, &world).await);
    let other = cookie_pair(&sign_in(&client, &world).await);
    let to = lift_marketo(&world, &client, &cookie).await;
    let shown = |page: &str| page.contains("id=\"notice\"");
    assert!(shown(
        &console_page(&client, world.app.url(&to), &cookie).await
    ));
    assert!(!shown(
        &console_page(&client, world.app.url(&to), &other).await
    ));
    let tampered = to.replace("was_paused=0", "was_paused=1");
    assert!(!shown(
        &console_page(&client, world.app.url(&tampered), &cookie).await
    ));
    for forged in [
        "/console?lifted=salesforce",
        "/console/errors?replayed=500",
        "/console/subscriptions?done=deleted&id=1",
        "/console/subscriptions?replayed=99&id=1",
        "/console/errors?replayed=5&seal=00",
    ] {
        let page = console_page(&client, world.app.url(forged), &cookie).await;
        assert!(!shown(&page), "{forged}: {page}");
    }
}
