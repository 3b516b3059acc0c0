//! Unit tests of the reconcile command's text: each mapping's summary and the last line.

use super::*;

#[test]
fn a_preview_says_it_wrote_nothing_and_a_run_what_it_repaired() {
    let mut result = MappingResult {
        name: "webinar".into(),
        dry_run: true,
        linked: 4,
        differences: 2,
        refreshed: 0,
        repaired: 0,
        failed: 0,
        changes: Vec::new(),
        unrepaired: Vec::new(),
        warnings: Vec::new(),
        diverged: Vec::new(),
        settings: None,
        calls: Calls {
            salesforce: 1,
            marketo: 3,
        },
        read_at: 0,
    };
    assert_eq!(
        summary(&result),
        "mapping \"webinar\": 4 to link, 2 difference(s), nothing written (dry run); calls: \
         Salesforce 1, Marketo 3"
    );
    result.dry_run = false;
    result.repaired = 2;
    assert!(summary(&result).contains("2 difference(s), 2 repaired, 0 failed;"));
    result.refreshed = 1;
    assert!(
        summary(&result)
            .contains("2 difference(s) (1 in sync whose stored state was refreshed), 2 repaired"),
        "{}",
        summary(&result)
    );
}

#[test]
fn the_last_line_says_what_was_left_and_who_takes_it() {
    assert_eq!(
        ending(2, 0, 0, 0),
        "2 repair(s) not made; the service retries those left to retry, and the dead ones \
         wait for a replay (GET /admin/dead-letters)"
    );
    let unlisted = ending(0, 0, 0, 1);
    assert!(
        unlisted.starts_with("1 mapping(s) could not be reconciled (nothing of theirs")
            && !unlisted.contains("repair"),
        "{unlisted}"
    );
    assert!(ending(1, 0, 0, 1).contains("; 1 mapping(s)"));
    let held = ending(3, 2, 0, 0);
    assert!(
        held.starts_with("1 repair(s) not made;")
            && held.contains("; 2 repair(s) of held mappings wait until their statuses are fixed"),
        "{held}"
    );
    assert!(!ending(2, 2, 0, 0).contains("dead-letters"));
    let unchecked = ending(0, 0, 1, 0);
    assert!(
        unchecked.starts_with("1 mapping(s) had repairs queued")
            && !unchecked.contains("nothing of theirs"),
        "{unchecked}"
    );
}

#[test]
fn a_divergence_names_the_person_both_statuses_and_that_nothing_is_written() {
    let divergence = Divergence {
        person: "back@example.com".into(),
        marketo_lead_id: Some(5),
        salesforce_id: Some("00Q000000000001AAA".into()),
        salesforce_status: Some("Registered".into()),
        marketo_status: None,
    };
    assert_eq!(
        describe_divergence(&divergence),
        "back@example.com (Marketo lead 5, Salesforce 00Q000000000001AAA): Salesforce \
         \"Registered\", Marketo not a member; no write planned"
    );
}

#[test]
fn a_setting_names_the_field_what_salesforce_holds_and_what_the_pass_writes() {
    use serde_json::{Value, json};
    assert_eq!(
        describe_setting("ActualCost", &json!(1200.0), &json!(1500)),
        "campaign ActualCost 1200 → 1500 at serve's next settings pass (reconcile does not write \
         it)"
    );
    let empty = describe_setting("ActualCost", &Value::Null, &json!(650));
    assert!(empty.contains("ActualCost none → 650"), "{empty}");
    let kind = describe_setting("Type", &json!("Trade Show"), &json!("Tradeshow"));
    assert!(
        kind.starts_with("campaign Type \"Trade Show\" → \"Tradeshow\""),
        "{kind}"
    );
}
