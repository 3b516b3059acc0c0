//! Exactly one stored signal per delivery: by `webhook-id` when given, else by body per window.

use campaign_sync::http::inbound::marketo::render_program_member;

use super::{PATH, TOKEN, json, post, spawn, stored};

#[tokio::test]
async fn an_identical_unsigned_body_is_stored_once() {
    let app = spawn().await;
    let body = render_program_member(5, 1001, Some("c@example.com"), None);
    let first = json(post(&app, body.clone()).await).await;
    let second = json(post(&app, body).await).await;
    assert_eq!(first["duplicate"], false);
    assert_eq!(second["duplicate"], true);
    assert_eq!(first["id"], second["id"]);
    let signals = stored(&app).await;
    assert_eq!(signals.len(), 1);
    assert!(
        signals[0].dedup_key.starts_with("mkto:body:"),
        "{}",
        signals[0].dedup_key
    );
    // A different person is a different delivery (the first one is leased by now).
    post(&app, render_program_member(6, 1001, None, None)).await;
    let newer = stored(&app).await;
    assert_eq!(newer.len(), 1);
    assert_ne!(newer[0].id, signals[0].id);
}

#[tokio::test]
async fn a_webhook_id_dedups_whatever_the_body() {
    let app = spawn().await;
    for lead in [1, 2] {
        let response = app
            .client
            .post(app.url(PATH))
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("webhook-id", "msg_2Lp9")
            .body(render_program_member(lead, 1001, None, None))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    let signals = stored(&app).await;
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].dedup_key, "mkto:webhook:msg_2Lp9");
}

#[tokio::test]
async fn an_unusable_webhook_id_is_400() {
    let app = spawn().await;
    let response = app
        .client
        .post(app.url(PATH))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("webhook-id", "x".repeat(300))
        .body(render_program_member(1, 1001, None, None))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(json(response).await["error"]["field"], "webhook-id");
    assert!(stored(&app).await.is_empty());
}
