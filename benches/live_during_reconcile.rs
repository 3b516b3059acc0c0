//! Issue 16's third benchmark: the latency of a live change while a 50,000-member
//! reconciliation runs, against the same with none running. Both simulators answer every API
//! call after 100 ms and Marketo's rate limit applies (100 calls / 20 s for the instance in the
//! simulator; the service's default share, 50 / 20 s). The worker loop runs as in production,
//! with its scheduled passes beside it; the reconciliation is started as an admin starts one,
//! `POST /admin/reconcile`, and runs beside the live loop.
//!
//! A live change is one status change by a user, alternating Marketo (webhook) and Salesforce
//! (outbound message), one at a time and at most one a second: about 1.5 of the worker's
//! Marketo calls a second, well inside its 50 / 20 s, so the baseline is not rate-bound. Its
//! latency is measured as in `benches/sync.rs`, from the signal's acknowledgement
//! (`signals.received_at`) to the applied write (`outcomes.recorded_at`); the changes counted
//! "during" are those whose signal arrived between the job's start and its end. Last, the same
//! reconciliation runs again with no live change beside it, to show what yielding costs it.
//!
//! Prints p50 and p99 of both runs, and `live p99 during reconciliation: N.NN x` (aim: ≤ 2).
//!
//! Run: `cargo bench --bench live_during_reconcile` (about 15 minutes: the simulated Salesforce
//! clock runs ~100 s ahead after seeding and must be waited out, then 200 s of baseline, the
//! reconciliation with live changes, and the reconciliation alone).

use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "rig/mod.rs"]
mod rig;

use rig::*;

const LATENCY: Duration = Duration::from_millis(100);
const MEMBERS: usize = 50_000;
const ADMIN_TOKEN: &str = "bench-admin-token";
/// Live changes are made at most this often.
const GAP: Duration = Duration::from_secs(1);
const BASELINE_CHANGES: usize = 200;
/// A change not applied within this long is counted as missed.
const GIVE_UP: Duration = Duration::from_secs(120);

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One applied live change: when its signal was acknowledged and when its write was recorded
/// (epoch ms).
struct Sample {
    received_at: i64,
    recorded_at: i64,
    from_marketo: bool,
}

/// Makes one live change for `person` and waits for its applied outcome.
async fn live_change(rig: &Rig, person: &Person, from_marketo: bool) -> Option<Sample> {
    rig.user_sets_status(person, from_marketo, "Registered");
    let deadline = Instant::now() + GIVE_UP;
    loop {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT s.received_at, o.recorded_at FROM outcomes o JOIN signals s ON s.id = o.signal_id \
             WHERE o.result = 'applied' AND o.person = ? ORDER BY o.id LIMIT 1",
        )
        .bind(person.identity.to_string())
        .fetch_optional(&rig.db)
        .await
        .expect("read outcomes");
        if let Some((received_at, recorded_at)) = row {
            return Some(Sample {
                received_at,
                recorded_at,
                from_marketo,
            });
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Live changes, one at a time and at most one per `GAP`, while `more()` says so; returns the
/// samples and how many changes were never applied.
async fn live_changes<'p>(
    rig: &Rig,
    people: &mut impl Iterator<Item = &'p Person>,
    mut more: impl AsyncFnMut(usize) -> bool,
) -> (Vec<Sample>, usize) {
    let (mut samples, mut missed) = (Vec::new(), 0);
    let mut made = 0;
    while more(made).await {
        let Some(person) = people.next() else { break };
        let started = Instant::now();
        match live_change(rig, person, made % 2 == 0).await {
            Some(sample) => samples.push(sample),
            None => missed += 1,
        }
        made += 1;
        tokio::time::sleep(GAP.saturating_sub(started.elapsed())).await;
    }
    (samples, missed)
}

/// p50 and p99 (ms) of the samples' latencies, printed under `label`.
fn report(label: &str, samples: &[Sample], missed: usize) -> (f64, f64) {
    let mut ms: Vec<f64> = samples
        .iter()
        .map(|s| (s.recorded_at - s.received_at) as f64)
        .collect();
    ms.sort_by(f64::total_cmp);
    if ms.is_empty() {
        println!("{label}: no applied changes ({missed} missed)");
        return (f64::NAN, f64::NAN);
    }
    let (p50, p99) = (percentile(&ms, 50.0), percentile(&ms, 99.0));
    let first = samples.iter().map(|s| s.received_at).min().unwrap_or(0);
    let mut slowest: Vec<&Sample> = samples.iter().collect();
    slowest.sort_by_key(|s| s.received_at - s.recorded_at);
    for s in slowest.iter().take(5) {
        println!(
            "   slow: {} ms, {} change {:.1} s into the run",
            s.recorded_at - s.received_at,
            if s.from_marketo {
                "Marketo"
            } else {
                "Salesforce"
            },
            (s.received_at - first) as f64 / 1000.0
        );
    }
    println!(
        "{label}: {} changes applied ({missed} missed): p50 {p50:.0} ms, p99 {p99:.0} ms, max {:.0} ms",
        ms.len(),
        ms[ms.len() - 1]
    );
    (p50, p99)
}

/// The reconciliation job's row: state, started and finished (epoch ms), result.
async fn job(rig: &Rig, id: i64) -> (String, Option<i64>, Option<i64>, Option<String>) {
    sqlx::query_as("SELECT state, started_at, finished_at, result FROM jobs WHERE id = ?")
        .bind(id)
        .fetch_one(&rig.db)
        .await
        .expect("read the job")
}

/// Queues a reconciliation through the admin API and waits until the worker started it.
async fn start_reconciliation(rig: &Rig) -> i64 {
    let queued: Value = reqwest::Client::new()
        .post(format!("{}/admin/reconcile", rig.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("POST /admin/reconcile")
        .json()
        .await
        .expect("the job");
    let id = queued["id"].as_i64().expect("a job id");
    let waiting = Instant::now();
    while job(rig, id).await.0 == "queued" {
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "the job never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    id
}

/// Prints what a finished reconciliation job found and how long it ran; returns when it
/// started and ended (epoch ms).
async fn describe_job(rig: &Rig, id: i64, label: &str) -> (i64, i64) {
    let (state, started_at, finished_at, result) = job(rig, id).await;
    let (started_at, finished_at) = (started_at.unwrap_or(0), finished_at.unwrap_or(i64::MAX));
    let result: Value = result
        .and_then(|r| serde_json::from_str(&r).ok())
        .unwrap_or(Value::Null);
    let report = &result["reports"][0];
    println!(
        "reconciliation {label} (job {id}): {state} in {:.1} s; members Salesforce {}, Marketo {}; signals queued {}",
        (finished_at - started_at) as f64 / 1000.0,
        report["salesforce_members"],
        report["marketo_members"],
        report["signals_queued"],
    );
    if report.get("error").is_some() {
        println!("   reconciliation error: {}", report["error"]);
    }
    (started_at, finished_at)
}

#[tokio::main]
async fn main() {
    let total = Instant::now();
    let options = Options {
        latency: LATENCY,
        worker_enabled: false,
        mk_background: true,
        outbound_retry_initial: Duration::from_millis(10),
    };
    let mut rig = rig_with(options, |c| {
        c.admin.token = campaign_sync::config::Secret::new(ADMIN_TOKEN)
    })
    .await;
    let seeding = Instant::now();
    let people = rig.seed(MEMBERS).await;
    println!(
        "== live changes during a reconciliation: {MEMBERS} members synced at \"Invited\" in one mapping (seeded in {:.0} s); 100 ms per API call; Marketo rate limit {} calls / {} s in the service ({} / {} s in the simulator) ==",
        seeding.elapsed().as_secs_f64(),
        rig.config.marketo.rate_limit_calls,
        rig.config.marketo.rate_limit_window_secs,
        rig.mk.config().rate_limit_calls,
        rig.mk.config().rate_limit_window.as_secs()
    );
    // The worker's first start: its loop, and the scheduled passes beside it.
    rig.start_worker_after_seed().await;
    let mut live = people.iter();

    let log = rig.log_position();
    let (baseline, missed) =
        live_changes(&rig, &mut live, async |made| made < BASELINE_CHANGES).await;
    println!("API calls while the baseline's live changes ran:");
    rig.calls_since(log).print();
    let (_, base_p99) = report(
        "no reconciliation: signal acknowledged -> write applied",
        &baseline,
        missed,
    );

    let log = rig.log_position();
    let id = start_reconciliation(&rig).await;
    let (during, missed) = live_changes(&rig, &mut live, async |_| {
        job(&rig, id).await.0 == "running"
    })
    .await;
    let (started_at, finished_at) = describe_job(&rig, id, "beside the live changes").await;
    println!("API calls while it ran, the live changes' included:");
    rig.calls_since(log).print();
    let inside: Vec<Sample> = during
        .into_iter()
        .filter(|s| s.received_at >= started_at && s.received_at <= finished_at)
        .collect();
    let (_, during_p99) = report(
        "during the reconciliation: signal acknowledged -> write applied",
        &inside,
        missed,
    );
    let ratio = during_p99 / base_p99;
    println!("live p99 during reconciliation: {ratio:.2} x (aim: at most 2 x)");

    // For comparison: the same reconciliation with no live change beside it.
    let log = rig.log_position();
    let id = start_reconciliation(&rig).await;
    while job(&rig, id).await.0 == "running" {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    describe_job(&rig, id, "alone").await;
    rig.calls_since(log).print();
    rig.stop().await;
    println!("total bench time {:.0} s", total.elapsed().as_secs_f64());
}
