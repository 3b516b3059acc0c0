//! The console's session and CSRF refusals, and its error pages: every form needs the session
//! and its token, a signed-out cookie is refused, and every refusal is a page with a way back.

use crate::admin_console::{
    console_client, console_page, cookie_pair, csrf_of, get, sign_in, world,
};

#[tokio::test]
async fn console_forms_need_the_session_and_its_csrf_token() {
    let world = world().await;
    let client = console_client();
    let url = |p: &str| world.app.url(p);
    let refused = client
        .post(url("/console/sign-in"))
        .form(&[("token", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().get("set-cookie").is_none());
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("not the admin token")
    );
    // With no admin token set, the page says the console is closed, not that the token is wrong.
    let closed = crate::test_app::TestApp::spawn().await;
    let page = client
        .post(closed.url("/console/sign-in"))
        .form(&[("token", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 401);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("admin.token is not set"),
        "the page says why"
    );
    let cookie = sign_in(&client, &world).await;
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie_pair(&cookie);
    let page = client
        .get(url("/console/errors"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let forged = client
        .post(url("/console/errors/replay"))
        .header("cookie", &pair)
        .form(&[("csrf", "forged"), ("scope", "all"), ("filter", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(
        forged
            .text()
            .await
            .unwrap()
            .contains("not valid for your session")
    );
    // Forms missing their token, or with an action that is not one, change nothing.
    let html = console_page(&client, url("/console/mappings"), &pair).await;
    let csrf = csrf_of(&html);
    let csrf = csrf.as_str();
    for (path, form, status) in [
        (
            "/console/mappings/switch",
            vec![("name", ""), ("action", "disable")],
            403,
        ),
        ("/console/sign-out", vec![], 403),
        (
            "/console/upstreams/resume",
            vec![("system", "marketo")],
            403,
        ),
        (
            "/console/upstreams/resume",
            vec![("csrf", csrf), ("system", "hubspot")],
            400,
        ),
        ("/console/reconcile", vec![], 403),
        (
            "/console/subscriptions/pause",
            vec![("id", "1"), ("action", "pause")],
            403,
        ),
        (
            "/console/mappings/switch",
            vec![("csrf", csrf), ("name", ""), ("action", "explode")],
            400,
        ),
        (
            "/console/mappings/switch",
            vec![("csrf", csrf), ("action", "")],
            400,
        ),
        (
            "/console/subscriptions/pause",
            vec![("csrf", csrf), ("id", "1"), ("action", "bogus")],
            400,
        ),
        (
            "/console/subscriptions/pause",
            vec![("csrf", csrf), ("id", "999"), ("action", "pause")],
            404,
        ),
        (
            "/console/subscriptions/pause",
            vec![("csrf", csrf), ("action", "pause")],
            400,
        ),
        ("/console/subscriptions/replay", vec![("csrf", csrf)], 400),
        (
            "/console/errors/replay",
            vec![("csrf", csrf), ("scope", "bogus")],
            400,
        ),
        (
            "/console/errors/replay",
            vec![("csrf", csrf), ("one", "abc")],
            400,
        ),
        (
            "/console/errors/replay",
            vec![("csrf", csrf), ("scope", "selected"), ("ids", "abc")],
            400,
        ),
        (
            "/console/reconcile",
            vec![("csrf", csrf), ("dry_run", "maybe")],
            400,
        ),
    ] {
        let answer = client
            .post(url(path))
            .header("cookie", &pair)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "{path} {form:?}");
        // A browser shows every refusal to a person: a page with a way back, never JSON.
        let kind = answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let page = answer.text().await.unwrap();
        assert!(
            kind.starts_with("text/html") && page.contains("Back to the console"),
            "{path} {form:?}: {kind} {page}"
        );
    }
    for (method, path, id, status, words) in [
        ("GET", "/console/nowhere", "1", 404, "no such console page"),
        ("GET", "/console/reconcile", "1", 405, "method not allowed"),
        // A query parameter of the wrong kind.
        (
            "GET",
            "/console/mappings?job=x",
            "1",
            400,
            "could not be used: job: a whole number, not &quot;x&quot;. Check the address",
        ),
        // A field the form's extractor cannot read.
        (
            "POST",
            "/console/subscriptions/delete",
            "abc",
            400,
            ". Reload the page and try again.",
        ),
    ] {
        let answer = client
            .request(method.parse().unwrap(), url(path))
            .header("cookie", &pair)
            .form(&[("csrf", csrf), ("id", id)])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "{method} {path}");
        // Made outside a console route or not, the page keeps the console's headers.
        assert_eq!(
            answer.headers()["cache-control"],
            "no-store",
            "{method} {path}"
        );
        assert!(
            answer.headers().contains_key("content-security-policy"),
            "{method} {path}"
        );
        let kind = answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let page = answer.text().await.unwrap();
        assert!(
            kind.starts_with("text/html") && page.contains(words),
            "{method} {path}: {kind} {page}"
        );
        // In the page's words, without the framework's preamble.
        assert!(!page.contains("Failed to deserialize"), "{page}");
    }
    // A form sent as something else: the framework's words, without their Markdown quotes.
    let answer = client
        .post(url("/console/reconcile"))
        .header("cookie", &pair)
        .header("content-type", "text/plain")
        .body("csrf=x")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 415);
    let page = answer.text().await.unwrap();
    assert!(
        page.contains("Content-Type: application/x-www-form-urlencoded") && !page.contains('`'),
        "{page}"
    );
    // `dry_run=false` is no preview: the job writes.
    let queued = client
        .post(url("/console/reconcile"))
        .header("cookie", &pair)
        .form(&[("csrf", csrf), ("dry_run", "false")])
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status(), 303);
    assert_eq!(queued.headers()["location"], "/console/mappings?job=1");
    let job = world.app.store.job(1).await.unwrap().expect("the job");
    assert_eq!(job.params["dry_run"], false);
    // Asked again while it waits: the same job, and the page says so.
    let again = client
        .post(url("/console/reconcile"))
        .header("cookie", &pair)
        .form(&[("csrf", csrf), ("dry_run", "false")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.headers()["location"],
        "/console/mappings?job=1&joined=1"
    );
    let page = console_page(&client, url("/console/mappings?job=1&joined=1"), &pair).await;
    assert!(page.contains("your request joined it"), "{page}");
    let page = console_page(&client, url("/console/mappings?job=999"), &pair).await;
    assert!(page.contains("There is no job 999."), "{page}");
    let mappings = get(&world, "/admin/status").await;
    let enabled: Vec<_> = mappings["mappings"]
        .as_array()
        .expect("mappings")
        .iter()
        .map(|m| m["enabled"].clone())
        .collect();
    assert!(
        !enabled.is_empty() && enabled.iter().all(|e| e == true),
        "{mappings}"
    );
    let refused = client
        .post(url("/console/sign-in"))
        .form(&[("x", "y")])
        .send()
        .await;
    assert_eq!(refused.unwrap().status(), 401, "no token is a wrong token");
    // A tampered cookie is no session.
    let tampered = pair.replace(".", "0.");
    let page = client
        .get(url("/console"))
        .header("cookie", &tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/console/sign-in");
}

/// Signing out ends the session on the server: the same cookie, replayed (a copy, another tab),
/// is sent to sign in again, while a new sign-in works.
#[tokio::test]
async fn a_signed_out_session_cookie_is_refused_afterwards() {
    let world = world().await;
    let client = console_client();
    let url = |p: &str| world.app.url(p);
    let get = |pair: String| {
        let client = client.clone();
        let page = url("/console/errors");
        async move {
            let response = client.get(page).header("cookie", pair).send().await;
            response.unwrap()
        }
    };
    let pair = cookie_pair(&sign_in(&client, &world).await);
    let page = get(pair.clone()).await;
    assert_eq!(page.status(), 200);
    let csrf = csrf_of(&page.text().await.unwrap());
    let out = client
        .post(url("/console/sign-out"))
        .header("cookie", &pair)
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    // The sign-in page it leads to says why it is there.
    let to = out.headers()["location"].to_str().unwrap().to_string();
    let page = client
        .get(url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("You are signed out."), "{to}: {page}");
    let replayed = get(pair).await;
    assert_eq!(replayed.status(), 303, "the old cookie is no session");
    assert_eq!(
        replayed.headers()["location"],
        "/console/sign-in?next=%2Fconsole%2Ferrors"
    );
    let again = cookie_pair(&sign_in(&client, &world).await);
    assert_eq!(get(again).await.status(), 200);
}
