//! Taking over from Marketo's native sync, as an operator does it: `campaign-sync simulators`
//! (people already members on both sides, linked by Marketo), then `reconcile` on a fresh
//! database: it links everyone and writes nothing; a second run finds nothing; statuses changed
//! in Salesforce are listed exactly by `--dry-run` and repaired exactly by the real run.

use serde_json::json;

mod created;
mod feeds;
mod held;
mod left_waiting;
mod settings;
mod sims;

use crate::simulators::{BIN, json};
use sims::{Sims, simulators, simulators_with};

#[tokio::test]
async fn a_fresh_database_adopts_native_sync_data_without_writing_and_repairs_exactly_what_differs()
{
    let people = 6;
    let sims = simulators(people).await;
    let mappings = sims.d["mappings"].as_array().unwrap().len();

    let (ok, first, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    assert_eq!(first.len(), mappings, "{first:?}");
    for line in &first {
        assert_eq!(line["linked"], people, "{line}");
        assert_eq!(line["differences"], 0, "{line}");
        assert_eq!(line["changes"], json!([]), "{line}");
        assert_eq!(line["failed"], 0, "{line}");
        assert!(line["calls"]["salesforce"].as_u64().unwrap() > 0, "{line}");
    }
    assert_eq!(sims.writes().await, (0, 0), "adopting writes nothing");
    // Its calls count against the day's shared budget, as a serve replica's do.
    let made: u64 = first
        .iter()
        .map(|l| l["calls"]["marketo"].as_u64().unwrap())
        .sum();
    let store = campaign_sync::store::Store::connect(&format!("sqlite://{}", sims.db.display()))
        .await
        .unwrap();
    let quota = campaign_sync::quota::Quota::default();
    let now = campaign_sync::store::now_millis();
    quota.share(&store, now).await.unwrap();
    assert!(
        made > 0 && quota.marketo.used(now) >= made,
        "{} of {made} Marketo calls counted",
        quota.marketo.used(now)
    );
    store.close().await;

    let (ok, second, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    for line in &second {
        assert_eq!(
            (line["linked"].as_u64(), line["differences"].as_u64()),
            (Some(0), Some(0)),
            "{line}"
        );
    }
    assert_eq!(sims.writes().await, (0, 0), "a second run only reads");

    // Two people's statuses change in Salesforce only (their outbound messages never arrive).
    sims.set_in_salesforce(1, "Registered").await;
    sims.set_in_salesforce(4, "Attended").await;
    let (ok, dry, stderr) = sims.reconcile(&["--dry-run"]).await;
    assert!(ok, "{stderr}");
    let changes = dry[0]["changes"].as_array().unwrap();
    let mut listed: Vec<(i64, &str, &str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c["marketo_lead_id"].as_i64().unwrap(),
                c["side"].as_str().unwrap(),
                c["from"].as_str().unwrap(),
                c["to"].as_str().unwrap(),
            )
        })
        .collect();
    listed.sort();
    let lead = |i: usize| sims.d["people"][i]["marketo_lead_id"].as_i64().unwrap();
    let first_status = sims.marketo_status(1).await.expect("a member");
    assert_eq!(
        listed,
        vec![
            (lead(1), "marketo", first_status.as_str(), "Registered"),
            (lead(4), "marketo", first_status.as_str(), "Attended"),
        ]
    );
    assert_eq!(
        dry[1]["changes"],
        json!([]),
        "the other mapping is untouched"
    );
    assert_eq!(sims.writes().await, (0, 0), "a dry run writes nothing");

    let (ok, real, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    assert_eq!(
        real[0]["changes"], dry[0]["changes"],
        "the run does what the dry run listed"
    );
    assert_eq!(
        (real[0]["repaired"].as_u64(), real[0]["failed"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(sims.marketo_status(1).await.as_deref(), Some("Registered"));
    assert_eq!(sims.marketo_status(4).await.as_deref(), Some("Attended"));
    let (sf_writes, mk_writes) = sims.writes().await;
    assert_eq!(sf_writes, 0, "nothing to write in Salesforce");
    assert!(mk_writes >= 1, "the two status changes were written");
    let (ok, last, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    assert_eq!(last[0]["differences"], 0, "{:?}", last[0]);
}

/// Native sync left one member's statuses apart: the first reconciliation (no mirror yet)
/// repairs it, and its trigger event says the member's status changed, from what the written
/// side showed, rather than that they were added (which would fire marketers' "Added to"
/// triggers for a member of long standing).
#[tokio::test]
async fn a_first_reconciliation_records_a_repair_as_a_status_change() {
    let sims = simulators(2).await;
    let before = sims.marketo_status(1).await.expect("a member");
    assert_ne!(before, "Attended");
    sims.set_in_salesforce(1, "Attended").await;
    let (ok, lines, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    assert_eq!(lines[0]["repaired"], 1, "{:?}", lines[0]);
    assert_eq!(sims.marketo_status(1).await.as_deref(), Some("Attended"));
    assert_eq!(
        sims.trigger_events(),
        [(
            "program_status_changed".to_string(),
            Some(before),
            Some("Attended".to_string())
        )]
    );
}

async fn check_config(sims: &Sims, online: bool) -> (Option<i32>, String) {
    let mut command = tokio::process::Command::new(BIN);
    command
        .arg("check-config")
        .arg("--config")
        .arg(&sims.config);
    if online {
        command.arg("--online");
    }
    let out = command.output().await.expect("check-config");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[tokio::test]
async fn a_many_to_one_status_map_is_refused_until_its_reverse_is_chosen() {
    // Two Marketo statuses onto one label: refused offline, naming mapping and statuses.
    let explicit =
        "status_map = { \"Attended On-demand\" = \"Attended\", \"No Show\" = \"Attended\" }\n";
    let sims = simulators_with(1, explicit).await;
    let (code, text) = check_config(&sims, false).await;
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("\"Attended On-demand\" and \"No Show\" both map to Salesforce \"Attended\""),
        "{text}"
    );
    assert!(text.contains("mapping \"webinar\""), "{text}");

    // The README's old example: one entry, but the channel also has "Attended" (which maps to
    // itself), so a Salesforce user's Attended would have become Attended On-demand.
    let implicit = "status_map = { \"Attended On-demand\" = \"Attended\" }\n";
    let sims = simulators_with(1, implicit).await;
    let (code, text) = check_config(&sims, true).await;
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("\"Attended\" and \"Attended On-demand\" both map"),
        "{text}"
    );

    // With the reverse chosen, the ambiguity is gone; what is left is true of this campaign: it
    // also has an "Attended On-demand" label, which nothing maps back to.
    let chosen = format!("{implicit}status_map_to_marketo = {{ \"Attended\" = \"Attended\" }}\n");
    let sims = simulators_with(1, &chosen).await;
    let (code, text) = check_config(&sims, true).await;
    assert_eq!(code, Some(1), "{text}");
    assert!(!text.contains("both map"), "{text}");
    assert!(
        text.contains("Salesforce status \"Attended On-demand\" maps to Marketo \"Attended On-demand\", which maps to \"Attended\""),
        "{text}"
    );
}

#[tokio::test]
async fn mappings_import_writes_the_programs_marketo_links_to_campaigns() {
    let sims = simulators(1).await;
    let full = std::fs::read_to_string(&sims.config).unwrap();
    let bare = full.split("[[mappings]]").next().unwrap().to_string();
    let file = sims.config.with_file_name("imported.toml");
    std::fs::write(&file, &bare).unwrap();
    let out = tokio::process::Command::new(BIN)
        .args(["mappings", "import", "--write"])
        .arg(&file)
        .arg("--config")
        .arg(&file)
        .output()
        .await
        .expect("mappings import");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mappings = sims.d["mappings"].as_array().unwrap();
    assert!(
        stdout.contains(&format!("appended {} mapping(s)", mappings.len())),
        "{stdout}"
    );
    let written = std::fs::read_to_string(&file).unwrap();
    for m in mappings {
        assert!(
            written.contains(&format!("program_id = {}", m["program_id"])),
            "{written}"
        );
        assert!(
            written.contains(&format!("campaign_id = {}", m["campaign_id"])),
            "{written}"
        );
    }
    assert!(
        !written.contains("needs a decision"),
        "seeded statuses all match: {written}"
    );
    // The seeded campaigns have no Type: each table says what the first settings pass writes.
    assert_eq!(
        written.matches("# campaign Type: none now").count(),
        mappings.len(),
        "{written}"
    );
    let out = tokio::process::Command::new(BIN)
        .args(["check-config", "--online", "--config"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "the imported mappings are valid and compatible: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Imported again into the same file from another configuration: nothing twice.
    let base = sims.config.with_file_name("base.toml");
    std::fs::write(&base, &bare).unwrap();
    let again = tokio::process::Command::new(BIN)
        .args(["mappings", "import", "--write"])
        .arg(&file)
        .arg("--config")
        .arg(&base)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(stdout.contains("appended 0 mapping(s)"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        written,
        "the file is left as it was"
    );
    let stderr = String::from_utf8_lossy(&again.stderr);
    let n = mappings.len();
    assert!(
        stderr.contains(&format!(
            "{n} linked to a Salesforce campaign, {n} of them mapped already"
        )),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&file)
            .unwrap()
            .matches("[[mappings]]")
            .count(),
        mappings.len()
    );
    // Refused credentials end the command with Marketo's reason, not a pause nothing waits out.
    let secret = sims.d["marketo"]["client_secret"].as_str().unwrap();
    let wrong = sims.config.with_file_name("wrong.toml");
    std::fs::write(&wrong, bare.replace(secret, "not-the-secret")).unwrap();
    let refused = tokio::process::Command::new(BIN)
        .args(["mappings", "import", "--config"])
        .arg(&wrong)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("campaign-sync: credentials refused") && !last.contains("paused until"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_repair_left_to_retry_exits_1_naming_it() {
    let sims = simulators(2).await;
    let (ok, _, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    let http = reqwest::Client::new();
    let (program, lead) = (
        sims.d["mappings"][0]["program_id"].as_i64().unwrap(),
        sims.d["people"][1]["marketo_lead_id"].as_i64().unwrap(),
    );
    json(
        http.post(format!(
            "{}/__sim/programs/{program}/members/status",
            sims.url("marketo")
        ))
        .json(&json!({"leadId": lead, "status": "Registered"})),
    )
    .await;
    // Every Salesforce write is refused for now: the repair waits for a retry.
    let lock = json!({"error_code": "UNABLE_TO_LOCK_ROW", "calls": 100});
    json(
        http.post(format!("{}/__sim/faults", sims.url("salesforce")))
            .json(&lock),
    )
    .await;
    let (ok, lines, stderr) = sims.reconcile(&[]).await;
    assert!(!ok, "exit 1: {stderr}");
    assert_eq!(lines[0]["differences"], 1, "{:?}", lines[0]);
    assert_eq!(
        (lines[0]["repaired"].as_u64(), lines[0]["failed"].as_u64()),
        (Some(0), Some(1))
    );
    let email = sims.d["people"][1]["email"].as_str().unwrap();
    assert!(
        stderr.contains("not repaired") && stderr.contains(email) && stderr.contains("Registered"),
        "{stderr}"
    );
}

/// A mapping that could not be reconciled still has its line on stdout: with `--json` an
/// object naming it and why, so a script reading one object per mapping misses none.
#[tokio::test]
async fn a_mapping_that_could_not_be_reconciled_has_its_json_line() {
    let sims = simulators(2).await;
    let http = reqwest::Client::new();
    // Marketo refuses the API user everything (603: a missing role permission).
    json(
        http.post(format!("{}/__sim/faults", sims.url("marketo")))
            .json(&json!({"error_code": "603", "calls": 100})),
    )
    .await;
    let (ok, lines, stderr) = sims.reconcile(&["--dry-run"]).await;
    assert!(!ok, "{stderr}");
    let mappings = sims.d["mappings"].as_array().unwrap();
    assert_eq!(lines.len(), mappings.len(), "{lines:?} {stderr}");
    for (line, mapping) in lines.iter().zip(mappings) {
        assert_eq!(line["name"], mapping["name"], "{line}");
        let error = line["error"].as_str().unwrap_or_default();
        assert!(error.starts_with("could not be reconciled: "), "{line}");
    }
}

/// A read that fails for a passing reason (Marketo's 503 once) is tried again: the mapping is
/// reconciled, not lost for the whole run.
#[tokio::test]
async fn a_passing_read_failure_does_not_lose_the_mapping() {
    let sims = simulators(2).await;
    let http = reqwest::Client::new();
    json(
        http.post(format!("{}/__sim/faults", sims.url("marketo")))
            .json(&json!({"http_status": 503, "calls": 1})),
    )
    .await;
    let (ok, lines, stderr) = sims.reconcile(&["--dry-run"]).await;
    assert!(ok, "{stderr}");
    assert!(lines.iter().all(|l| l.get("error").is_none()), "{lines:?}");
    assert_eq!(lines.len(), sims.d["mappings"].as_array().unwrap().len());
}
