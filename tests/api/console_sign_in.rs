//! Signing in sends the browser back to the console page that asked for it, and nowhere else.

use crate::admin_console::{console_client, world};

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn signing_in_opens_the_page_that_asked_for_it() {
    let world = world().await;
    let client = console_client();
    let url = |p: &str| world.app.url(p);
    let asked = client
        .get(url("/console/people?q=ada%40example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 303);
    let to_sign_in = location(&asked);
    assert_eq!(
        to_sign_in,
        "/console/sign-in?next=%2Fconsole%2Fpeople%3Fq%3Dada%2540example.com"
    );
    let page = client.get(url(&to_sign_in)).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(
        page.contains(r#"name="next" value="/console/people?q=ada%40example.com""#),
        "{page}"
    );
    let token = crate::admin_console::ADMIN_TOKEN;
    for (next, expected) in [
        (
            "/console/people?q=ada%40example.com",
            "/console/people?q=ada%40example.com",
        ),
        ("/console/errors", "/console/errors"),
        // Nothing that leads off the console.
        ("https://example.org/console", "/console"),
        ("//example.org/console", "/console"),
        ("/console/..//example.org", "/console"),
        ("/console/../metrics", "/console"),
        ("/console/%2e%2e/admin/status", "/console"),
        ("/console/./../v1/trigger-events", "/console"),
        ("/console/errors/..", "/console"),
        ("/admin/status", "/console"),
        ("/console/sign-out", "/console"),
        ("", "/console"),
    ] {
        let signed_in = client
            .post(url("/console/sign-in"))
            .form(&[("token", token), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 303, "{next}");
        assert_eq!(location(&signed_in), expected, "{next}");
    }
    // A token pasted with spaces around it is the token, as in the bearer API's header.
    let padded = format!(" {token} ");
    let signed_in = client
        .post(url("/console/sign-in"))
        .form(&[("token", padded.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie =
        crate::admin_console::cookie_pair(signed_in.headers()["set-cookie"].to_str().unwrap());
    // The overview's waiting counts open the errors page filtered to them.
    let overview = crate::admin_console::console_page(&client, url("/console"), &cookie).await;
    for state in ["retrying", "postponed", "dead"] {
        assert!(
            overview.contains(&format!("href=\"/console/errors?state={state}\"")),
            "{state}: {overview}"
        );
    }
    // A form sent without a session is not asked for again after signing in.
    let posted = client
        .post(url("/console/reconcile"))
        .form(&[("dry_run", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&posted), "/console/sign-in");
}
