//! The simulator's state shared by its handlers, its Rust control API and the webhook
//! deliverer. Each part has its own lock, held only for short, synchronous work.

use std::sync::atomic::AtomicUsize;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use super::MarketoSimConfig;
use super::clock;
use super::custom_activities::CustomActivities;
use super::envelope::MktoError;
use super::exports::Exports;
use super::faults::Faults;
use super::identity::Tokens;
use super::inspect::CallRecord;
use super::limits::Limits;
use super::webhooks::{self, WebhookCall};
use super::world::World;
use crate::sim::fault_rules::FaultRules;

pub struct Shared {
    pub config: MarketoSimConfig,
    /// The member query cap in force: `config.member_filter_cap` until changed from Rust.
    pub member_filter_cap: AtomicUsize,
    pub world: Mutex<World>,
    /// Custom activity types, posted custom activities and Request Campaign calls.
    pub custom_activities: Mutex<CustomActivities>,
    /// Bulk program member export jobs. Locked before `world` when both are needed.
    pub exports: Mutex<Exports>,
    pub tokens: Mutex<Tokens>,
    pub limits: Mutex<Limits>,
    pub faults: Mutex<Faults>,
    /// Faults posted to `/__sim/faults`.
    pub fault_rules: Mutex<FaultRules<MktoError>>,
    pub log: Mutex<Vec<CallRecord>>,
    pub webhook_calls: Mutex<Vec<WebhookCall>>,
    /// Serialises deliveries, so a test's `deliver_webhooks_now` and the background deliverer
    /// never send the same queue twice or out of order.
    pub delivery: tokio::sync::Mutex<()>,
    /// Wakes the background deliverer when a call is queued.
    pub webhook_queued: Notify,
    pub http: reqwest::Client,
}

/// Locks a mutex; a panic elsewhere while holding it does not make the simulator unusable.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub fn new(config: MarketoSimConfig) -> Shared {
        let limits = Limits::new(
            config.rate_limit_calls,
            config.rate_limit_window,
            config.max_concurrency,
            config.daily_quota,
        );
        let faults = Faults::new(config.transient_failure_rate, config.seed);
        let seed = config.seed;
        Shared {
            member_filter_cap: AtomicUsize::new(config.member_filter_cap),
            config,
            world: Mutex::new(World::default()),
            custom_activities: Mutex::new(CustomActivities::default()),
            exports: Mutex::new(Exports::default()),
            tokens: Mutex::new(Tokens::default()),
            limits: Mutex::new(limits),
            faults: Mutex::new(faults),
            fault_rules: Mutex::new(FaultRules::new(seed)),
            log: Mutex::new(Vec::new()),
            webhook_calls: Mutex::new(Vec::new()),
            delivery: tokio::sync::Mutex::new(()),
            webhook_queued: Notify::new(),
            http: reqwest::Client::new(),
        }
    }

    /// Runs `change` on the world and wakes the deliverer if it queued webhook calls.
    pub fn change_world<R>(&self, change: impl FnOnce(&mut World) -> R) -> R {
        let (result, queued) = {
            let mut world = lock(&self.world);
            let result = change(&mut world);
            (result, !world.webhooks.pending.is_empty())
        };
        if queued {
            self.webhook_queued.notify_one();
        }
        result
    }

    pub fn record(&self, mut entry: CallRecord) {
        let mut log = lock(&self.log);
        entry.seq = log.len() as u64;
        entry.at = clock::lead_db(clock::now_ms());
        log.push(entry);
    }

    /// Sends every queued webhook call now and returns what happened to each.
    pub async fn deliver_pending(&self) -> Vec<WebhookCall> {
        let _one_at_a_time = self.delivery.lock().await;
        let pending: Vec<_> = lock(&self.world).webhooks.pending.drain(..).collect();
        if pending.is_empty() {
            return Vec::new();
        }
        let done = webhooks::deliver(&self.http, pending, self.config.webhook_timeout).await;
        for call in &done {
            self.record(CallRecord::webhook(call));
        }
        lock(&self.webhook_calls).extend(done.iter().cloned());
        done
    }
}
