//! Finding a person: a skipped change on the person's timeline, a search that finds nobody
//! pointing to the waiting changes that mention the address, a malformed person id.

use serde_json::json;

use crate::admin_console::{TOKEN, console_client, console_page, cookie_pair, get, sign_in, world};

/// A change the sync skips because no mapping names its campaign is on the person's timeline
/// with that reason, when the sync knows the person.
#[tokio::test]
async fn a_change_in_a_campaign_no_mapping_names_shows_on_the_persons_timeline() {
    let world = world().await;
    let (lead, sf_lead) = world.person("elsewhere@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let other = world
        .sf
        .create_campaign(json!({ "Name": "Not mapped" }), &[])
        .unwrap();
    world
        .sf
        .add_member(crate::world::USER, &other, &sf_lead, Some("Sent"))
        .unwrap();
    world.settle().await;
    let person =
        get(&world, "/admin/people?q=elsewhere@example.com").await["items"][0]["id"].clone();
    let timeline = get(&world, &format!("/admin/people/{person}/timeline")).await;
    let skipped = timeline["outcomes"].as_array().unwrap().iter().any(|o| {
        o["result"] == "skipped"
            && o["reason"]
                .as_str()
                .is_some_and(|r| r.contains(&format!("campaign {other} is not mapped")))
    });
    assert!(skipped, "{timeline}");
}

/// Someone the sync has not linked yet, whose first change waits, is not a person to find; the
/// people page says which waiting changes mention them instead of only "nobody".
#[tokio::test]
async fn a_search_finding_nobody_points_to_the_waiting_changes_that_mention_it() {
    let world = world().await;
    world
        .app
        .admin(
            reqwest::Method::POST,
            "/admin/mappings/webinar/disable",
            TOKEN,
        )
        .await;
    let lead = world
        .mk
        .add_lead(campaign_sync::sim::marketo::NewLead::email(
            "carol@example.com",
        ));
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let client = console_client();
    let cookie = cookie_pair(&sign_in(&client, &world).await);
    let page = console_page(
        &client,
        world.app.url("/console/people?q=carol@example.com"),
        &cookie,
    )
    .await;
    assert!(page.contains("id=\"nobody\""), "{page}");
    assert!(
        page.contains("id=\"mentioned\"")
            && page.contains("/console/errors?q=carol%40example.com")
            && page.contains("1 waiting or failed change(s) mention it"),
        "{page}"
    );
    let nobody = console_page(
        &client,
        world.app.url("/console/people?q=nobody@example.com"),
        &cookie,
    )
    .await;
    assert!(!nobody.contains("id=\"mentioned\""), "{nobody}");
}

/// A person page's malformed id is a 400 naming it, as the API's timeline answers (it said "No
/// such person", a 404, as if the id were well formed); an unknown id stays a 404.
#[tokio::test]
async fn a_malformed_person_id_is_a_400_page() {
    let world = world().await;
    let client = console_client();
    let cookie = cookie_pair(&sign_in(&client, &world).await);
    for (id, status) in [("-1", 400), ("abc", 400), ("1.5", 400), ("99999", 404)] {
        let response = client
            .get(world.app.url(&format!("/console/people/{id}")))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{id}");
        let page = response.text().await.unwrap();
        if status == 400 {
            assert!(page.contains("whole number not below 0"), "{id}: {page}");
        }
    }
}

/// A removed member's CampaignMember id still finds its person once the mirror has forgotten
/// it: "what happened to member X" is asked after a removal.
#[tokio::test]
async fn a_deleted_members_id_still_finds_the_person() {
    let world = world().await;
    let (lead, sf_lead) = world.person("gone.member@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    let member = world.sf_member_id(&sf_lead).unwrap();
    let person = get(&world, &format!("/admin/people?q={member}")).await["items"][0]["id"].clone();
    assert!(person.is_number());
    world.sf.delete_member(crate::world::USER, &member).unwrap();
    world.sf.advance_clock(std::time::Duration::from_secs(120));
    let now = campaign_sync::store::now_millis();
    world
        .app
        .worker
        .poll_deleted_at(now + 120_000)
        .await
        .unwrap();
    world.settle().await;
    assert_eq!(world.mk_status(lead), None, "the removal reached Marketo");
    for q in [member.clone(), member[..15].to_string()] {
        let found = get(&world, &format!("/admin/people?q={q}")).await;
        assert_eq!(found["items"][0]["id"], person, "{q}: {found}");
    }
}
