//! How a reconciliation's repairs ended, counted as they end in the worker's rounds:
//! `reconcile_repairs_total{mapping,result}` beside `reconcile_differences_total` (found).

use std::collections::HashSet;

use crate::kinds::OutcomeResult;
use crate::store::Journal;

/// Counts how the round's reconciliation repairs ended, by mapping:
/// `reconcile_repairs_total{mapping,result}` beside `reconcile_differences_total` (found).
pub fn count_repairs(repairs: &HashSet<i64>, journal: &Journal) {
    if repairs.is_empty() {
        return;
    }
    for outcome in &journal.outcomes {
        let result = match outcome.result {
            OutcomeResult::Applied => "applied",
            OutcomeResult::Dead => "dead",
            _ => continue,
        };
        if outcome.signal_id.is_some_and(|id| repairs.contains(&id)) {
            let mapping = outcome.mapping.clone().unwrap_or_default();
            metrics::counter!("reconcile_repairs_total", "mapping" => mapping, "result" => result)
                .increment(1);
        }
    }
}
