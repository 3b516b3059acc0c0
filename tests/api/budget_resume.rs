//! A pause for this service's own daily call budget, asked to be lifted while the budget is
//! still used up: refused with a 409 naming the budget and the ways out, the pause kept (it
//! answered 200 "wasPaused" and the next call paused the side again); lifted once the budget
//! is raised.

use campaign_sync::store::now_millis;

#[tokio::test]
async fn a_spent_budget_pause_is_not_lifted_and_says_how_to_end_it() {
    let world = crate::admin_console::world().await;
    let marketo = &world.app.worker.quota().marketo;
    marketo.set_budget(3);
    let now = now_millis();
    for _ in 0..3 {
        marketo.count(now);
    }
    assert!(marketo.admit(now).is_err(), "the budget is spent: paused");
    let resume = || {
        world
            .app
            .client
            .post(world.app.url("/admin/upstreams/marketo/resume"))
            .bearer_auth(crate::admin_console::ADMIN_TOKEN)
            .send()
    };
    let answer = resume().await.unwrap();
    assert_eq!(answer.status(), 409);
    let body: serde_json::Value = answer.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("the marketo daily call budget of 3 is still used up")
            && message.contains("raise marketo.daily_call_budget"),
        "{body}"
    );
    assert!(marketo.paused(now_millis()).is_some(), "the pause is kept");

    marketo.set_budget(100);
    let answer = resume().await.unwrap();
    assert_eq!(answer.status(), 200);
    let said: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(said["wasPaused"], true, "{said}");
    assert!(marketo.paused(now_millis()).is_none());
}
