//! `GET /admin/dead-letters?q=`: the dead letters searched as the errors list searches them, by
//! text in the change or its reason, or by a person's e-mail or ids; refused empty, and beside
//! the oldest-first feed.

use crate::admin_console::{TOKEN, get, world};

#[tokio::test]
async fn dead_letters_are_found_by_a_persons_address_id_or_the_reason() {
    let world = world().await;
    world.refuse_member_writes().await;
    let (ada, _) = world.person("ada@example.com");
    let (bob, _) = world.person("bob@example.com");
    world.mk_sets(ada, "Registered");
    world.mk_sets(bob, "Registered");
    world.settle().await;
    let all = get(&world, "/admin/dead-letters").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");

    let found = |body: &serde_json::Value| -> Vec<i64> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["payload"]["lead_id"].as_i64().unwrap())
            .collect()
    };
    let by_address = get(&world, "/admin/dead-letters?q=ADA@example.com").await;
    assert_eq!(found(&by_address), [ada], "{by_address}");
    let by_lead = get(&world, &format!("/admin/dead-letters?q={bob}")).await;
    assert_eq!(found(&by_lead), [bob], "{by_lead}");
    let by_reason = get(&world, "/admin/dead-letters?q=validation&limit=1").await;
    assert_eq!(
        by_reason["items"].as_array().unwrap().len(),
        1,
        "{by_reason}"
    );
    assert!(
        by_reason["next_before"].is_i64(),
        "a full page: {by_reason}"
    );

    for refused in [
        "/admin/dead-letters?q=",
        "/admin/dead-letters?q=ada&after=0",
    ] {
        let (status, body) = world.app.admin(reqwest::Method::GET, refused, TOKEN).await;
        assert_eq!(status, 400, "{refused}: {body}");
        assert_eq!(body["error"]["field"], "q", "{refused}: {body}");
    }
}
