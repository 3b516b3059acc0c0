//! The console's errors page and sign-in under pressure: rejected notifications listed without
//! a replay, and too many wrong sign-ins from one address made to wait.

use crate::admin_console::{console_client, cookie_pair, sign_in, world};

/// A notification refused on arrival is on the errors page (alone under "rejected"), with its
/// reason and no replay; a state the page does not offer is a 400 page.
#[tokio::test]
async fn the_errors_page_shows_rejected_notifications_without_replay() {
    let world = world().await;
    let refused = campaign_sync::signal::RejectedInput {
        dedup_key: "sf:rejected:04l5g00000AbC09AAF".into(),
        source: "salesforce",
        kind: "salesforce_notification",
        raw: "<Notification/>".into(),
        reason: "CampaignMember notification without a Status field".into(),
        names: campaign_sync::signal::RejectedNames {
            member_id: Some("00v5g00000Qw1abAAB".into()),
            lead_id: Some("00Q5g00000Hh7tUEAR".into()),
            contact_id: None,
            email: Some("grace@example.com".into()),
        },
    };
    world
        .app
        .store
        .record_with_rejected(
            Vec::new(),
            vec![refused],
            campaign_sync::store::now_millis(),
        )
        .await
        .unwrap();
    let client = console_client();
    let pair = cookie_pair(&sign_in(&client, &world).await);
    let page = |query: &'static str| {
        let (client, pair) = (client.clone(), pair.clone());
        let url = world.app.url(&format!("/console/errors{query}"));
        async move {
            let answer = client.get(url).header("cookie", pair).send().await.unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    for query in ["", "?state=rejected"] {
        let (status, html) = page(query).await;
        assert_eq!(status, 200, "{query}");
        assert!(
            html.contains("<td>rejected</td>") && html.contains("without a Status field"),
            "{query}: {html}"
        );
        for named in [
            "00v5g00000Qw1abAAB",
            "00Q5g00000Hh7tUEAR",
            "grace@example.com",
        ] {
            assert!(html.contains(named), "{query}: names {named}: {html}");
        }
        assert!(
            !html.contains("class=\"replay-one\""),
            "not replayable: {html}"
        );
    }
    let (_, dead_only) = page("?state=dead").await;
    assert!(!dead_only.contains("<td>rejected</td>"), "{dead_only}");
    let (status, html) = page("?state=bogus").await;
    assert_eq!(status, 400);
    assert!(html.contains("no state &quot;bogus&quot;"), "{html}");
}

/// An address that keeps giving wrong tokens waits before its next one is checked, the right
/// one included; a person mistyping a few times never meets the limit.
#[tokio::test]
async fn too_many_wrong_sign_ins_from_one_address_wait() {
    let world = world().await;
    let client = console_client();
    let attempt = |token: &'static str| {
        let request = client
            .post(world.app.url("/console/sign-in"))
            .form(&[("token", token)]);
        async move { request.send().await.unwrap() }
    };
    for _ in 0..20 {
        assert_eq!(attempt("wrong").await.status(), 401);
    }
    let held = attempt(crate::admin_console::ADMIN_TOKEN).await;
    assert_eq!(held.status(), 429);
    let wait: u64 = held.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(held.headers().get("set-cookie").is_none());
    let page = held.text().await.unwrap();
    assert!(page.contains("Too many wrong tokens"), "{page}");
}
