//! Program settings, one way: channel → campaign Type and summed period costs → ActualCost,
//! written only when different, against both simulators.

use serde_json::json;

use crate::world::{INTEGRATION, Options, USER, World};

fn campaign_field(world: &World, campaign: &str, field: &str) -> serde_json::Value {
    world
        .sf
        .campaign(campaign)
        .and_then(|c| c.get(field).cloned())
        .unwrap_or_default()
}

fn campaign_patches(world: &World) -> usize {
    world
        .sf
        .requests()
        .iter()
        .filter(|r| {
            r.client.as_deref() == Some(INTEGRATION)
                && r.method == "PATCH"
                && r.path.contains("/sobjects/Campaign/")
        })
        .count()
}

#[tokio::test]
async fn channel_and_costs_reach_the_campaign_and_salesforce_edits_are_set_back() {
    let world = World::new().await;
    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(
        campaign_field(&world, &world.campaign, "Type"),
        json!("Webinar")
    );
    assert_eq!(
        campaign_field(&world, &world.campaign, "ActualCost").as_f64(),
        Some(1200.0)
    );
    assert_eq!(campaign_patches(&world), 1);
    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(
        campaign_patches(&world),
        1,
        "nothing differs, nothing is written"
    );
    world
        .sf
        .update(USER, &world.campaign, json!({ "ActualCost": 5 }))
        .unwrap();
    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(
        campaign_field(&world, &world.campaign, "ActualCost").as_f64(),
        Some(1200.0),
        "set back, as Marketo does"
    );
    let outcomes = world.app.store.outcomes(None, 0, 10).await.unwrap();
    let reasons: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.action == campaign_sync::kinds::Action::CampaignSettings)
        .filter_map(|o| o.reason.as_deref())
        .collect();
    // Each says what its write sent, and only that.
    assert_eq!(
        reasons,
        ["Type=Webinar, ActualCost=1200", "ActualCost=1200"],
        "{outcomes:?}"
    );
}

/// An org whose campaign Type picklist is restricted and lacks the channel refuses the Type
/// (`INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`): the cost is still written, and the refusal is
/// recorded with what to do about it.
#[tokio::test]
async fn a_type_the_picklist_refuses_still_lets_the_cost_through_and_says_what_to_do() {
    let mut options = Options::default();
    options.sf.campaign_types = Some(vec!["Conference".into(), "Email".into()]);
    let world = World::with(options).await;
    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(
        campaign_field(&world, &world.campaign, "ActualCost").as_f64(),
        Some(1200.0)
    );
    assert_ne!(
        campaign_field(&world, &world.campaign, "Type"),
        json!("Webinar")
    );
    let outcomes = world.app.store.outcomes(None, 0, 10).await.unwrap();
    let refused: Vec<_> = outcomes
        .iter()
        .filter(|o| o.action == campaign_sync::kinds::Action::CampaignSettings)
        .collect();
    assert_eq!(refused.len(), 1, "{outcomes:?}");
    assert_eq!(refused[0].result, campaign_sync::kinds::OutcomeResult::Dead);
    let reason = refused[0].reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("bad value for restricted picklist field: Webinar")
            && reason.contains("ActualCost was written")
            && reason.contains("channel_type_map"),
        "{reason}"
    );
    // The next pass sends only the Type, which is refused again; the cost is not rewritten.
    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(campaign_patches(&world), 3);
}

/// A settings pass that failed stands in the overview's failed count and as the mapping's last
/// settings outcome until a later pass finds the campaign as the program wants it: then the
/// failure is over, though nothing had to be written.
#[tokio::test]
async fn a_failed_settings_pass_stops_counting_once_a_later_one_finds_the_campaign_in_sync() {
    let world = World::new().await;
    world.app.worker.sync_settings().await.unwrap();
    let patches = campaign_patches(&world);
    // Salesforce refuses the next two passes' read of the campaigns: one failure that
    // stands, counted once however many passes meet it.
    world
        .sf_fault(json!({ "http_status": 400, "calls": 2 }))
        .await;
    world.app.worker.sync_settings().await.unwrap();
    world.app.worker.sync_settings().await.unwrap();
    let failed = |counts: &campaign_sync::store::ChangeCounts| {
        counts
            .get("webinar")
            .and_then(|c| c.get("failed"))
            .copied()
            .unwrap_or(0)
    };
    let counts = world.app.store.change_counts(0).await.unwrap();
    assert_eq!(failed(&counts), 1, "{counts:?}");
    let last = world
        .app
        .store
        .last_settings_outcome("webinar")
        .await
        .unwrap();
    assert_eq!(last.map(|l| l.1).as_deref(), Some("dead"));
    // Recorded once: a dead-rate alert on `sync_outcomes_total` does not fire every pass.
    let dead = world
        .outcomes(campaign_sync::kinds::OutcomeResult::Dead)
        .await;
    assert_eq!(dead.len(), 1, "{dead:?}");

    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(campaign_patches(&world), patches, "nothing to write");
    let counts = world.app.store.change_counts(0).await.unwrap();
    assert_eq!(failed(&counts), 0, "{counts:?}");
    let (_, result, reason) = world
        .app
        .store
        .last_settings_outcome("webinar")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result, "applied");
    assert!(reason.unwrap_or_default().starts_with("in sync"));
    // In sync and known to be: later passes record nothing more.
    let before = world.app.store.outcomes(None, 0, 100).await.unwrap().len();
    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(
        world.app.store.outcomes(None, 0, 100).await.unwrap().len(),
        before
    );
}

/// A pass that meets an outage records nothing: it is no change skipped and none failed for
/// good, and the next pass writes what is due.
#[tokio::test]
async fn a_settings_pass_during_an_outage_is_no_outcome_and_the_next_writes() {
    let world = World::new().await;
    world
        .sf_fault(json!({ "http_status": 503, "calls": 1 }))
        .await;
    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(campaign_patches(&world), 0);
    let outcomes = world.app.store.outcomes(None, 0, 100).await.unwrap();
    assert!(outcomes.is_empty(), "{outcomes:?}");
    let counts = world.app.store.change_counts(0).await.unwrap();
    let webinar = counts.get("webinar").cloned().unwrap_or_default();
    assert_eq!(
        webinar.get("skipped").copied().unwrap_or(0),
        0,
        "{counts:?}"
    );
    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(campaign_patches(&world), 1);
    let last = world.app.store.last_settings_outcome("webinar").await;
    assert_eq!(last.unwrap().map(|l| l.1).as_deref(), Some("applied"));
}

/// A failed read is recorded against the system that failed, its reason saying what was being
/// read and in which mapping, as a failed write's says what was being written.
#[tokio::test]
async fn a_failed_settings_read_names_its_system_and_what_it_read() {
    use campaign_sync::kinds::{Action, Connector, OutcomeResult};
    let world = World::new().await;
    let program = world.config.mappings[0].program_id;
    world
        .mk_fault(json!({ "error_code": "603", "calls": 1 }))
        .await;
    world.app.worker.sync_settings().await.unwrap();
    let dead = world.outcomes(OutcomeResult::Dead).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].connector, Connector::Marketo, "{dead:?}");
    assert_eq!(dead[0].action, Action::CampaignSettings);
    let reason = dead[0].reason.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with(&format!(
            "reading the Marketo program {program} (mapping webinar): "
        )),
        "{reason}"
    );

    world.mk_faults_cleared().await;
    world
        .sf_fault(json!({ "http_status": 400, "calls": 1 }))
        .await;
    world.app.worker.sync_settings().await.unwrap();
    let dead = world.outcomes(OutcomeResult::Dead).await;
    let last = dead.iter().max_by_key(|o| o.id).unwrap();
    assert_eq!(last.connector, Connector::Salesforce, "{dead:?}");
    let reason = last.reason.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with(&format!(
            "reading the Salesforce campaign {} (mapping webinar): ",
            world.campaign
        )),
        "{reason}"
    );
}

/// A reconciliation previews the settings the next pass writes (the admin API's job reports
/// them as `reconcile` prints them), writes none, and the pass then writes exactly those.
#[tokio::test]
async fn a_reconcile_job_previews_the_settings_the_next_pass_writes() {
    use crate::admin_console::ADMIN_TOKEN as TOKEN;
    let world = World::with(Options {
        admin_token: Some(TOKEN.into()),
        ..Options::default()
    })
    .await;
    world
        .sf
        .update(USER, &world.campaign, json!({ "Type": "Seminar" }))
        .unwrap();
    let settings = |dry_run: bool| {
        let world = &world;
        async move {
            let path = format!("/admin/reconcile?dryRun={dry_run}");
            let (status, queued) = world.app.admin(reqwest::Method::POST, &path, TOKEN).await;
            assert_eq!(status, 202, "{queued}");
            assert_eq!(world.app.worker.run_jobs().await.unwrap(), 1);
            let job = format!("/admin/jobs/{}", queued["id"]);
            let (_, read) = world.app.admin(reqwest::Method::GET, &job, TOKEN).await;
            let report = read["result"]["reports"][0].clone();
            (report["settings"].clone(), report["warnings"].clone())
        }
    };
    let expected = json!([
        { "field": "Type", "from": "Seminar", "to": "Webinar" },
        { "field": "ActualCost", "from": null, "to": 1200 },
    ]);
    assert_eq!(settings(true).await.0, expected);
    assert_eq!(
        settings(false).await.0,
        expected,
        "a real run lists them too"
    );
    assert_eq!(campaign_patches(&world), 0, "and writes none");
    world.app.worker.sync_settings().await.unwrap();
    assert_eq!(
        (
            campaign_field(&world, &world.campaign, "Type"),
            campaign_field(&world, &world.campaign, "ActualCost").as_f64()
        ),
        (json!("Webinar"), Some(1200.0))
    );
    assert_eq!(settings(true).await.0, json!([]), "nothing left to write");
    // A campaign read refused for good leaves the settings unknown (null), not "none differ",
    // and the report says why; the members are reconciled all the same.
    world
        .sf_fault(json!({ "http_status": 400, "calls": 1 }))
        .await;
    let (unknown, warnings) = settings(true).await;
    assert_eq!(unknown, serde_json::Value::Null);
    assert!(
        warnings.as_array().unwrap().iter().any(|w| w
            .as_str()
            .unwrap()
            .starts_with("the campaign's settings (Type, ActualCost) were not compared: reading the Salesforce campaign ")),
        "{warnings}"
    );
}

/// Each full pass lists the channels again with the programs (the quota table's N + 1): a
/// status added to a channel is seen then, not only once a day.
#[tokio::test]
async fn each_full_settings_pass_lists_the_channels_again() {
    let world = World::with(Options {
        configure: |config| config.schedules.program_costs_full_secs = 1,
        ..Options::default()
    })
    .await;
    let listed = |world: &World| {
        world
            .mk
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/channels.json"))
            .count()
    };
    let pass = async || {
        world.app.worker.sync_settings().await.unwrap();
        world.app.worker.check_statuses().await;
    };
    pass().await;
    let before = listed(&world);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    pass().await;
    assert_eq!(
        listed(&world),
        before + 1,
        "listed again with the full pass"
    );
}
