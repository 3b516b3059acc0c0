//! A reconciliation queued through the admin API says, each time it is read, how the repairs
//! it queued stand: done, waiting for the worker, or dead.

use crate::admin_console::{
    ADMIN_TOKEN as TOKEN, console_client, console_page, cookie_pair, sign_in,
};
use crate::world::{Options, World};

async fn repairs(world: &World, job: i64) -> serde_json::Value {
    let (status, job) = world
        .app
        .admin(reqwest::Method::GET, &format!("/admin/jobs/{job}"), TOKEN)
        .await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["state"], "done", "{job}");
    job["result"]["reports"][0]["repairs"].clone()
}

#[tokio::test]
async fn a_reconcile_job_reports_how_its_repairs_ended() {
    let world = World::with(Options {
        admin_token: Some(TOKEN.into()),
        ..Options::default()
    })
    .await;
    // Two members Salesforce never told the service about.
    for email in ["ada@example.com", "bo@example.com"] {
        let (_, sf_lead) = world.person(email);
        world.sf_adds_unheard(&sf_lead, "Registered");
    }
    let (status, queued) = world
        .app
        .admin(reqwest::Method::POST, "/admin/reconcile", TOKEN)
        .await;
    assert_eq!(status, 202, "{queued}");
    let job = queued["id"].as_i64().unwrap();
    assert_eq!(world.app.worker.run_jobs().await.unwrap(), 1);
    let (_, read) = world
        .app
        .admin(reqwest::Method::GET, &format!("/admin/jobs/{job}"), TOKEN)
        .await;
    assert_eq!(read["result"]["reports"][0]["signals_queued"], 2, "{read}");
    assert_eq!(
        repairs(&world, job).await,
        serde_json::json!({ "done": 0, "waiting": 2, "dead": 0 })
    );
    // Marketo refuses the writes until they die.
    world
        .mk_fault(serde_json::json!({ "error_code": "603" }))
        .await;
    world.settle().await;
    assert_eq!(
        repairs(&world, job).await,
        serde_json::json!({ "done": 0, "waiting": 0, "dead": 2 })
    );
    // One replayed once Marketo accepts again: done; the other stays dead.
    world.mk_faults_cleared().await;
    let dead = world.app.store.dead(0, 10).await.unwrap();
    let (status, replayed) = world
        .app
        .admin(
            reqwest::Method::POST,
            &format!("/admin/dead-letters/{}/replay", dead[0].id),
            TOKEN,
        )
        .await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(
        repairs(&world, job).await,
        serde_json::json!({ "done": 0, "waiting": 1, "dead": 1 })
    );
    world.settle().await;
    assert_eq!(
        repairs(&world, job).await,
        serde_json::json!({ "done": 1, "waiting": 0, "dead": 1 })
    );
    // The console's job line says the same.
    let client = console_client();
    let cookie = cookie_pair(&sign_in(&client, &world).await);
    let page = console_page(
        &client,
        world.app.url(&format!("/console/mappings?job={job}")),
        &cookie,
    )
    .await;
    assert!(
        page.contains("2 signal(s) queued (1 done, 0 waiting, 1 dead)"),
        "{page}"
    );
}
