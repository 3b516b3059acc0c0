//! The sync worker under failure: expired tokens and transient faults retried until they
//! converge, and permanent refusals ending dead with their reason, replayed once fixed.

use campaign_sync::store::{OutcomeResult, now_millis};

use crate::admin_console::console_page;
use crate::store::member_of;
use crate::sync_edges::reasons;
use crate::world::{USER, World};

#[tokio::test]
async fn expired_tokens_and_transient_faults_are_retried_and_converge() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("faults@example.com");
    world.mk_sets(lead, "Invited");
    world.settle().await;
    world.sf.expire_tokens();
    world.mk.expire_tokens();
    world.mk.inject_faults(&["713", "604"]).unwrap();
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered")
    );
    world.sf.revoke_tokens();
    let member = world.sf_member_id(&sf_lead).unwrap();
    world.sf.update_member(USER, &member, "Attended").unwrap();
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    assert!(world.app.store.dead(0, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_permanent_error_ends_dead_with_its_reason_and_replays_once_fixed() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("dead@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    // A validation rule refuses the member's change; Marketo then moves the person.
    world.refuse_member_writes().await;
    world.mk_sets(lead, "No Show");
    world.settle().await;
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    let error = dead[0].last_error.as_deref().unwrap();
    assert!(
        error.contains("FIELD_CUSTOM_VALIDATION_EXCEPTION") && error.contains("No Show"),
        "{dead:?}"
    );
    assert!(!reasons(&world, OutcomeResult::Dead).await.is_empty());
    // Fixed: the rule lets the change through. Replay through the admin API.
    world.accept_member_writes().await;
    let replayed = world
        .app
        .store
        .replay(dead[0].id, now_millis())
        .await
        .unwrap();
    assert!(replayed);
    world.settle().await;
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("No Show"));
}

/// Someone removes a member status from the campaign, and Marketo moves a person there before
/// the next settings pass: Salesforce refuses the status, the mapping's statuses are checked at
/// once and it is held, and the change waits for the fix instead of ending dead.
#[tokio::test]
async fn a_status_the_campaign_no_longer_offers_holds_the_mapping_and_the_change_waits() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("held@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    world.remove_no_show();
    world.mk_sets(lead, "No Show");
    world.settle().await;

    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert!(dead.is_empty(), "{dead:?}");
    let mapping = world
        .app
        .worker
        .mappings()
        .by_name("webinar")
        .unwrap()
        .clone();
    assert!(mapping.is_held(), "held at once");
    assert!(
        mapping.problems().iter().any(|p| p.contains("No Show")),
        "{:?}",
        mapping.problems()
    );
    let waiting = in_state(&world, "postponed").await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    // Fixed: the status is back; the next check releases the mapping and the change lands.
    world.restore_no_show();
    world.app.worker.check_statuses().await;
    world.settle().await;
    assert_eq!(world.sf_member_status(&sf_lead).as_deref(), Some("No Show"));
    assert!(world.app.store.dead(0, 10).await.unwrap().is_empty());
}

/// The failing signals in one state, as the errors list shows them.
pub(crate) async fn in_state(
    world: &World,
    state: &str,
) -> Vec<campaign_sync::store::FailingSignal> {
    let filter = campaign_sync::store::FailingFilter {
        state: Some(state.into()),
        text: None,
        before: None,
        limit: 10,
        scopes: Vec::new(),
    };
    world.app.store.failing(&filter).await.unwrap()
}

/// Marketo's 603 (the API user's role lacks a permission, or its address is not allowed) cannot
/// be retried away: the change ends dead naming it, and replays once the role is fixed.
#[tokio::test]
async fn access_denied_by_marketo_ends_dead_naming_it_and_replays_once_fixed() {
    let world = World::new().await;
    let (lead, sf_lead) = world.person("denied@example.com");
    world
        .mk_fault(serde_json::json!({ "error_code": "603" }))
        .await;
    world.sf_adds(&sf_lead, Some("Invited"));
    world.settle().await;
    let dead = world.app.store.dead(0, 10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let error = dead[0].last_error.as_deref().unwrap();
    assert!(
        error.contains("603") && error.contains("Access denied"),
        "{error}"
    );
    assert_eq!(world.mk_status(lead), None);
    // Marketo answered, so it is up; the refusal is kept for the operator to see.
    let seen = campaign_sync::upstream::health("marketo", &world.mk.base_url());
    assert_eq!(seen.up, Some(true), "{seen:?}");
    assert!(
        seen.last_refusal
            .as_deref()
            .is_some_and(|r| r.contains("603")),
        "{seen:?}"
    );
    // The role is fixed.
    world.mk_faults_cleared().await;
    assert!(
        world
            .app
            .store
            .replay(dead[0].id, now_millis())
            .await
            .unwrap()
    );
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Invited"));
}

/// A dead signal from the activity feed names only the Marketo lead, yet its row shows the
/// person's e-mail and Salesforce ids: searching by any of them finds it, and a replay by that
/// filter takes it.
#[tokio::test]
async fn a_dead_feed_signal_is_found_by_the_email_and_ids_its_row_shows() {
    feed_signal_found_by_its_person(None).await;
    if let Some(db) = crate::test_app::TestDb::postgres().await {
        feed_signal_found_by_its_person(Some(db)).await;
    }
}

async fn feed_signal_found_by_its_person(db: Option<crate::test_app::TestDb>) {
    use campaign_sync::signal::{MarketoMember, NewSignal, Signal};
    use campaign_sync::store::FailingFilter;

    let world = World::with(crate::world::Options {
        admin_token: Some("admin".into()),
        db,
        ..crate::world::Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("Katherine@Example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    world.refuse_member_writes().await;
    // Marketo moves the person; the change arrives by the feed (no e-mail), not the webhook.
    world.mk_sets(lead, "No Show");
    let id = world
        .app
        .store
        .record(
            vec![NewSignal::new(
                "feed:katherine",
                Signal::MarketoMember(MarketoMember {
                    lead_id: lead,
                    program_id: crate::world::PROGRAM,
                    email: None,
                    status: None,
                    trigger: None,
                }),
            )],
            now_millis(),
        )
        .await
        .unwrap()[0]
        .id;
    world.app.worker.run_pending().await.unwrap();
    let member = world.sf_member_id(&sf_lead).unwrap();
    let search = |text: &str| {
        let filter = FailingFilter {
            state: Some("dead".into()),
            text: Some(text.into()),
            before: None,
            limit: 100,
            scopes: Vec::new(),
        };
        let store = world.app.store.clone();
        async move { store.failing(&filter).await.unwrap() }
    };
    let shown = search("No Show").await;
    assert_eq!(shown.iter().map(|s| s.id).collect::<Vec<_>>(), [id]);
    assert_eq!(shown[0].email.as_deref(), Some("katherine@example.com"));
    for text in ["katherine", "KATHERINE@example.com", &sf_lead, &member] {
        let found: Vec<i64> = search(text).await.iter().map(|s| s.id).collect();
        assert_eq!(found, [id], "{text}");
    }
    assert!(search("nobody@example.com").await.is_empty());
    let replayed = world
        .app
        .client
        .post(world.app.url("/admin/dead-letters/replay"))
        .bearer_auth("admin")
        .json(&serde_json::json!({ "filter": "katherine" }))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(replayed["replayed"], serde_json::json!([id]), "{replayed}");
}

/// Marketo's daily quota pauses the side until its reset; once the quota is raised, an admin
/// lifts the pause and the change that waited syncs.
#[tokio::test]
async fn an_admin_lifts_a_quota_pause_and_the_waiting_change_syncs() {
    let world = World::with(crate::world::Options {
        admin_token: Some(crate::admin_console::ADMIN_TOKEN.into()),
        ..crate::world::Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("lifted@example.com");
    world
        .mk_fault(serde_json::json!({ "error_code": "607", "calls": 1 }))
        .await;
    world.mk_sets(lead, "Registered");
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead),
        None,
        "waits for the reset"
    );
    let marketo = world.app.worker.marketo().quota();
    assert!(marketo.paused(now_millis()).is_some());
    // The console shows the pause, why, and offers to lift it.
    let console = crate::admin_console::console_client();
    let cookie =
        crate::admin_console::cookie_pair(&crate::admin_console::sign_in(&console, &world).await);
    let page = console_page(&console, world.app.url("/console"), &cookie).await;
    assert!(
        page.contains("Lift the pause") && page.contains("607"),
        "{page}"
    );
    // Its state says paused, not good.
    assert!(
        page.contains("<td class=\"bad\">paused: reachable, not called</td>"),
        "{page}"
    );

    let admin = |path: &str| {
        world
            .app
            .client
            .post(world.app.url(path))
            .bearer_auth(crate::admin_console::ADMIN_TOKEN)
            .send()
    };
    let answer = admin("/admin/upstreams/marketo/resume").await.unwrap();
    assert_eq!(answer.status(), 200);
    let said: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(said["wasPaused"], true, "{said}");
    assert!(
        said["reason"].as_str().unwrap_or_default().contains("607"),
        "{said}"
    );
    assert!(marketo.paused(now_millis()).is_none());
    world.settle().await;
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Registered"),
        "the change that waited syncs"
    );
    let again: serde_json::Value = admin("/admin/upstreams/marketo/resume")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["wasPaused"], false, "{again}");
    assert_eq!(
        admin("/admin/upstreams/hubspot/resume")
            .await
            .unwrap()
            .status(),
        404
    );
}

/// A change that failed and waits to retry lands meanwhile through another signal (the feed
/// after the webhook): the waiting signal is made due and settles at once, instead of being
/// listed `retrying` until its next try.
#[tokio::test]
async fn a_retrying_signal_settles_once_its_change_lands_through_another() {
    // Retries an hour apart: the first failure waits.
    let world = World::with(crate::world::Options {
        configure: |c| c.worker.retry_schedule_secs = vec![3600; 3],
        ..crate::world::Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("twice@example.com");
    world.mk_sets(lead, "Registered");
    world.settle().await;
    world.mk_sets(lead, "Attended");
    let signal = |key: &str| member_of(lead, crate::world::PROGRAM, key);
    world
        .sf_fault(serde_json::json!({ "http_status": 503, "calls": 1000 }))
        .await;
    let first = world
        .app
        .store
        .record(vec![signal("webhook:twice")], now_millis())
        .await
        .unwrap()[0]
        .id;
    world.app.worker.run_pending().await.unwrap();
    let (state, attempts, _) = world.app.store.signal_state(first).await.unwrap().unwrap();
    assert_eq!((state.as_str(), attempts), ("pending", 1), "retrying");
    // Salesforce is back; the same change comes again by another way and lands.
    world.sf_faults_cleared().await;
    world
        .app
        .store
        .record(vec![signal("feed:twice")], now_millis())
        .await
        .unwrap();
    world.app.worker.run_pending().await.unwrap();
    assert_eq!(
        world.sf_member_status(&sf_lead).as_deref(),
        Some("Attended")
    );
    let (state, _, _) = world.app.store.signal_state(first).await.unwrap().unwrap();
    assert_eq!(
        state, "done",
        "the waiting signal settled as soon as the change landed"
    );
}
