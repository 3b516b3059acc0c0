//! A reconciliation job in the console's words: its state and progress, and per mapping what
//! it found, queued and (for a preview) would change, and the campaign settings the settings
//! pass would write, as `campaign-sync reconcile` prints it.

use super::when;
use crate::store::Job;

/// One line on a job: its state, progress and result.
pub(super) fn describe(job: &Job) -> String {
    // "is failed" reads wrong: each state in words.
    let state = match job.state.as_str() {
        "failed" => "has failed",
        "done" => "is done",
        "running" => "is running",
        "queued" => "is queued, waiting to run",
        other => other,
    };
    let mut text = format!(
        "Reconciliation job {} {state} (requested {}",
        job.id,
        when(Some(job.requested_at))
    );
    if let Some(done) = job.finished_at {
        text.push_str(&format!(", finished {}", when(Some(done))));
    }
    text.push(')');
    if let Some(progress) = &job.progress {
        text.push_str(&format!(
            ". Progress: {} of {} mappings reconciled",
            progress["mappings_done"], progress["mappings_total"]
        ));
        if let Some(current) = progress["current_mapping"].as_str() {
            text.push_str(&format!(", now {current}"));
        }
    }
    if let Some(result) = &job.result {
        text.push_str(". ");
        text.push_str(&result_lines(result).join(" · "));
    }
    if let Some(error) = &job.error {
        text.push_str(&format!(". Error: {error}"));
    }
    text
}

/// A reconciliation's result in words: per mapping what it found and queued, and for a
/// preview each change it would make, as `campaign-sync reconcile` prints them.
fn result_lines(result: &serde_json::Value) -> Vec<String> {
    let preview = result["dry_run"].as_bool().unwrap_or(false);
    let reports = result["reports"].as_array().cloned().unwrap_or_default();
    if reports.is_empty() {
        return vec!["No enabled mapping to reconcile.".into()];
    }
    let mut lines = Vec::new();
    for report in &reports {
        let mapping = report["mapping"].as_str().unwrap_or("?");
        if let Some(error) = report["error"].as_str() {
            lines.push(format!("{mapping}: failed: {error}"));
            continue;
        }
        let differences = report["differences"].as_u64().unwrap_or(0);
        // People in sync whose stored state is behind: not differences, though they are queued.
        let refreshed = match report["refreshed"].as_u64().unwrap_or(0) {
            0 => String::new(),
            n if preview => format!(" ({n} in sync whose stored state would be refreshed)"),
            n => format!(" ({n} in sync whose stored state is refreshed)"),
        };
        let changes = report["changes"].as_array().cloned().unwrap_or_default();
        if preview {
            lines.push(format!(
                "{mapping}: {differences} difference(s){refreshed}; nothing written (preview)"
            ));
            lines.extend(
                changes
                    .iter()
                    .map(|c| format!("{mapping}: would change {}", change_text(c))),
            );
        } else {
            let repairs = &report["repairs"];
            let ended = match (repairs["done"].as_u64(), repairs["waiting"].as_u64()) {
                (Some(done), Some(waiting)) => format!(
                    " ({done} done, {waiting} waiting, {} dead)",
                    repairs["dead"].as_u64().unwrap_or(0)
                ),
                _ => String::new(),
            };
            lines.push(format!(
                "{mapping}: {differences} difference(s){refreshed}, {} signal(s) queued{ended}",
                report["signals_queued"].as_u64().unwrap_or(0)
            ));
        }
        let diverged: Vec<crate::worker::Divergence> =
            serde_json::from_value(report["diverged"].clone()).unwrap_or_default();
        lines.extend(diverged.iter().map(|d| {
            format!(
                "{mapping}: diverged: {}",
                crate::cutover::describe_divergence(d)
            )
        }));
        let settings = report["settings"].as_array().cloned().unwrap_or_default();
        lines.extend(settings.iter().map(|s| {
            let field = s["field"].as_str().unwrap_or("?");
            let line = crate::cutover::describe_setting(field, &s["from"], &s["to"]);
            format!("{mapping}: settings: {line}")
        }));
    }
    lines
}

/// One listed change as the reconcile command words it.
fn change_text(change: &serde_json::Value) -> String {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    crate::cutover::describe(&crate::worker::Change {
        person: text(&change["person"]).unwrap_or_default(),
        marketo_lead_id: change["marketo_lead_id"].as_i64(),
        salesforce_id: text(&change["salesforce_id"]),
        side: if change["side"] == "salesforce" {
            "salesforce"
        } else {
            "marketo"
        },
        from: text(&change["from"]),
        to: text(&change["to"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_job_result_reads_as_words_with_each_previewed_change() {
        let preview = json!({ "dry_run": true, "reports": [
            { "mapping": "webinar", "differences": 1, "signals_queued": 0, "changes": [
                { "person": "ada@example.com", "marketo_lead_id": 7, "salesforce_id": null,
                  "side": "salesforce", "from": null, "to": "Registered" }
            ] },
            { "mapping": "tradeshow", "error": "Marketo 606" },
            { "mapping": "email", "differences": 0, "changes": [], "settings": [
                { "field": "Type", "from": null, "to": "Email Send" }
            ] }
        ] });
        assert_eq!(
            result_lines(&preview),
            [
                "webinar: 1 difference(s); nothing written (preview)",
                "webinar: would change ada@example.com (Marketo lead 7, Salesforce none): Salesforce not a member → \"Registered\"",
                "tradeshow: failed: Marketo 606",
                "email: 0 difference(s); nothing written (preview)",
                "email: settings: campaign Type none → \"Email Send\" at serve's next settings pass (reconcile does not write it)",
            ]
        );
        let run = json!({ "dry_run": false, "reports": [
            { "mapping": "webinar", "differences": 2, "refreshed": 1, "signals_queued": 3, "changes": [],
              "repairs": { "done": 1, "waiting": 1, "dead": 1 },
              "diverged": [
                { "person": "bo@example.com", "marketo_lead_id": 8,
                  "salesforce_id": "00Q000000000001AAA", "salesforce_status": "Registered",
                  "marketo_status": "Attended" }
            ] }
        ] });
        assert_eq!(
            result_lines(&run),
            [
                "webinar: 2 difference(s) (1 in sync whose stored state is refreshed), 3 signal(s) queued (1 done, 1 waiting, 1 dead)",
                "webinar: diverged: bo@example.com (Marketo lead 8, Salesforce 00Q000000000001AAA): Salesforce \"Registered\", Marketo \"Attended\"; no write planned",
            ]
        );
        assert_eq!(
            result_lines(&json!({ "dry_run": false, "reports": [] })),
            ["No enabled mapping to reconcile."]
        );
    }
}
