//! The store as the ledger of open Marketo extract jobs: each is written down with this
//! process's owner name and touched while it is waited for, so the next extract of any process,
//! or the worker's scheduled sweep, cancels one that a killed process left behind.

use crate::connectors::marketo::ExtractLedger;
use crate::connectors::marketo::extract_ledger::LEFT_AFTER;
use crate::store::{Store, now_millis};

use super::super::context::Context;

/// Cancels the extract jobs a stopped process left open, whether or not anything extracts now;
/// returns how many there were. A store query, and a Marketo call only per left job.
pub async fn cancel_left(ctx: &Context) -> usize {
    let ledger = StoredExtracts::new(ctx.store.clone(), ctx.owner.clone());
    ctx.marketo.cancel_left_extracts(&ledger).await
}

#[derive(Clone)]
pub struct StoredExtracts {
    store: Store,
    owner: String,
}

impl StoredExtracts {
    pub fn new(store: Store, owner: String) -> Self {
        StoredExtracts { store, owner }
    }
}

impl ExtractLedger for StoredExtracts {
    async fn opened(&self, export_id: &str, program_id: i64) {
        let written = self
            .store
            .open_extract(export_id, program_id, &self.owner, now_millis())
            .await;
        if let Err(error) = written {
            tracing::warn!(export = %export_id, %error, "could not write down the extract job; if this process stops before it ends, it runs on in Marketo");
        }
    }

    async fn alive(&self, export_id: &str) {
        if let Err(error) = self.store.touch_extract(export_id, now_millis()).await {
            tracing::warn!(export = %export_id, %error, "could not mark the extract job as waited for");
        }
    }

    async fn closed(&self, export_id: &str) {
        if let Err(error) = self.store.close_extract(export_id).await {
            tracing::warn!(export = %export_id, %error, "could not close the extract job's record; a later extract asks Marketo to cancel it");
        }
    }

    async fn left_behind(&self) -> Vec<String> {
        let before = now_millis() - i64::try_from(LEFT_AFTER.as_millis()).unwrap_or(i64::MAX);
        match self.store.extracts_left(before).await {
            Ok(jobs) => jobs
                .into_iter()
                .map(|job| {
                    tracing::info!(export = %job.export_id, program_id = job.program_id, owner = %job.owner, last_seen = job.touched_at, "cancelling a Marketo extract job left by a stopped process");
                    job.export_id
                })
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "could not read the open extract jobs");
                Vec::new()
            }
        }
    }
}
