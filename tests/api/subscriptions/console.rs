//! The console's subscriptions page: waiting deliveries with the last failed try, why a
//! subscription is paused, and what a replay of a paused one's dead deliveries does.

use std::sync::Arc;

use campaign_sync::config::Config;
use campaign_sync::outbox::Deliverer;

use super::subscriber::Subscriber;
use super::{TOKEN, subscribe, world};
use crate::admin_console::{console_client, console_page, cookie_pair, csrf_of, form_id_of};
use crate::world::World;

/// A delivery task that waits an hour before a retry: a failed delivery stays waiting.
fn patient_deliverer(world: &World) -> Deliverer {
    let mut config = Config::default();
    config.worker.retry_schedule_secs = vec![3600];
    config.worker.retry_jitter_percent = 0;
    config.triggers.marketo_activities = false;
    Deliverer::new(
        world.app.store.clone(),
        Arc::new(config),
        world.app.worker.marketo().clone(),
        world.app.worker.salesforce().clone(),
    )
    .unwrap()
}

async fn signed_in(world: &World, client: &reqwest::Client) -> String {
    let signed_in = client
        .post(world.app.url("/console/sign-in"))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    cookie_pair(signed_in.headers()["set-cookie"].to_str().unwrap())
}

/// The row of subscription `id` on the page.
fn row(html: &str, id: i64) -> String {
    let start = format!("<tr data-subscription=\"{id}\">");
    let (_, rest) = html.split_once(&start).unwrap_or_else(|| panic!("{html}"));
    rest.split("</tr>").next().unwrap().to_string()
}

#[tokio::test]
async fn the_page_shows_waiting_deliveries_with_their_last_failed_try() {
    let world = world().await;
    let subscriber = Subscriber::spawn().await;
    let id = subscribe(&world, &subscriber, &["added_to_program"]).await;
    subscriber.answer(500);
    let (_, sf_lead) = world.person("wait@example.com");
    world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;
    patient_deliverer(&world).run_pending().await.unwrap();
    assert_eq!(subscriber.received().len(), 1);

    let client = console_client();
    let cookie = signed_in(&world, &client).await;
    let page = console_page(&client, world.app.url("/console/subscriptions"), &cookie).await;
    let mine = row(&page, id);
    assert!(
        mine.contains("<td class=\"pending\">1<br>")
            && mine.contains("answered 500")
            && mine.contains("(1 attempt(s) so far)"),
        "{mine}"
    );
}

#[tokio::test]
async fn a_paused_subscription_says_why_and_its_replay_says_nothing_is_sent_yet() {
    let world = world().await;
    let subscriber = Subscriber::spawn().await;
    let id = subscribe(&world, &subscriber, &["added_to_program"]).await;
    subscriber.answer(410);
    let (_, sf_lead) = world.person("gone@example.com");
    world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;
    patient_deliverer(&world).run_pending().await.unwrap();

    let client = console_client();
    let cookie = signed_in(&world, &client).await;
    let page = console_page(&client, world.app.url("/console/subscriptions"), &cookie).await;
    let mine = row(&page, id);
    assert!(
        mine.contains("paused") && mine.contains("the subscriber answered 410 Gone at "),
        "{mine}"
    );
    // The dead delivery says why it died, beside its count.
    let dead = mine
        .split("class=\"muted last-dead\">latest died ")
        .nth(1)
        .unwrap_or_else(|| panic!("{mine}"));
    assert!(
        dead.split("</span>").next().unwrap().contains("410"),
        "{mine}"
    );
    let overview = console_page(&client, world.app.url("/console"), &cookie).await;
    assert!(
        overview.contains(
            "<a class=\"replay-page\" href=\"/console/subscriptions\">replay on the Subscriptions page</a>"
        ),
        "{overview}"
    );

    let replayed = client
        .post(world.app.url("/console/subscriptions/replay"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf_of(&page)), ("id", id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 303);
    let to = replayed.headers()["location"].to_str().unwrap().to_string();
    let after = console_page(&client, world.app.url(&to), &cookie).await;
    let (_, notice) = after.split_once("id=\"notice\">").expect("a notice");
    assert!(
        notice.starts_with(&format!(
            "1 dead delivery(ies) of subscription {id} made due again. The subscription is \
             paused: nothing is sent until it is resumed"
        )),
        "{notice}"
    );

    // Paused by an operator: the page says so; resumed, no reason is left.
    let pause = |action: &'static str| {
        client
            .post(world.app.url("/console/subscriptions/pause"))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf_of(&page)),
                ("id", id.to_string()),
                ("action", action.into()),
            ])
            .send()
    };
    // Each switch is said on the page it leads to.
    let switched = |answer: reqwest::Response| {
        assert_eq!(answer.status(), 303);
        world
            .app
            .url(answer.headers()["location"].to_str().unwrap())
    };
    let to = switched(pause("resume").await.unwrap());
    let resumed = console_page(&client, to, &cookie).await;
    assert!(!row(&resumed, id).contains("pause-reason"), "{resumed}");
    assert!(
        resumed.contains(&format!("Subscription {id} resumed")),
        "{resumed}"
    );
    let to = switched(pause("pause").await.unwrap());
    let paused = console_page(&client, to, &cookie).await;
    assert!(
        row(&paused, id).contains("(paused from the console)"),
        "{paused}"
    );
    assert!(
        paused.contains(&format!("Subscription {id} paused")),
        "{paused}"
    );
}

/// The notice's secret: the `whsec_` word it shows.
fn shown_secret(html: &str) -> String {
    let start = html
        .find("whsec_")
        .unwrap_or_else(|| panic!("no secret: {html}"));
    html[start..]
        .split(|c: char| c.is_whitespace() || c == '<')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn rotating_a_secret_shows_the_new_one_once_and_the_old_one_signs_for_a_day() {
    let world = world().await;
    let subscriber = Subscriber::spawn().await;
    let id = subscribe(&world, &subscriber, &["added_to_program"]).await;
    let client = console_client();
    let cookie = signed_in(&world, &client).await;
    let before = console_page(&client, world.app.url("/console/subscriptions"), &cookie).await;
    assert!(row(&before, id).contains("Rotate secret"), "{before}");

    let rotated = client
        .post(world.app.url("/console/subscriptions/rotate-secret"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf_of(&before).as_str()), ("id", &id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 200);
    let page = rotated.text().await.unwrap();
    let secret = shown_secret(&page);
    assert!(
        page.contains("keeps signing each delivery beside it until"),
        "{page}"
    );
    assert!(
        row(&page, id).contains("the replaced secret signs too until"),
        "{page}"
    );
    let again = console_page(&client, world.app.url("/console/subscriptions"), &cookie).await;
    assert!(!again.contains(&secret), "shown once");

    // The subscriber, still on the old secret, verifies; so it does on the new one.
    let (_, sf_lead) = world.person("rotated@example.com");
    world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;
    subscriber.set_secret(&secret);
    patient_deliverer(&world).run_pending().await.unwrap();
    let received = subscriber.received();
    assert!(
        received.len() == 1 && received[0].verified && received[0].signatures == 2,
        "{received:?}"
    );

    let unknown = client
        .post(world.app.url("/console/subscriptions/rotate-secret"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf_of(&again).as_str()), ("id", "999")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let forged = client
        .post(world.app.url("/console/subscriptions/rotate-secret"))
        .header("cookie", &cookie)
        .form(&[("csrf", "forged"), ("id", &id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
}

/// A rotate form sent twice (a refresh, a double click) rotates once: the second answer shows
/// the secret the first set, and the secret the subscriber still has keeps signing.
#[tokio::test]
async fn a_rotate_form_sent_again_rotates_nothing_more() {
    let world = world().await;
    let subscriber = Subscriber::spawn().await;
    let id = subscribe(&world, &subscriber, &["added_to_program"]).await;
    let client = console_client();
    let cookie = signed_in(&world, &client).await;
    let before = console_page(&client, world.app.url("/console/subscriptions"), &cookie).await;
    let (csrf, form_id, id_text) = (csrf_of(&before), form_id_of(&before), id.to_string());
    let send = || {
        client
            .post(world.app.url("/console/subscriptions/rotate-secret"))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("id", id_text.as_str()),
                ("form_id", form_id.as_str()),
            ])
            .send()
    };
    let first = send().await.unwrap().text().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(second.status(), 200);
    let second = second.text().await.unwrap();
    assert!(second.contains("rotated subscription"), "{second}");
    assert!(second.contains("already"), "{second}");
    assert_eq!(shown_secret(&second), shown_secret(&first));

    // The subscriber never switched: its secret still signs, beside the one rotation set.
    let (_, sf_lead) = world.person("twice@example.com");
    world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;
    patient_deliverer(&world).run_pending().await.unwrap();
    let received = subscriber.received();
    assert!(
        received.len() == 1 && received[0].verified && received[0].signatures == 2,
        "{received:?}"
    );

    // A new page's form rotates again.
    let fresh = form_id_of(&second);
    assert_ne!(fresh, form_id);
    let third = client
        .post(world.app.url("/console/subscriptions/rotate-secret"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("id", id_text.as_str()),
            ("form_id", fresh.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(third.contains("has a new signing secret"), "{third}");
    assert_ne!(shown_secret(&third), shown_secret(&first));
}
