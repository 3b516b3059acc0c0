//! What an operator sees in a terminal: `campaign-sync status` and the reconcile progress bar.

pub mod progress;
pub mod status;
