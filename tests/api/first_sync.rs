//! A person the sync meets with their sides already apart (a cut-over from native sync): the
//! status stamped later is kept and the other is not written, named as a first sync's
//! difference, not as a change a conflict overruled (no one changed them since a sync), and not
//! counted among the overruled.

use campaign_sync::store::OutcomeResult;

use crate::world::{INTEGRATION, Options, World};

const TOKEN: &str = "first-sync-token";

#[tokio::test]
async fn sides_apart_at_the_first_sync_are_not_an_overruled_change() {
    let world = World::with(Options {
        webhooks: false,
        admin_token: Some(TOKEN.into()),
        ..Options::default()
    })
    .await;
    let (lead, sf_lead) = world.person("apart@example.com");
    world.mk_sets(lead, "Invited");
    // Later, and unheard: the integration user sends no outbound message.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    world
        .sf
        .add_member(INTEGRATION, &world.campaign, &sf_lead, Some("Attended"))
        .unwrap();
    let mapping = world.app.worker.mappings().all()[0].clone();
    world
        .app
        .worker
        .reconcile_mapping(&mapping, false)
        .await
        .unwrap();
    world.settle().await;
    assert_eq!(world.mk_status(lead).as_deref(), Some("Attended"));
    let skipped = world.outcomes(OutcomeResult::Skipped).await;
    let reasons: Vec<&str> = skipped.iter().filter_map(|o| o.reason.as_deref()).collect();
    assert!(
        reasons.iter().any(|r| r.starts_with(
            "differed at the first sync: Salesforce change to \"Attended\" wins over this \
             Marketo change to \"Invited\""
        )),
        "{reasons:?}"
    );
    assert!(
        !reasons.iter().any(|r| r.starts_with("overruled")),
        "{reasons:?}"
    );
    let (_, status) = world
        .app
        .admin(reqwest::Method::GET, "/admin/status", TOKEN)
        .await;
    assert_eq!(
        status["mappings"][0]["changes"]["lastHour"]["overruled"], 0,
        "{status}"
    );
}
