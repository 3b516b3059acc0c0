//! A mapping whose statuses do not match, met by the `reconcile` command: held before its
//! repairs are tried (the dry run says so too, storing nothing), its waiting repairs named and
//! the command failing on every run while held, and released by the run after the fix.

use super::sims::simulators;

/// The mapping's first line's warnings, joined.
fn warnings(line: &serde_json::Value) -> String {
    line["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn stored_holds(sims: &super::sims::Sims) -> i64 {
    let db = rusqlite::Connection::open(&sims.db).expect("the service's database");
    db.query_row(
        "SELECT count(*) FROM mapping_problems WHERE problems <> '[]'",
        [],
        |row| row.get(0),
    )
    .expect("mapping_problems")
}

#[tokio::test]
async fn a_mapping_held_for_its_statuses_is_told_by_every_run_until_fixed() {
    let sims = simulators(4).await;
    // Adopted first; then a campaign status the program's channel does not have is used.
    let (ok, _, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    let responded = sims.add_campaign_status("Responded").await;
    sims.set_in_salesforce(1, "Responded").await;

    let (ok, dry, stderr) = sims.reconcile(&["--dry-run"]).await;
    assert!(ok, "a dry run repairs nothing, so nothing fails: {stderr}");
    assert!(
        warnings(&dry[0]).contains("the mapping is held")
            && warnings(&dry[0]).contains("Responded"),
        "{}",
        dry[0]
    );
    assert_eq!(stored_holds(&sims), 0, "a dry run stores no hold");

    for run in 1..=2 {
        let (ok, lines, stderr) = sims.reconcile(&[]).await;
        assert!(
            !ok,
            "run {run}: a held mapping's repairs are not made: {lines:?}"
        );
        let unrepaired = lines[0]["unrepaired"].as_array().unwrap();
        assert_eq!(
            (unrepaired.len(), lines[0]["failed"].as_u64()),
            (1, Some(1)),
            "run {run}: {}",
            lines[0]
        );
        assert_eq!(unrepaired[0]["to"], "Responded", "{}", lines[0]);
        assert!(
            stderr.contains("not repaired: ")
                && stderr
                    .contains("1 repair(s) of held mappings wait until their statuses are fixed"),
            "run {run}: {stderr}"
        );
        assert!(
            warnings(&lines[0]).contains("the mapping is held"),
            "{}",
            lines[0]
        );
    }
    assert_eq!(sims.writes().await, (0, 0), "nothing written while held");

    // The admin moves the member on and deletes the status: the next run releases the mapping
    // and repairs the change, as `serve` would.
    sims.set_in_salesforce(1, "Attended").await;
    sims.delete_campaign_status(&responded).await;
    let (ok, lines, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{lines:?} {stderr}");
    assert!(!warnings(&lines[0]).contains("held"), "{}", lines[0]);
    assert_eq!(lines[0]["repaired"], 1, "{}", lines[0]);
    assert_eq!(sims.marketo_status(1).await.as_deref(), Some("Attended"));
    assert_eq!(stored_holds(&sims), 0);
}
