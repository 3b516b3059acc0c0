//! The console's subscriptions page end to end: create (the signing secret shown once, a refused
//! URL shown again with why, the same form sent again creating nothing more), replay (refused
//! with a forged CSRF token), delete (only with its box ticked).

use crate::admin_console::{
    console_client, console_page, cookie_pair, csrf_of, form_id_of, sign_in, world,
};

#[tokio::test]
async fn the_console_creates_replays_and_deletes_a_subscription() {
    let world = world().await;
    let client = console_client();
    let cookie = cookie_pair(&sign_in(&client, &world).await);
    let page = client
        .get(world.app.url("/console/subscriptions"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    // Console pages are never cached, framed or scripted (the next one shows a secret).
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("x-frame-options"), "DENY");
    assert!(
        header("content-security-policy").contains("default-src 'none'"),
        "{}",
        header("content-security-policy")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"create-subscription\""), "{html}");
    let csrf = csrf_of(&html);
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let request = client
            .post(world.app.url(path))
            .header("cookie", &cookie)
            .form(&form);
        async move { request.send().await.unwrap() }
    };
    let refused = post(
        "/console/subscriptions/create",
        vec![
            ("csrf", csrf.clone()),
            ("url", "ftp://example.com/hook".into()),
            ("event_types", "added_to_campaign".into()),
        ],
    )
    .await;
    assert_eq!(refused.status(), 400);
    let refused = refused.text().await.unwrap();
    assert!(
        refused.contains("Not created: url: ") && refused.contains("http or https"),
        "{refused}"
    );
    assert!(
        refused.contains("id=\"create-subscription\""),
        "the form again: {refused}"
    );
    // Said as a refusal beside the form, which keeps what was typed.
    assert!(
        refused.contains("<p class=\"bad\" id=\"refused\">Not created"),
        "{refused}"
    );
    assert!(
        refused.contains("value=\"ftp://example.com/hook\"")
            && refused.contains("value=\"added_to_campaign\""),
        "{refused}"
    );
    assert!(world.app.store.subscriptions().await.unwrap().is_empty());

    // The page's create form carries its own id.
    let form_id = form_id_of(&refused);
    let create = || {
        post(
            "/console/subscriptions/create",
            vec![
                ("csrf", csrf.clone()),
                ("form_id", form_id.clone()),
                ("url", "http://127.0.0.1:9/hook".into()),
                (
                    "event_types",
                    "removed_from_campaign, added_to_campaign".into(),
                ),
            ],
        )
    };
    let created = create().await;
    assert_eq!(created.status(), 200);
    let page = created.text().await.unwrap();
    // The page that answered is sent again (a refresh, a second click): nothing more created.
    let again = create().await;
    assert_eq!(again.status(), 200);
    let again = again.text().await.unwrap();
    assert!(
        again.contains("This form created subscription") && !again.contains("whsec_"),
        "{again}"
    );
    let all = world.app.store.subscriptions().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        all[0].event_types,
        ["added_to_campaign", "removed_from_campaign"]
    );
    assert!(
        page.contains("signing secret") && page.contains("whsec_"),
        "the secret is shown once: {page}"
    );
    let id = all[0].id.to_string();

    let replayed = post(
        "/console/subscriptions/replay",
        vec![("csrf", csrf.clone()), ("id", id.clone())],
    )
    .await;
    assert_eq!(replayed.status(), 303);
    let forged = post(
        "/console/subscriptions/delete",
        vec![("csrf", "forged".into()), ("id", id.clone())],
    )
    .await;
    assert_eq!(forged.status(), 403);
    // The box the form asks to tick is checked here too: without it nothing is deleted.
    let unconfirmed = post(
        "/console/subscriptions/delete",
        vec![("csrf", csrf.clone()), ("id", id.clone())],
    )
    .await;
    assert_eq!(unconfirmed.status(), 400);
    let page = unconfirmed.text().await.unwrap();
    assert!(page.contains("tick the box"), "{page}");
    assert_eq!(world.app.store.subscriptions().await.unwrap().len(), 1);
    let deleted = post(
        "/console/subscriptions/delete",
        vec![
            ("csrf", csrf.clone()),
            ("id", id.clone()),
            ("confirm", "on".into()),
        ],
    )
    .await;
    assert_eq!(deleted.status(), 303);
    assert!(world.app.store.subscriptions().await.unwrap().is_empty());
    let to = deleted.headers()["location"].to_str().unwrap().to_string();
    let after = console_page(&client, world.app.url(&to), &cookie).await;
    assert!(
        after.contains(&format!(
            "Subscription {id} deleted, with its queued deliveries."
        )),
        "{after}"
    );
    let again = post(
        "/console/subscriptions/delete",
        vec![("csrf", csrf), ("id", id), ("confirm", "on".into())],
    )
    .await;
    assert_eq!(again.status(), 404);
}
