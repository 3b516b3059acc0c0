//! State shared by the simulator's handlers, its background sender and its Rust control API.
//! Locks are std mutexes held only for in-memory work, never across an await.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use rand::rngs::StdRng;
use serde_json::Value;

use super::clock::format_z;
use super::config::SalesforceSimConfig;
use super::error::SfError;
use super::org::Org;
use crate::sim::fault_rules::FaultRules;

pub struct Shared {
    pub config: SalesforceSimConfig,
    pub base_url: String,
    pub org: Mutex<Org>,
    pub sessions: Mutex<HashMap<String, Session>>,
    /// Clients whose credentials are revoked: the token endpoint refuses them (`invalid_grant`).
    pub revoked_clients: Mutex<std::collections::HashSet<String>>,
    pub log: Mutex<Vec<CallRecord>>,
    pub rng: Mutex<StdRng>,
    /// Calls in the last 24 hours, against `daily_api_limit`.
    pub api_usage: super::usage::DailyUsage,
    /// Query locator → every row of the query; pages are cut from it by offset.
    pub cursors: Mutex<HashMap<String, Vec<Value>>>,
    pub http: reqwest::Client,
    /// Where outbound messages go; starts as `outbound.endpoint_url`, and can be pointed at a
    /// service started after the simulator.
    pub endpoint: Mutex<String>,
    /// Faults posted to `/__sim/faults`.
    pub faults: Mutex<FaultRules<SfError>>,
    /// Campaign rows CampaignMember writes hold (when `campaign_row_hold` is set).
    pub row_locks: super::row_locks::RowLocks,
    /// Calls being answered, for the concurrent long-running request limit.
    pub long_requests: super::long_requests::LongRequests,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub client_id: String,
    pub last_used: Instant,
}

pub use crate::sim::calls::CallRecord;

impl Shared {
    /// Revokes these clients' credentials: their sessions end and token requests are refused.
    pub fn revoke_credentials(&self, client_ids: &[String]) {
        lock(&self.sessions).retain(|_, s| !client_ids.contains(&s.client_id));
        lock(&self.revoked_clients).extend(client_ids.iter().cloned());
    }

    pub fn restore_credentials(&self, client_ids: &[String]) {
        lock(&self.revoked_clients).retain(|c| !client_ids.contains(c));
    }

    /// The org's time (wall clock plus what tests advanced it by), epoch ms.
    pub fn now(&self) -> i64 {
        lock(&self.org).clock.now()
    }

    /// Appends to the call log, numbering and timestamping the entry.
    pub fn record(&self, mut entry: CallRecord) {
        let now = self.now();
        let mut log = lock(&self.log);
        entry.seq = log.len() as u64;
        entry.at = format_z(now);
        log.push(entry);
    }
}

impl CallRecord {
    /// A request to `/services/oauth2/token`: never a write, no query or body kept (they carry
    /// the secret).
    pub fn token(client_id: String, status: u16, error_code: Option<String>) -> CallRecord {
        CallRecord {
            kind: "token".to_owned(),
            method: "POST".to_owned(),
            path: "/services/oauth2/token".to_owned(),
            client: Some(client_id).filter(|c| !c.is_empty()),
            status: Some(status),
            error_code,
            ..CallRecord::default()
        }
    }
}

/// The authenticated client of a REST call, put in the request by the gate.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: String,
    pub sends_outbound: bool,
}

/// Ids a handler touched, put in its response for the call log.
#[derive(Debug, Clone, Default)]
pub struct Touched(pub Vec<String>);

/// The error code of a refused call (or of a collection's first refused record), put in its
/// response for the call log.
#[derive(Debug, Clone)]
pub struct ErrorCode(pub String);

/// A poisoned lock only means another handler panicked mid-way; the data is still usable for a
/// simulator, so the guard is taken anyway.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
