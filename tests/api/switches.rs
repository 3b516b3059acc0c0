//! The configuration's switches against the run-time ones: `sync_enabled = false` and a
//! mapping's `enabled = false` keep writes off whatever is stored, and the admin API refuses to
//! turn them on (409) rather than appearing to.

use serde_json::Value;

use crate::admin_console::console_page;
use crate::world::{Options, World};

async fn admin(world: &World, path: &str) -> (u16, Value) {
    world.app.admin(reqwest::Method::POST, path, "admin").await
}

async fn listed(world: &World) -> Value {
    world
        .app
        .admin(reqwest::Method::GET, "/admin/mappings", "admin")
        .await
        .1
}

/// The one change waiting is listed as postponed, saying what holds it.
async fn waits_saying(world: &World, why: &str) {
    let waiting = world
        .app
        .admin(reqwest::Method::GET, "/admin/retrying", "admin")
        .await
        .1;
    let items = waiting["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{waiting}");
    assert_eq!(items[0]["state"], "postponed", "{waiting}");
    let error = items[0]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains(why), "{error}");
}

#[tokio::test]
async fn sync_off_in_the_configuration_writes_nothing_and_cannot_be_switched_on() {
    let world = World::with(Options {
        admin_token: Some("admin".into()),
        configure: |c| c.sync_enabled = false,
        ..Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("config-off@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(world.sf_member_status(&sf_lead), None, "nothing written");
    waits_saying(&world, "campaign sync is disabled in the configuration").await;
    let (status, body) = admin(&world, "/admin/sync/enable").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sync_enabled = false"),
        "{body}"
    );
    assert_eq!(listed(&world).await["syncEnabled"], false);
    // Switching off is still allowed (it changes nothing while the configuration holds it).
    assert_eq!(admin(&world, "/admin/sync/disable").await.0, 200);
    world.settle().await;
    assert_eq!(world.sf_member_status(&sf_lead), None);
    // A reconciliation would repair nothing: its job fails saying why.
    let (status, queued) = admin(&world, "/admin/reconcile").await;
    assert_eq!(status, 202, "{queued}");
    world.app.worker.run_jobs().await.unwrap();
    let (_, job) = world
        .app
        .admin(
            reqwest::Method::GET,
            queued["href"].as_str().unwrap(),
            "admin",
        )
        .await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .contains("sync_enabled = false"),
        "{job}"
    );
}

#[tokio::test]
async fn a_mapping_off_in_the_configuration_stays_off_whatever_switch_is_stored() {
    let world = World::with(Options {
        admin_token: Some("admin".into()),
        configure: |c| c.mappings[0].enabled = false,
        ..Options::default()
    })
    .await;
    // A switch stored while the configuration had it on (an earlier deployment's enable).
    world
        .app
        .store
        .set_switch("mapping:webinar", true, campaign_sync::store::now_millis())
        .await
        .unwrap();
    world
        .app
        .worker
        .mappings()
        .refresh(&world.app.store)
        .await
        .unwrap();
    let (lead, sf_lead) = world.person("mapping-off@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(world.sf_member_status(&sf_lead), None, "nothing written");
    waits_saying(
        &world,
        "mapping webinar is disabled in the configuration (enabled = false)",
    )
    .await;
    assert_eq!(listed(&world).await["items"][0]["enabled"], false);
    let (status, body) = admin(&world, "/admin/mappings/webinar/enable").await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("enabled = false"),
        "{body}"
    );
}

#[tokio::test]
async fn the_console_refuses_to_switch_on_what_the_configuration_holds_off() {
    use crate::admin_console::{TOKEN, console_client, cookie_pair, csrf_of, sign_in};
    let world = World::with(Options {
        admin_token: Some(TOKEN.into()),
        configure: |c| {
            c.sync_enabled = false;
            c.mappings[0].enabled = false;
        },
        ..Options::default()
    })
    .await;
    let client = console_client();
    let cookie = cookie_pair(&sign_in(&client, &world).await);
    let html = console_page(&client, world.app.url("/console/mappings"), &cookie).await;
    let csrf = csrf_of(&html);
    for (name, key) in [("webinar", "enabled = false"), ("", "sync_enabled = false")] {
        let answer = client
            .post(world.app.url("/console/mappings/switch"))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("name", name),
                ("action", "enable"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 409, "{name:?}");
        assert!(answer.text().await.unwrap().contains(key), "{name:?}");
    }
}

/// The job a reconciliation request queued, run to its end.
async fn reconcile_job(world: &World, query: &str) -> Value {
    let (status, queued) = admin(world, &format!("/admin/reconcile{query}")).await;
    assert_eq!(status, 202, "{queued}");
    world.app.worker.run_jobs().await.unwrap();
    let href = queued["href"].as_str().unwrap();
    world.app.admin(reqwest::Method::GET, href, "admin").await.1
}

/// Switched off at run time (the admin API or the console), a real reconciliation would repair
/// nothing: its job fails saying what is off and how to turn it on, as when the configuration
/// holds it off, instead of ending `done` with no report beside a preview listing changes.
#[tokio::test]
async fn a_reconciliation_while_switched_off_fails_saying_what_is_off() {
    let world = World::with(Options {
        admin_token: Some("admin".into()),
        ..Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("switched-off@example.com");
    assert_eq!(admin(&world, "/admin/sync/disable").await.0, 200);
    world.mk_sets(lead, "Registered");
    world.settle().await;

    let preview = reconcile_job(&world, "?dryRun=true").await;
    assert_eq!(preview["state"], "done", "{preview}");
    let real = reconcile_job(&world, "").await;
    assert_eq!(real["state"], "failed", "{real}");
    let error = real["error"].as_str().unwrap();
    assert!(
        error.contains("campaign sync is switched off") && error.contains("/admin/sync/enable"),
        "{real}"
    );

    assert_eq!(admin(&world, "/admin/sync/enable").await.0, 200);
    assert_eq!(
        admin(&world, "/admin/mappings/webinar/disable").await.0,
        200
    );
    let real = reconcile_job(&world, "").await;
    assert_eq!(real["state"], "failed", "{real}");
    assert!(
        real["error"]
            .as_str()
            .unwrap()
            .contains("every mapping is switched off"),
        "{real}"
    );
    assert_eq!(world.sf_member_status(&sf_lead), None, "nothing written");
}

/// An enabled mapping that syncs nothing says so where its switch is: with sync as a whole
/// off, on the mappings page and the overview; held, on the mappings page.
#[tokio::test]
async fn the_console_says_when_an_enabled_mapping_syncs_nothing() {
    use crate::admin_console::{TOKEN, console_client, cookie_pair, sign_in};
    let world = World::with(Options {
        admin_token: Some(TOKEN.into()),
        configure: |c| c.sync_enabled = false,
        incompatible_mapping: true,
        ..Options::default()
    })
    .await;
    world.app.worker.check_statuses().await;
    let client = console_client();
    let cookie = cookie_pair(&sign_in(&client, &world).await);
    let mappings = console_page(&client, world.app.url("/console/mappings"), &cookie).await;
    assert_eq!(
        mappings.matches("but sync as a whole is disabled").count(),
        2,
        "{mappings}"
    );
    let held = mappings
        .split("data-mapping=\"tradeshow\"")
        .nth(1)
        .unwrap_or_default();
    assert!(
        held.contains("class=\"bad held\">held</span>"),
        "{mappings}"
    );
    let overview = console_page(&client, world.app.url("/console"), &cookie).await;
    assert_eq!(overview.matches("sync-off").count(), 2, "{overview}");
}
