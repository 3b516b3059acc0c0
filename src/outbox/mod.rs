//! The delivery task: drains the outbox to subscribers (signed, Standard Webhooks) on its own
//! task with its own timeouts, so a slow or failing subscriber never delays the sync. Each
//! attempt ends delivered, due again on the retry schedule, or dead with its reason.

mod marketo;
pub mod provision;
pub mod sign;
mod subscriber;

pub use subscriber::shown_url;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::connectors::marketo::MarketoClient;
use crate::connectors::salesforce::SalesforceClient;
use crate::store::{
    Attempt, Delivery, Store, StoreError, SubscriberShare, TO_MARKETO_ACTIVITY, TO_MARKETO_REQUEST,
    TO_SUBSCRIPTION, now_millis,
};
use crate::worker::retry::next_delay;
use marketo::MarketoDestination;

/// How long one subscriber may take to answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A claimed Marketo row's lease: far longer than one attempt (Marketo's calls waiting on its
/// rate window, posting activities up to 100 s), so no other replica claims a delivery still
/// in flight. A claim whose lease ran out records nothing.
const LEASE_MS: i64 = 300_000;
/// A subscriber delivery's lease: its attempt ends within `REQUEST_TIMEOUT`, so one a stopped
/// process left (killed, or stopped past its bound) goes again within half a minute, not
/// five, and the person's later events do not wait behind it.
const SUBSCRIBER_LEASE_MS: i64 = 30_000;
/// Subscriber deliveries claimed per round at most: no more than are free of the
/// [`CONCURRENCY`] in flight.
const ROUND: u32 = 100;
/// Marketo rows claimed per round, each kind: a full custom-activity call (≤300), three
/// Request Campaign calls (≤100 leads each).
const MARKETO_ROUND: u32 = 300;
const CONCURRENCY: usize = 16;
/// How often an idle task looks for due deliveries.
const POLL: Duration = Duration::from_millis(500);
/// Once deliveries are found after an idle spell, how long the task waits before claiming:
/// a burst's events (several worker rounds) then share calls instead of going out piecemeal.
const LINGER: Duration = Duration::from_millis(250);
/// How long the earliest due Marketo row (a custom activity or a campaign request) waits for
/// others to share its call, unless a full call's worth is due already. At a few changes a
/// second most calls would otherwise carry one event, and each takes a call from the quota the
/// instance shares with every other integration.
pub const MARKETO_GATHER: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Deliverer {
    store: Store,
    config: Arc<Config>,
    client: reqwest::Client,
    marketo: Arc<MarketoDestination>,
    /// When set, the running task claims Marketo's rows only while this replica leads: every
    /// Marketo call then leaves the one process that runs the worker, and draws from its one
    /// rate window and set of permits, however many replicas there are.
    leadership: Option<crate::liveness::Liveness>,
    /// Subscriber deliveries in flight: each runs on a task of its own and records its own
    /// end, so a subscriber slow to answer holds one permit, not the rounds after it.
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Those in flight by subscription: each takes no more than its share of the permits.
    by_subscription: Arc<std::sync::Mutex<HashMap<i64, usize>>>,
}

impl Deliverer {
    /// `marketo` and `salesforce` are clones of the worker's clients: posting activities takes
    /// the same rate window, concurrency permits and daily quota as every other call, so the
    /// process as a whole stays inside the configured limits.
    pub fn new(
        store: Store,
        config: Arc<Config>,
        marketo: MarketoClient,
        salesforce: SalesforceClient,
    ) -> anyhow::Result<Deliverer> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| anyhow::anyhow!("building the delivery client: {e}"))?;
        let marketo = MarketoDestination::new(marketo, salesforce);
        Ok(Deliverer {
            store,
            config,
            client,
            marketo: Arc::new(marketo),
            leadership: None,
            in_flight: Arc::new(tokio::sync::Semaphore::new(CONCURRENCY)),
            by_subscription: Arc::default(),
        })
    }

    /// Leaves Marketo's rows to the replica that leads (see `leadership`); subscriber
    /// deliveries still go from every replica.
    #[must_use]
    pub fn marketo_only_when_leading(mut self, liveness: crate::liveness::Liveness) -> Self {
        self.leadership = Some(liveness);
        self
    }

    /// Whether the running task may claim Marketo's rows now.
    fn calls_marketo(&self) -> bool {
        self.leadership.as_ref().is_none_or(|l| l.is_leader())
    }

    /// Delivers until `shutdown`; a store error is logged and tried again after a pause. Idle,
    /// it polls with one query and claims nothing until a delivery is due.
    pub async fn run(self, shutdown: CancellationToken) {
        self.deliver_until(&shutdown).await;
        self.finish_in_flight().await;
    }

    /// Waits (at most one attempt's timeout and a second) for the subscriber deliveries still
    /// in flight to end and record how they did, so a stop does not leave them leased.
    async fn finish_in_flight(&self) {
        let all = u32::try_from(CONCURRENCY).unwrap_or(u32::MAX);
        let wait = REQUEST_TIMEOUT + Duration::from_secs(1);
        if tokio::time::timeout(wait, self.in_flight.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!(
                "subscriber deliveries still in flight at the stop; they go again once their lease ends"
            );
        }
    }

    async fn deliver_until(&self, shutdown: &CancellationToken) {
        let mut was_idle = true;
        loop {
            if was_idle {
                let (due, pause) = match self.ready(now_millis()).await {
                    Ok(true) => (true, LINGER),
                    Ok(false) => (false, POLL),
                    Err(error) => {
                        tracing::warn!(%error, "could not look for due deliveries; trying again");
                        (false, POLL)
                    }
                };
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(pause) => {}
                }
                if !due {
                    continue;
                }
            }
            let idle = match self.round(now_millis(), false).await {
                Ok(0) => true,
                Ok(_) => false,
                Err(error) => {
                    tracing::warn!(%error, "outbox round failed; trying again");
                    true
                }
            };
            was_idle = idle;
            if shutdown.is_cancelled() {
                return;
            }
        }
    }

    /// Runs rounds until nothing is due now, Marketo's rows without waiting to gather; returns
    /// the number of attempts made. Tests drive deliveries with this instead of `run`.
    pub async fn run_pending(&self) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            match self.round(now_millis(), true).await? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    }

    /// One round as the running task makes it at `now`: Marketo's rows go only once the
    /// earliest has waited [`MARKETO_GATHER`] or a full call's worth is due. Returns the number
    /// of attempts made; tests use it to show the gathering.
    pub async fn round_at(&self, now: i64) -> Result<usize, StoreError> {
        self.round(now, false).await
    }

    /// Whether the running task has anything to claim now: a subscriber delivery due, or
    /// Marketo rows this replica may send that have gathered. Rows it would not claim (another
    /// replica leads, or they are still gathering) do not wake it.
    async fn ready(&self, now: i64) -> Result<bool, StoreError> {
        Ok(self.store.deliveries_due_to(TO_SUBSCRIPTION, now).await?
            || self.marketo_ready(TO_MARKETO_ACTIVITY, now, false).await?
            || self.marketo_ready(TO_MARKETO_REQUEST, now, false).await?)
    }

    /// Whether `destination`'s Marketo rows go this round: always when flushing; otherwise
    /// only on the leading replica, once they have gathered.
    async fn marketo_ready(
        &self,
        destination: &str,
        now: i64,
        flush: bool,
    ) -> Result<bool, StoreError> {
        if flush {
            return Ok(true);
        }
        if !self.calls_marketo() {
            return Ok(false);
        }
        let gather = i64::try_from(MARKETO_GATHER.as_millis()).unwrap_or(i64::MAX);
        self.store
            .gathered(destination, now, gather, MARKETO_ROUND)
            .await
    }

    /// Claims the due deliveries (the oldest of each person's queue), each destination in its
    /// own batch size but all in one transaction, and attempts each. Unless `flush`, Marketo's
    /// rows wait to gather, and the round does not wait for the subscribers it started: each
    /// delivery records its own end, and a person's next one is claimed only after that (the
    /// claim takes the oldest pending of each queue, and a leased one stays pending). With
    /// `flush` it waits for them. What may fail before an attempt is asked first: a claimed
    /// delivery left unattempted waits out its lease.
    async fn round(&self, now: i64, flush: bool) -> Result<usize, StoreError> {
        let post_activities = self.marketo_ready(TO_MARKETO_ACTIVITY, now, flush).await?;
        let request_campaigns = self.marketo_ready(TO_MARKETO_REQUEST, now, flush).await?;
        // No more subscriber deliveries than can start now: a claimed one waiting for a slot
        // would wait with its lease running.
        let free = u32::try_from(self.in_flight.available_permits()).unwrap_or(ROUND);
        let share = SubscriberShare {
            free: free as usize,
            slots: CONCURRENCY,
            in_flight: self.subscriptions_in_flight().clone(),
        };
        let mut batches = vec![(Some(TO_SUBSCRIPTION), ROUND, SUBSCRIBER_LEASE_MS)];
        if post_activities {
            batches.push((Some(TO_MARKETO_ACTIVITY), MARKETO_ROUND, LEASE_MS));
        }
        if request_campaigns {
            batches.push((Some(TO_MARKETO_REQUEST), MARKETO_ROUND, LEASE_MS));
        }
        let claimed = self.store.claim_round(&batches, Some(&share), now).await?;
        let mut claimed = claimed.into_iter();
        let others = claimed.next().unwrap_or_default();
        let activities = if post_activities {
            claimed.next().unwrap_or_default()
        } else {
            Vec::new()
        };
        let requests = if request_campaigns {
            claimed.next().unwrap_or_default()
        } else {
            Vec::new()
        };
        let count = others.len() + activities.len() + requests.len();
        let mut started = Vec::with_capacity(others.len());
        for delivery in others {
            let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
                break;
            };
            let this = self.clone();
            let subscription = delivery.subscription_id.unwrap_or(0);
            *self
                .subscriptions_in_flight()
                .entry(subscription)
                .or_default() += 1;
            started.push(tokio::spawn(async move {
                let result = this.post(&delivery).await;
                let attempt = this.conclude(&delivery, result);
                if let Err(error) = this.record(&[(&delivery, attempt)]).await {
                    tracing::warn!(delivery = delivery.id, %error, "could not record a delivery's attempt; its lease runs out and it goes again");
                }
                this.ended_in_flight(subscription);
                drop(permit);
            }));
        }
        let store = &self.store;
        let config = &self.config;
        let (posted, requested) = tokio::join!(
            self.marketo.post(store, config, &activities),
            self.marketo.request(store, config, &requests),
        );
        let mut by_id: std::collections::HashMap<i64, Delivery> = activities
            .into_iter()
            .chain(requests)
            .map(|d| (d.id, d))
            .collect();
        let sent: Vec<(Delivery, Result<(), Failure>)> = posted
            .into_iter()
            .chain(requested)
            .filter_map(|(id, result)| Some((by_id.remove(&id)?, result)))
            .collect();
        let attempts: Vec<(&Delivery, Attempt)> = sent
            .iter()
            .map(|(delivery, result)| (delivery, self.conclude(delivery, result.clone())))
            .collect();
        self.record(&attempts).await?;
        if flush {
            for task in started {
                let _ = task.await;
            }
        }
        Ok(count)
    }

    fn subscriptions_in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<i64, usize>> {
        self.by_subscription
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn ended_in_flight(&self, subscription: i64) {
        let mut in_flight = self.subscriptions_in_flight();
        if let Some(n) = in_flight.get_mut(&subscription) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                in_flight.remove(&subscription);
            }
        }
    }

    /// Records the ends of `attempts`; one whose lease ran out meanwhile is left to the claim
    /// that took it over.
    async fn record(&self, attempts: &[(&Delivery, Attempt)]) -> Result<(), StoreError> {
        let recorded = self.store.finish_deliveries(attempts, now_millis()).await?;
        for ((delivery, _), recorded) in attempts.iter().zip(recorded) {
            if !recorded {
                tracing::warn!(
                    delivery = delivery.id,
                    "a delivery's lease ran out before its attempt ended; another claim records it"
                );
            }
        }
        Ok(())
    }

    fn conclude(&self, delivery: &Delivery, result: Result<(), Failure>) -> Attempt {
        let outcome = match result {
            Ok(()) => Attempt::Delivered,
            Err(Failure::Skip(reason)) => Attempt::Skipped { reason },
            Err(Failure::Permanent(reason)) => Attempt::Dead { reason },
            Err(Failure::Retry(error, hint)) => self.retry_or_dead(delivery.attempts, error, hint),
            Err(Failure::Paused { reason, until }) => Attempt::Postponed { until, reason },
        };
        let state = match &outcome {
            Attempt::Delivered => "delivered",
            Attempt::Retry { .. } => "retry",
            Attempt::Dead { .. } => "dead",
            Attempt::Skipped { .. } => "skipped",
            Attempt::Postponed { .. } => "postponed",
        };
        metrics::counter!("outbox_attempts_total", "destination" => delivery.destination.clone(), "result" => state).increment(1);
        if let Attempt::Dead { reason } = &outcome {
            tracing::warn!(delivery.id = delivery.id, %reason, "delivery dead");
        }
        outcome
    }

    fn retry_or_dead(&self, attempts: i64, error: String, hint: Option<Duration>) -> Attempt {
        let worker = &self.config.worker;
        match next_delay(
            &worker.retry_schedule_secs,
            attempts,
            worker.retry_jitter_percent,
            rand::random::<f64>(),
            hint,
        ) {
            Some(delay) => Attempt::Retry {
                at: now_millis() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2),
                error,
            },
            None => Attempt::Dead {
                reason: crate::connectors::gave_up(attempts, &error),
            },
        }
    }
}

/// Why an attempt did not deliver.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// Try again on the schedule, not sooner than the server's hint.
    Retry(String, Option<Duration>),
    Permanent(String),
    /// Nothing was to be sent.
    Skip(String),
    /// The side is paused until `until` (epoch ms): wait, without using an attempt.
    Paused {
        reason: String,
        until: i64,
    },
}
