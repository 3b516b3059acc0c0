//! Bulk Program Member Extract, for programs the member query refuses (over 100,000 members):
//! create a job for one program, enqueue it (waiting while the instance's queue of 10 is full),
//! poll its status at a growing interval (Marketo updates it once a minute), then read the CSV
//! as it arrives — resuming with `Range` after a broken transfer — and check its size and
//! SHA-256 against the job's. Records reach the caller 300 at a time; the file is never held.
//! A job that times out, or whose extract is dropped while it waits, is cancelled; one left by a
//! process that was killed is cancelled by an extract that starts or waits later, or by the
//! worker's scheduled sweep (`cancel_left_extracts`, with the `extract_ledger`).

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use super::classify::{code_of, malformed};
use super::extract_ledger::{ExtractLedger, HEARTBEAT};
use super::{MarketoClient, MemberRecord};
use crate::config::MarketoConfig;
use crate::connectors::CallError;

pub(super) const EXPORTS: &str = "/bulk/v1/program/members/export";
/// The membership fields reconciliation needs. `updatedAt` names the membership's field (the
/// program member describe lists it; a lead has one too).
pub(super) const FIELDS: [&str; 3] = ["leadId", "statusName", "updatedAt"];

/// How a job is waited for (`marketo.extract_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractTiming {
    pub first_poll: Duration,
    pub max_poll: Duration,
    pub give_up: Duration,
    /// The time one file request may take (the body included), far above a REST call's.
    pub file_timeout: Duration,
}

impl ExtractTiming {
    pub fn from_config(config: &MarketoConfig) -> Self {
        ExtractTiming {
            first_poll: Duration::from_secs(config.extract_poll_secs),
            max_poll: Duration::from_secs(
                config.extract_poll_max_secs.max(config.extract_poll_secs),
            ),
            give_up: Duration::from_secs(config.extract_timeout_secs),
            file_timeout: Duration::from_secs(config.request_timeout_secs.max(1) * 10),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Job {
    pub export_id: String,
    pub status: String,
    pub error_msg: Option<String>,
    pub file_size: Option<u64>,
    pub file_checksum: Option<String>,
}

impl MarketoClient {
    /// Whether `program_id` refused a member query by status (over the 100,000-member cap)
    /// since this client started.
    pub fn over_member_cap(&self, program_id: i64) -> bool {
        self.over_cap
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&program_id)
    }

    /// Remembers that `program_id` is read by extract from now on.
    pub fn mark_over_member_cap(&self, program_id: i64) {
        self.over_cap
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(program_id);
    }

    /// Every member of a program through a bulk extract job, handed to `each` ≤300 at a time;
    /// returns how many. A job that cannot finish within `extract_timeout_secs` is cancelled.
    /// The job is written down in `ledger` while it is open; jobs the ledger names as left
    /// behind by a stopped process are cancelled first.
    pub async fn extract_members<L: ExtractLedger>(
        &self,
        program_id: i64,
        ledger: &L,
        mut each: impl FnMut(Vec<MemberRecord>),
    ) -> Result<u64, CallError> {
        self.cancel_left_extracts(ledger).await;
        let body =
            json!({ "format": "CSV", "fields": FIELDS, "filter": { "programId": program_id } });
        let created = self
            .job_call(Method::POST, "create.json", Some(&body))
            .await?;
        let id = created.export_id;
        ledger.opened(&id, program_id).await;
        let mut unfinished = Unfinished {
            waiter: Some((self.clone(), ledger.clone())),
            id: id.clone(),
        };
        let deadline = Instant::now() + self.extract.give_up;
        let done = match self.until_completed(&id, deadline, ledger).await {
            Ok(done) => done,
            Err(error) => {
                unfinished.disarm();
                self.cancel_and_close(ledger, &id).await;
                return Err(error);
            }
        };
        unfinished.disarm();
        ledger.closed(&id).await;
        tracing::info!(program_id, export = %id, bytes = done.file_size, "Marketo extract completed");
        self.read_file(&done, &mut each).await
    }

    /// Cancels the jobs `ledger` names as left behind by a stopped process (the ledger says
    /// which, with what it knows of them) and returns how many it named: no call to Marketo
    /// when none is. Every extract does this first; the worker's scheduled sweep does it too,
    /// so a left job is cancelled even when nothing extracts.
    pub async fn cancel_left_extracts<L: ExtractLedger>(&self, ledger: &L) -> usize {
        let left = ledger.left_behind().await;
        for id in &left {
            self.cancel_and_close(ledger, id).await;
        }
        left.len()
    }

    /// Sleeps `wait`. Every [`HEARTBEAT`] it tells `ledger` that the job's waiter is still
    /// there and cancels the jobs left behind meanwhile: a process killed while this one waits
    /// (a restart that began the next pass at once) has its job cancelled within minutes.
    async fn wait_alive<L: ExtractLedger>(&self, ledger: &L, id: &str, wait: Duration) {
        let mut left = wait;
        while !left.is_zero() {
            let step = left.min(HEARTBEAT);
            tokio::time::sleep(step).await;
            left -= step;
            ledger.alive(id).await;
            self.cancel_left_extracts(ledger).await;
        }
    }

    /// Cancels a job that will not be read, so it neither holds one of the instance's places
    /// nor spends its daily export allowance, and closes it in `ledger` once nothing runs: it
    /// was cancelled, or Marketo refuses because it already ended. A job Marketo could not be
    /// asked about stays open there, for a later extract to cancel.
    async fn cancel_and_close<L: ExtractLedger>(&self, ledger: &L, id: &str) {
        match self
            .job_call(Method::POST, &format!("{id}/cancel.json"), None)
            .await
        {
            Ok(_) => ledger.closed(id).await,
            Err(error) if !error.is_retryable() => {
                tracing::debug!(export = %id, %error, "extract not cancelled: it has ended");
                ledger.closed(id).await;
            }
            Err(error) => {
                tracing::info!(export = %id, %error, "could not cancel the extract; a later extract tries again");
            }
        }
    }

    async fn job_call(
        &self,
        method: Method,
        action: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Job, CallError> {
        let envelope = self
            .send(method, &format!("{EXPORTS}/{action}"), &[], body)
            .await?;
        let first = envelope.result.into_iter().next();
        let first = first.ok_or_else(|| malformed("export job", "no result"))?;
        serde_json::from_value(first).map_err(|e| malformed("export job", e))
    }

    /// Enqueues the job, then polls it until Completed; waits double up to `max_poll`.
    async fn until_completed<L: ExtractLedger>(
        &self,
        id: &str,
        deadline: Instant,
        ledger: &L,
    ) -> Result<Job, CallError> {
        let mut wait = self.extract.first_poll;
        loop {
            match self
                .job_call(Method::POST, &format!("{id}/enqueue.json"), None)
                .await
            {
                Ok(_) => break,
                // An enqueue answered once already (its answer lost on the way).
                Err(e) if code_of(&e) == Some("1029") && e.to_string().contains("already") => break,
                // Other integrations' jobs fill the instance's queue of 10: wait for a place.
                Err(e) if code_of(&e) == Some("1029") && e.to_string().contains("Too many") => {
                    if Instant::now() + wait > deadline {
                        return Err(CallError::retry(format!(
                            "the extract queue stayed full: {e}"
                        )));
                    }
                    self.wait_alive(ledger, id, wait).await;
                    wait = (wait * 2).min(self.extract.max_poll);
                }
                Err(e) => return Err(e),
            }
        }
        let mut wait = self.extract.first_poll;
        loop {
            self.wait_alive(ledger, id, wait).await;
            let job = self
                .job_call(Method::GET, &format!("{id}/status.json"), None)
                .await?;
            match job.status.as_str() {
                "Completed" => return Ok(job),
                "Failed" => {
                    let why = job.error_msg.unwrap_or_default();
                    return Err(CallError::retry(format!(
                        "Marketo extract {id} failed: {why}"
                    )));
                }
                "Cancelled" | "Canceled" => {
                    return Err(CallError::retry(format!(
                        "Marketo extract {id} was cancelled"
                    )));
                }
                _ if Instant::now() + wait > deadline => {
                    return Err(CallError::retry(format!(
                        "Marketo extract {id} still {} after {} s",
                        job.status,
                        self.extract.give_up.as_secs()
                    )));
                }
                _ => wait = (wait * 2).min(self.extract.max_poll),
            }
        }
    }
}

/// A job created and not yet completed. Dropped while still armed (the extract was abandoned
/// mid-wait: a shutdown, or the reconciliation's task ended) it cancels the job on a task of
/// its own, as far as the runtime still runs.
struct Unfinished<L: ExtractLedger> {
    waiter: Option<(MarketoClient, L)>,
    id: String,
}

impl<L: ExtractLedger> Unfinished<L> {
    /// The job completed, or is cancelled in line: nothing left to do on drop.
    fn disarm(&mut self) {
        self.waiter = None;
    }
}

impl<L: ExtractLedger> Drop for Unfinished<L> {
    fn drop(&mut self) {
        let (Some((client, ledger)), Ok(runtime)) =
            (self.waiter.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let id = std::mem::take(&mut self.id);
        tracing::info!(export = %id, "extract abandoned; cancelling its Marketo job");
        runtime.spawn(crate::connectors::scheduled(async move {
            client.cancel_and_close(&ledger, &id).await;
        }));
    }
}
