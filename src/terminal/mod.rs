//! What an operator sees in a terminal: `campaign-sync status`, the reconcile progress bar, and
//! a failed command's last line.

pub mod progress;
pub mod status;

/// Why a command failed, in words: a refusal the service would wait out (a pause, on refused
/// credentials or a daily quota) ends a one-shot command, so its reason is told, not the pause.
pub fn ending(error: &anyhow::Error) -> String {
    match error.downcast_ref::<crate::connectors::CallError>() {
        Some(crate::connectors::CallError::Paused { reason, .. }) => reason.clone(),
        _ => format!("{error:#}"),
    }
}
