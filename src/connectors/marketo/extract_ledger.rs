//! Where a process writes down the bulk extract jobs it has open. A process killed while it
//! waits for a job cannot cancel it, and the job would run on in Marketo, holding one of the
//! instance's places and spending its daily export allowance; written down, it is cancelled
//! by an extract that starts, or is waiting, or by the worker's scheduled sweep, once its
//! waiter has stopped showing it is alive.

use std::future::Future;
use std::time::Duration;

/// How often a waiting extract shows it is alive (its waits are cut into steps this long).
pub const HEARTBEAT: Duration = Duration::from_secs(60);
/// A job whose waiter has not shown itself for this long was left by a process that stopped.
/// Well above [`HEARTBEAT`]: a status call between two beats may wait out rate limits.
pub const LEFT_AFTER: Duration = Duration::from_secs(5 * 60);

/// The extract's record of its jobs. A failure to write is the ledger's to report: an extract
/// never fails for its bookkeeping.
pub trait ExtractLedger: Clone + Send + Sync + 'static {
    /// A job was created for `program_id`.
    fn opened(&self, export_id: &str, program_id: i64) -> impl Future<Output = ()> + Send;
    /// The job's waiter is still there.
    fn alive(&self, export_id: &str) -> impl Future<Output = ()> + Send;
    /// The job needs nothing more: completed, failed, or cancelled.
    fn closed(&self, export_id: &str) -> impl Future<Output = ()> + Send;
    /// Open jobs whose waiter has not shown itself for [`LEFT_AFTER`].
    fn left_behind(&self) -> impl Future<Output = Vec<String>> + Send;
}

/// Keeps no record: an extract outside the service (the client used on its own).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLedger;

impl ExtractLedger for NoLedger {
    async fn opened(&self, _: &str, _: i64) {}
    async fn alive(&self, _: &str) {}
    async fn closed(&self, _: &str) {}
    async fn left_behind(&self) -> Vec<String> {
        Vec::new()
    }
}
