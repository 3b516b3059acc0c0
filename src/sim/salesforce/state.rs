//! State shared by the simulator's handlers, its background sender and its Rust control API.
//! Locks are std mutexes held only for in-memory work, never across an await.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use rand::rngs::StdRng;
use serde::Serialize;
use serde_json::Value;

use super::config::SalesforceSimConfig;
use super::org::Org;

pub struct Shared {
    pub config: SalesforceSimConfig,
    pub base_url: String,
    pub org: Mutex<Org>,
    pub sessions: Mutex<HashMap<String, Session>>,
    pub log: Mutex<Vec<CallRecord>>,
    pub rng: Mutex<StdRng>,
    pub api_usage: AtomicU64,
    /// Query locator → every row of the query; pages are cut from it by offset.
    pub cursors: Mutex<HashMap<String, Vec<Value>>>,
    pub http: reqwest::Client,
    /// Where outbound messages go; starts as `outbound.endpoint_url`, and can be pointed at a
    /// service started after the simulator.
    pub endpoint: Mutex<String>,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub client_id: String,
    pub last_used: Instant,
}

/// One call to the simulator, as `GET /__sim/requests` lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CallRecord {
    pub client_id: Option<String>,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// Ids the call created, changed, deleted or returned.
    pub records: Vec<String>,
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

/// A poisoned lock only means another handler panicked mid-way; the data is still usable for a
/// simulator, so the guard is taken anyway.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
