//! The `reconcile` command's text: each mapping's summary, its changes, warnings, divergences
//! and the campaign settings the settings pass would write, one line each (or one JSON object
//! per mapping with `--json`). The console words a reconciliation job's result with the same
//! functions.

use std::io::Write;

use serde_json::Value;

use crate::worker::{Change, Divergence};

use super::MappingResult;

/// A status quoted, or "not a member".
fn membership(status: &Option<String>) -> String {
    status
        .as_ref()
        .map_or("not a member".to_string(), |s| format!("{s:?}"))
}

/// "ada@example.com (Marketo lead 5, Salesforce 00Q…): Salesforce "Invited" → "Attended"".
pub fn describe(change: &Change) -> String {
    let side = if change.side == "salesforce" {
        "Salesforce"
    } else {
        "Marketo"
    };
    format!(
        "{} (Marketo lead {}, Salesforce {}): {side} {} → {}",
        change.person,
        change
            .marketo_lead_id
            .map_or("none".into(), |l| l.to_string()),
        change.salesforce_id.as_deref().unwrap_or("none"),
        membership(&change.from),
        membership(&change.to),
    )
}

/// "ada@example.com (Marketo lead 5, Salesforce 00Q…): Salesforce "Invited", Marketo
/// "Attended"; no write planned".
pub fn describe_divergence(divergence: &Divergence) -> String {
    format!(
        "{} (Marketo lead {}, Salesforce {}): Salesforce {}, Marketo {}; no write planned",
        divergence.person,
        divergence
            .marketo_lead_id
            .map_or("none".into(), |l| l.to_string()),
        divergence.salesforce_id.as_deref().unwrap_or("none"),
        membership(&divergence.salesforce_status),
        membership(&divergence.marketo_status),
    )
}

/// A setting's value as text: quoted text, a bare number, or "none" for an empty field.
fn setting_value(value: &Value) -> String {
    match value {
        Value::Null => "none".to_string(),
        // `ActualCost` is whole units: 1200, not 1200.0.
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
            format!("{:.0}", n.as_f64().unwrap_or_default())
        }
        other => other.to_string(),
    }
}

/// "campaign Type "Trade Show" → "Tradeshow" at serve's next settings pass (reconcile does
/// not write it)".
pub fn describe_setting(field: &str, from: &Value, to: &Value) -> String {
    format!(
        "campaign {field} {} → {} at serve's next settings pass (reconcile does not write it)",
        setting_value(from),
        setting_value(to),
    )
}

/// A mapping's first line of text: what was linked, found and repaired, and what it cost. A
/// preview repairs nothing, so it does not say "0 repaired".
pub(super) fn summary(result: &MappingResult) -> String {
    let (linked, outcome) = if result.dry_run {
        ("to link", "nothing written (dry run)".to_string())
    } else {
        (
            "linked",
            format!("{} repaired, {} failed", result.repaired, result.failed),
        )
    };
    // People whose sides agree are not differences, though their stored state is refreshed.
    let refreshed = match (result.refreshed, result.dry_run) {
        (0, _) => String::new(),
        (n, true) => format!(" ({n} in sync whose stored state would be refreshed)"),
        (n, false) => format!(" ({n} in sync whose stored state was refreshed)"),
    };
    format!(
        "mapping {:?}: {} {linked}, {} difference(s){refreshed}, {outcome}; calls: Salesforce {}, Marketo {}",
        result.name,
        result.linked,
        result.differences,
        result.calls.salesforce,
        result.calls.marketo
    )
}

/// A mapping that ended without a result, on stdout beside the others: one line of text, or
/// with `--json` an object `{"name", "error"}`, so every mapping has its line.
pub(super) fn print_failed(name: &str, problem: &str, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let line = serde_json::json!({ "name": name, "error": problem });
        writeln!(out, "{line}")?;
    } else {
        writeln!(out, "mapping {name:?}: {problem}")?;
    }
    Ok(())
}

pub(super) fn print(result: &MappingResult, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(result)?)?;
        return Ok(());
    }
    let verb = if result.dry_run {
        "would change"
    } else {
        "changes"
    };
    writeln!(out, "{}", summary(result))?;
    for change in &result.changes {
        writeln!(out, "  {verb}: {}", describe(change))?;
    }
    for warning in &result.warnings {
        writeln!(out, "  warning: {warning}")?;
    }
    for divergence in &result.diverged {
        writeln!(out, "  diverged: {}", describe_divergence(divergence))?;
    }
    for setting in result.settings.iter().flatten() {
        let line = describe_setting(setting.field, &setting.from, &setting.to);
        writeln!(out, "  settings: {line}")?;
    }
    Ok(())
}
