//! What replicas share through the store, on both backends: the daily call count and pauses
//! (a restart or another replica sees today's calls and a pause), and each side's health as
//! the replica calling it saw it.

use campaign_sync::quota::Quota;
use campaign_sync::store::QuotaDay;

use crate::store::stores;

/// 2023-11-14, well inside a Marketo quota day.
const T0: i64 = 1_700_000_000_000;

#[tokio::test]
async fn reports_add_up_within_a_day_and_a_new_day_starts_afresh() {
    for (db, store) in stores().await {
        let day = |used, paused_until_ms, reason: Option<&str>| QuotaDay {
            day_ends_ms: T0 + 1_000,
            used,
            paused_until_ms,
            reason: reason.map(str::to_string),
            paused_at_ms: T0,
            lifted_at_ms: 0,
        };
        let first = store
            .share_quota_day("marketo", &day(3, 0, None))
            .await
            .unwrap();
        assert_eq!(first.used, 3, "{}", db.label);
        let paused = store
            .share_quota_day(
                "marketo",
                &day(4, T0 + 500, Some("607 Daily quota reached")),
            )
            .await
            .unwrap();
        assert_eq!(
            (
                paused.used,
                paused.paused_until_ms,
                paused.reason.as_deref()
            ),
            (7, T0 + 500, Some("607 Daily quota reached")),
            "{}",
            db.label
        );
        // Another replica, not paused itself, keeps the pause it finds.
        let other = store
            .share_quota_day("marketo", &day(0, 0, None))
            .await
            .unwrap();
        assert_eq!(
            (other.used, other.paused_until_ms),
            (7, T0 + 500),
            "{}",
            db.label
        );
        // The other side is its own row.
        let salesforce = store
            .share_quota_day("salesforce", &day(1, 0, None))
            .await
            .unwrap();
        assert_eq!(salesforce.used, 1, "{}", db.label);
        let next_day = QuotaDay {
            day_ends_ms: T0 + 86_400_000,
            ..day(2, 0, None)
        };
        let fresh = store.share_quota_day("marketo", &next_day).await.unwrap();
        assert_eq!(
            (fresh.day_ends_ms, fresh.used),
            (T0 + 86_400_000, 2),
            "{}",
            db.label
        );
    }
}

/// A process that stops after spending most of its budget, and one that starts after it on the
/// same database: the second sees the calls and the pause, so a restart grants no new budget.
#[tokio::test]
async fn a_restart_keeps_the_days_calls_and_the_pause() {
    for (db, store) in stores().await {
        let now = campaign_sync::store::now_millis();
        let before = Quota::default();
        before.marketo.set_budget(8);
        for _ in 0..8 {
            before.marketo.count(now);
        }
        assert!(before.marketo.admit(now).is_err(), "the budget is spent");
        let pause = before.marketo.paused(now).expect("paused until the reset");
        before.share(&store, now).await.unwrap();

        let after = Quota::default();
        after.marketo.set_budget(8);
        assert_eq!(after.marketo.used(now), 0, "a new process starts at 0");
        after.share(&store, now).await.unwrap();
        assert_eq!(after.marketo.used(now), 8, "{}", db.label);
        let adopted = after
            .marketo
            .paused(now)
            .expect("the pause holds after a restart");
        assert_eq!(adopted.until_ms, pause.until_ms, "{}", db.label);
        assert!(
            adopted.reason.contains("budget of 8"),
            "{}: {adopted:?}",
            db.label
        );
        assert!(after.marketo.admit(now).is_err(), "{}", db.label);
        assert_eq!(
            after.marketo.unannounced(now),
            None,
            "{}: subscribers heard of this pause from the run that met it",
            db.label
        );
        // Refused credentials pause this process only: a restart with a corrected secret tries
        // it at once.
        let refused = Quota::default();
        refused.salesforce.pause(
            now + 300_000,
            &format!(
                "{}HTTP 401: invalid_client",
                campaign_sync::connectors::CREDENTIALS_REFUSED
            ),
        );
        refused.share(&store, now).await.unwrap();
        let restarted = Quota::default();
        restarted.share(&store, now).await.unwrap();
        assert!(restarted.salesforce.paused(now).is_none(), "{}", db.label);
        // Calls made between shares are counted once: reported, then part of the total.
        after.salesforce.count(now);
        after.share(&store, now).await.unwrap();
        after.share(&store, now).await.unwrap();
        assert_eq!(after.salesforce.used(now), 1, "{}", db.label);
    }
}

/// A replica that has not called a side (a follower) shows what the replica calling it last
/// wrote down; one that has called it shows its own.
#[tokio::test]
async fn a_follower_shows_the_health_the_caller_wrote_down() {
    use campaign_sync::connectors::CallError;
    use campaign_sync::upstream::{Health, record, shown};
    for (db, store) in stores().await {
        let never_called = format!("https://follower-{}.example", db.label);
        assert_eq!(
            shown(&store, "marketo", &never_called).await,
            Health::default(),
            "{}: nothing written down yet",
            db.label
        );
        let leader_saw = Health {
            up: Some(false),
            consecutive_auth_failures: 2,
            failing_since: Some(T0),
            last_error: Some("credentials refused: HTTP 401".into()),
            last_error_at: Some(T0),
            last_call_at: Some(T0 + 1),
            ..Health::default()
        };
        store
            .save_upstream_health(
                "marketo",
                &serde_json::to_string(&leader_saw).unwrap(),
                T0 + 2,
            )
            .await
            .unwrap();
        assert_eq!(
            shown(&store, "marketo", &never_called).await,
            leader_saw,
            "{}",
            db.label
        );
        let caller = format!("https://caller-{}.example", db.label);
        record("marketo", &caller, &Ok::<(), CallError>(()));
        assert_eq!(
            shown(&store, "marketo", &caller).await.up,
            Some(true),
            "{}: its own calls win",
            db.label
        );
        // After a restart (or on a new leader) the process has seen no failure of its own: the
        // one written down before still says why the side failed, and when, also once this
        // process has written down what it saw.
        for _share in 0..2 {
            let after_restart = shown(&store, "marketo", &caller).await;
            assert_eq!(
                (after_restart.last_error, after_restart.last_error_at),
                (leader_saw.last_error.clone(), leader_saw.last_error_at),
                "{}",
                db.label
            );
            campaign_sync::upstream::share(&store, "marketo", &caller, &Quota::default().marketo)
                .await;
        }
        record(
            "marketo",
            &caller,
            &Err::<(), CallError>(CallError::Permanent("HTTP 400: bad value".into())),
        );
        assert_eq!(
            shown(&store, "marketo", &caller)
                .await
                .last_refusal
                .as_deref(),
            Some("HTTP 400: bad value"),
            "{}: its own refusal wins",
            db.label
        );
    }
}

/// A former leader still running (its database session was cut, another replica took the
/// worker over) neither shows nor writes back its own, older view of a side: the replica that
/// called the side last is what every replica shows.
#[tokio::test]
async fn a_former_leader_does_not_put_back_its_older_view() {
    use campaign_sync::connectors::CallError;
    use campaign_sync::upstream::{Health, record, share, shown};
    for (db, store) in stores().await {
        let former = format!("https://former-{}.example", db.label);
        record(
            "salesforce",
            &former,
            &Err::<(), CallError>(CallError::retry("HTTP 503")),
        );
        share(&store, "salesforce", &former, &Quota::default().salesforce).await;
        // The new leader calls the side later and finds it up.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let leader_saw = Health {
            up: Some(true),
            last_call_at: Some(campaign_sync::store::now_millis()),
            ..Health::default()
        };
        store
            .save_upstream_health(
                "salesforce",
                &serde_json::to_string(&leader_saw).unwrap(),
                campaign_sync::store::now_millis(),
            )
            .await
            .unwrap();
        assert_eq!(
            shown(&store, "salesforce", &former).await.up,
            Some(true),
            "{}: the newer view is shown",
            db.label
        );
        share(&store, "salesforce", &former, &Quota::default().salesforce).await;
        let (text, _) = store.upstream_health("salesforce").await.unwrap().unwrap();
        let kept: Health = serde_json::from_str(&text).unwrap();
        assert_eq!(kept, leader_saw, "{}: not overwritten", db.label);
    }
}

/// A pause an admin lifts ends on every replica, and a replica's report of the pause it met
/// before the lift does not bring it back; a pause met after the lift holds as any other.
#[tokio::test]
async fn a_lifted_pause_ends_on_every_replica_and_is_not_brought_back() {
    use campaign_sync::store::now_millis;
    let tick = || tokio::time::sleep(std::time::Duration::from_millis(5));
    for (db, store) in stores().await {
        let label = &db.label;
        let (leader, follower) = (Quota::default(), Quota::default());
        let until = now_millis() + 3_600_000;
        leader
            .marketo
            .pause(until, "Marketo 607: Daily quota reached");
        leader.share(&store, now_millis()).await.unwrap();
        follower.share(&store, now_millis()).await.unwrap();
        assert!(follower.marketo.paused(now_millis()).is_some(), "{label}");
        // Lifted through the follower, as the admin endpoint does.
        tick().await;
        let lifted_at = now_millis();
        store.lift_pause("marketo", lifted_at).await.unwrap();
        follower.marketo.end_pause(lifted_at);
        tick().await;
        // The leader reports the pause it met before the lift, and ends it itself.
        leader.share(&store, now_millis()).await.unwrap();
        assert!(leader.marketo.paused(now_millis()).is_none(), "{label}");
        assert!(
            leader.marketo.take_ended(now_millis()),
            "{label}: its changes come due"
        );
        follower.share(&store, now_millis()).await.unwrap();
        assert!(follower.marketo.paused(now_millis()).is_none(), "{label}");
        // A 607 met after the lift pauses again, on every replica.
        leader
            .marketo
            .pause(until, "Marketo 607: Daily quota reached");
        leader.share(&store, now_millis()).await.unwrap();
        follower.share(&store, now_millis()).await.unwrap();
        assert!(follower.marketo.paused(now_millis()).is_some(), "{label}");
    }
}

/// A replica from before lifts reports its pause without the time it met it: a side never
/// lifted still takes it.
#[tokio::test]
async fn a_pause_reported_without_its_time_is_taken_while_none_was_lifted() {
    for (db, store) in stores().await {
        // The row exists already (another replica's calls), so the pause updates it.
        store
            .share_quota_day("marketo", &QuotaDay::calls(T0 + 1_000, 1))
            .await
            .unwrap();
        let report = QuotaDay {
            paused_until_ms: T0 + 500,
            reason: Some("607 Daily quota reached".into()),
            ..QuotaDay::calls(T0 + 1_000, 1)
        };
        let shared = store.share_quota_day("marketo", &report).await.unwrap();
        assert_eq!(shared.paused_until_ms, T0 + 500, "{}", db.label);
    }
}

/// A pause for refused credentials stays the leader's own (a restart with a corrected secret
/// tries at once), yet every replica shows it: the leader writes it down with what it saw of
/// the side, the others show it from there while it lasts, and once it ends it is gone.
#[tokio::test]
async fn a_credentials_pause_the_leader_met_is_shown_by_every_replica() {
    use campaign_sync::connectors::{CREDENTIALS_REFUSED, CallError};
    use campaign_sync::store::now_millis;
    use campaign_sync::upstream::{record, share, shown};
    for (db, store) in stores().await {
        let label = &db.label;
        let (leader, follower) = (Quota::default(), Quota::default());
        let caller = format!("https://credentials-caller-{label}.example");
        let never_called = format!("https://credentials-follower-{label}.example");
        let refused = CallError::Permanent(format!("{CREDENTIALS_REFUSED}HTTP 401"));
        record("marketo", &caller, &Err::<(), CallError>(refused));
        let until = now_millis() + 300_000;
        let reason = format!("{CREDENTIALS_REFUSED}HTTP 401 (check marketo.client_id)");
        leader.marketo.pause(until, &reason);
        share(&store, "marketo", &caller, &leader.marketo).await;
        let seen = shown(&store, "marketo", &never_called).await;
        let pause = seen.credentials_pause_at(now_millis()).cloned();
        assert_eq!(
            pause.map(|p| (p.until_ms, p.reason)),
            Some((until, reason.clone())),
            "{label}: a follower shows it"
        );
        // Not taken on as the follower's own: its quota stays unpaused.
        leader.share(&store, now_millis()).await.unwrap();
        follower.share(&store, now_millis()).await.unwrap();
        assert!(follower.marketo.paused(now_millis()).is_none(), "{label}");
        // Once the leader's pause ends, the next share says so.
        leader.marketo.end_pause(now_millis());
        share(&store, "marketo", &caller, &leader.marketo).await;
        let seen = shown(&store, "marketo", &never_called).await;
        assert!(seen.credentials_pause_at(now_millis()).is_none(), "{label}");
    }
}
