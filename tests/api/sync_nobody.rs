//! A change about someone who is a member on neither side and whom the sync never met (a
//! webhook for a lead the program lacks, a template's wrong id) is skipped saying so, and leaves
//! no state row listing them as synced with every status empty.

use crate::world::{PROGRAM, World};

#[tokio::test]
async fn a_webhook_for_a_lead_the_program_lacks_keeps_no_state() {
    let world = World::new().await;
    world
        .marketo_webhook(serde_json::json!({
            "leadId": 9999, "programId": PROGRAM, "email": "ghost@example.com",
        }))
        .await;
    world.settle().await;
    let skipped = world
        .outcomes(campaign_sync::kinds::OutcomeResult::Skipped)
        .await;
    assert!(
        skipped
            .iter()
            .any(|o| o.reason.as_deref() == Some(campaign_sync::sync::NOT_A_MEMBER)),
        "{skipped:?}"
    );
    let rows = world.app.store.mirror_rows("webinar").await.unwrap();
    assert_eq!(rows, [], "no state row for nobody");
}
