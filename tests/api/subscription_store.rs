//! A subscription's stored state: resuming lifts the wait its subscriber asked for, and a
//! password in its URL is never shown.

use campaign_sync::store::now_millis;

/// Resuming a subscription lifts a wait its subscriber asked for, on both backends.
#[tokio::test]
async fn resuming_a_subscription_lifts_its_throttle() {
    for (db, store) in crate::store::stores().await {
        let now = now_millis();
        let types = vec!["added_to_program".to_string()];
        let sub = store
            .create_subscription("http://127.0.0.1:9/hook", &types, "whsec_x", now)
            .await
            .unwrap();
        store
            .throttle_subscription(sub.id, now + 3_600_000, now)
            .await
            .unwrap();
        assert!(
            store
                .set_subscription_paused(sub.id, Some("paused by a test"), now)
                .await
                .unwrap()
        );
        let paused = store.subscription(sub.id).await.unwrap().unwrap();
        assert!(
            paused.throttled_until.is_some(),
            "{}: pausing keeps it",
            db.label
        );
        assert!(
            store
                .set_subscription_paused(sub.id, None, now)
                .await
                .unwrap()
        );
        let resumed = store.subscription(sub.id).await.unwrap().unwrap();
        assert_eq!(resumed.throttled_until, None, "{}", db.label);
        assert!(
            !store
                .set_subscription_paused(sub.id + 1000, None, now)
                .await
                .unwrap()
        );
    }
}

/// A password in a subscription's URL (basic auth for the subscriber) is masked where the
/// subscription is shown; its deliveries still use it.
#[tokio::test]
async fn a_password_in_a_subscription_url_is_not_shown() {
    for (db, store) in crate::store::stores().await {
        let types = vec!["added_to_program".to_string()];
        let created = store
            .create_subscription(
                "http://hook:s3cret@127.0.0.1:9/hook",
                &types,
                "whsec_x",
                now_millis(),
            )
            .await
            .unwrap();
        assert_eq!(
            created.url, "http://hook:****@127.0.0.1:9/hook",
            "{}",
            db.label
        );
        let listed = store.subscriptions().await.unwrap();
        assert!(
            listed.iter().all(|s| !s.url.contains("s3cret")),
            "{}",
            db.label
        );
    }
}
