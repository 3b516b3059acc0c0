//! Rotating a subscription's signing secret in the store, on SQLite and PostgreSQL: the replaced
//! secret goes with deliveries until its overlap ends, and a console form rotates once.

use campaign_sync::kinds::TriggerKind;
use campaign_sync::store::{Journal, TO_SUBSCRIPTION, now_millis};

use crate::outbox_store::event;

/// A rotation's replaced secret goes with each delivery until its overlap ends, on every backend.
#[tokio::test]
async fn a_rotated_secret_goes_with_deliveries_until_its_overlap_ends() {
    for (db, store) in crate::store::stores().await {
        let now = now_millis();
        let types = vec!["added_to_program".to_string()];
        let sub = store
            .create_subscription("http://127.0.0.1:9/hook", &types, "whsec_old", now)
            .await
            .unwrap();
        let label = &db.label;
        let journal = Journal {
            events: vec![event("1", TriggerKind::AddedToProgram, "Invited")],
            ..Journal::default()
        };
        store.commit_journal("me", &journal, now).await.unwrap();
        let head = |at: i64| {
            let store = store.clone();
            async move {
                let claimed = store.claim_deliveries(at, 1, 100).await.unwrap();
                let delivery = claimed
                    .into_iter()
                    .find(|d| d.destination == TO_SUBSCRIPTION)
                    .expect("the delivery");
                (delivery.secret, delivery.previous_secret)
            }
        };
        assert!(
            store
                .rotate_subscription_secret(sub.id, "whsec_new", Some(now + 60_000), now)
                .await
                .unwrap()
        );
        assert_eq!(
            head(now).await,
            (Some("whsec_new".into()), Some("whsec_old".into())),
            "{label}"
        );
        let listed = store.subscription(sub.id).await.unwrap().unwrap();
        assert_eq!(listed.previous_secret_until, Some(now + 60_000), "{label}");
        // Each claim's lease of 1 ms has run out by the next.
        assert_eq!(
            head(now + 60_000).await,
            (Some("whsec_new".into()), None),
            "{label}: the overlap is over"
        );
        assert!(
            store
                .rotate_subscription_secret(sub.id, "whsec_newer", None, now)
                .await
                .unwrap()
        );
        assert_eq!(
            head(now + 120_000).await,
            (Some("whsec_newer".into()), None),
            "{label}: no overlap kept"
        );
        assert!(
            !store
                .rotate_subscription_secret(sub.id + 1000, "whsec_x", None, now)
                .await
                .unwrap(),
            "{label}"
        );
    }
}

/// A console form's rotation happens once: sent again it answers the secret it set, until
/// another rotation replaces it; on every backend.
#[tokio::test]
async fn a_forms_rotation_happens_once() {
    use campaign_sync::store::Rotation;
    for (db, store) in crate::store::stores().await {
        let now = now_millis();
        let types = vec!["added_to_program".to_string()];
        let sub = store
            .create_subscription("http://127.0.0.1:9/hook", &types, "whsec_old", now)
            .await
            .unwrap();
        let label = &db.label;
        let until = now + 60_000;
        let rotate = |secret: &'static str, form: &'static str| {
            let store = store.clone();
            async move {
                store
                    .rotate_subscription_secret_once(sub.id, secret, until, form, now)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            rotate("whsec_a", "form-1").await,
            Rotation::Rotated,
            "{label}"
        );
        let already = Rotation::Already {
            secret: "whsec_a".into(),
            previous_until: Some(until),
        };
        assert_eq!(rotate("whsec_b", "form-1").await, already, "{label}");
        assert_eq!(
            rotate("whsec_c", "form-2").await,
            Rotation::Rotated,
            "{label}"
        );
        // A rotation through the API forgets the form: sent again, it rotates.
        store
            .rotate_subscription_secret(sub.id, "whsec_d", None, now)
            .await
            .unwrap();
        assert_eq!(
            rotate("whsec_e", "form-2").await,
            Rotation::Rotated,
            "{label}"
        );
        let missing = store
            .rotate_subscription_secret_once(sub.id + 1000, "whsec_x", until, "form-1", now)
            .await
            .unwrap();
        assert_eq!(missing, Rotation::Missing, "{label}");
    }
}
