//! Issue 16's outage benchmark: the service is stopped for ten simulated minutes while people
//! change statuses on both sides, with full reconciliation switched off; after the restart the
//! change feeds alone must bring every change across within one feed interval.
//!
//! The service runs with its default schedules (`marketo_activity_secs` and
//! `salesforce_changes_secs` 60 s, the passes due at start) in real time; only the outage is
//! simulated. It lasts 60 steps of 10 s on Salesforce's clock (`advance_clock`), each step a
//! little over half a second of wall time so the simulator's outbound sender runs: Salesforce
//! retries every undelivered outbound message on its documented schedule (first retry after
//! 2 s, doubling, at most two hours apart) and after the restart keeps to it, so most messages
//! are not due again for minutes. Marketo's clock is the wall clock, so its side of the outage
//! lasts the ~40 s of wall time; its webhooks go to the stopped service and are lost (Marketo
//! never retries one). Both simulators add 100 ms to every API call and Marketo's rate limit
//! applies. The service restarts on the same address and database, so nothing needs pointing
//! at it again.
//!
//! Prints the changes made on each side, how many reached the other side and when, the feed
//! passes that ran until then, and the API calls each side spent catching up; exits 1 after a
//! `MISSED` line when a change did not arrive within one feed interval.
//!
//! Run: `cargo bench --bench outage` (about two minutes).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use campaign_sync::config::SchedulesConfig;
use campaign_sync::store::now_millis;

#[path = "rig/mod.rs"]
mod rig;

use rig::*;

const LATENCY: Duration = Duration::from_millis(100);
/// People whose status changes on each side during the outage.
const PEOPLE_EACH_SIDE: usize = 1_000;
/// Of them, people whose status changes a second time later in the outage.
const TWICE_EACH_SIDE: usize = 200;
const STEPS: usize = 60;
const STEP: Duration = Duration::from_secs(10);
/// Wall time per step: a little more than the simulator's outbound sender's tick (500 ms).
const STEP_WALL: Duration = Duration::from_millis(600);
/// How long to keep watching after the restart before giving up on a change.
const WATCH_INTERVALS: u64 = 3;

/// One planned user change: who, on which side, to what, at which step of the outage.
struct Change {
    person: usize,
    in_marketo: bool,
    status: &'static str,
    step: usize,
}

/// First changes spread over the whole outage, second changes over its second half.
fn plan() -> Vec<Change> {
    let mut changes = Vec::new();
    for in_marketo in [true, false] {
        let offset = if in_marketo { 0 } else { PEOPLE_EACH_SIDE };
        for j in 0..PEOPLE_EACH_SIDE {
            changes.push(Change {
                person: offset + j,
                in_marketo,
                status: "Registered",
                step: j * STEPS / PEOPLE_EACH_SIDE,
            });
        }
        for j in 0..TWICE_EACH_SIDE {
            changes.push(Change {
                person: offset + j,
                in_marketo,
                status: "Attended",
                step: STEPS / 2 + j * (STEPS / 2) / TWICE_EACH_SIDE,
            });
        }
    }
    changes.sort_by_key(|c| c.step);
    changes
}

/// The final status each changed person should reach on the other side.
fn expected(changes: &[Change]) -> HashMap<usize, (bool, &'static str)> {
    changes
        .iter()
        .map(|c| (c.person, (c.in_marketo, c.status)))
        .collect()
}

/// People whose latest change reached the other side: (changed in Marketo, changed in Salesforce).
fn arrived(
    rig: &Rig,
    people: &[Person],
    expected: &HashMap<usize, (bool, &str)>,
) -> (usize, usize) {
    let (sf, mk) = rig.statuses();
    let (mut from_marketo, mut from_salesforce) = (0, 0);
    for (&person, &(in_marketo, status)) in expected {
        let p = &people[person];
        if in_marketo && sf.get(&p.sf_member).map(String::as_str) == Some(status) {
            from_marketo += 1;
        }
        if !in_marketo && mk.get(&p.mkto_lead).map(String::as_str) == Some(status) {
            from_salesforce += 1;
        }
    }
    (from_marketo, from_salesforce)
}

/// Waits (at most 30 s) until no signal is waiting or being worked on; returns the time since
/// `restart`.
async fn drain(rig: &Rig, restart: Instant) -> Duration {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let waiting: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM signals WHERE state IN ('pending', 'leased')")
                .fetch_one(&rig.db)
                .await
                .expect("count waiting signals");
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    restart.elapsed()
}

/// Signals recorded since `from` (epoch ms), counted by where they came from.
async fn signals_since(rig: &Rig, from: i64) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT CASE \
           WHEN json_extract(payload, '$.notification_id') = 'changes-feed' THEN 'Salesforce changes feed' \
           WHEN source = 'salesforce' THEN 'Salesforce outbound messages' \
           WHEN json_extract(payload, '$.trigger') = 'activity feed' THEN 'Marketo activity feed' \
           ELSE 'Marketo webhooks' END AS origin, COUNT(*) \
         FROM signals WHERE received_at >= ? GROUP BY origin ORDER BY origin",
    )
    .bind(from)
    .fetch_all(&rig.db)
    .await
    .expect("read signals")
}

#[tokio::main]
async fn main() {
    let total = Instant::now();
    let options = Options {
        latency: LATENCY,
        worker_enabled: false,
        mk_background: true,
        outbound_retry_initial: campaign_sync::sim::salesforce::OutboundConfig::to("")
            .retry_initial,
    };
    // Full reconciliation off: only the feeds (and any late delivery) may bring changes across.
    let mut rig = rig_with(options, |c| c.schedules.reconcile_secs = 10 * 365 * 86_400).await;
    let people = rig.seed(2 * PEOPLE_EACH_SIDE).await;
    rig.start_worker_after_seed().await;
    let schedules = SchedulesConfig::default();
    let interval = schedules
        .marketo_activity_secs
        .max(schedules.salesforce_changes_secs);
    assert_eq!(
        (
            rig.config.schedules.marketo_activity_secs,
            rig.config.schedules.salesforce_changes_secs
        ),
        (
            schedules.marketo_activity_secs,
            schedules.salesforce_changes_secs
        ),
        "the default feed schedules"
    );
    println!(
        "== outage: {} people synced at \"Invited\" in one mapping; 100 ms per API call; feeds every {} s (Marketo activities) and {} s (Salesforce changes); reconciliation off ==",
        people.len(),
        schedules.marketo_activity_secs,
        schedules.salesforce_changes_secs
    );

    // The outage.
    rig.stop_service().await;
    let webhooks_before = rig.mk.webhook_calls().len();
    let changes = plan();
    let outage_wall = Instant::now();
    let mut next = changes.iter().peekable();
    for step in 0..STEPS {
        while let Some(change) = next.next_if(|c| c.step == step) {
            let person = &people[change.person];
            rig.user_sets_status(person, change.in_marketo, change.status);
        }
        rig.sf.advance_clock(STEP);
        tokio::time::sleep(STEP_WALL).await;
    }
    let made_in_marketo = changes.iter().filter(|c| c.in_marketo).count();
    let made_in_salesforce = changes.len() - made_in_marketo;
    let webhooks = rig.mk.webhook_calls().split_off(webhooks_before);
    let answered = webhooks.iter().filter(|w| w.status.is_some()).count();
    let queued = rig.sf.outbound_queue_len();
    println!(
        "outage: {} simulated minutes on Salesforce's clock ({:.0} s of wall time, Marketo's clock)",
        STEPS as u64 * STEP.as_secs() / 60,
        outage_wall.elapsed().as_secs_f64()
    );
    println!(
        "changes made: {made_in_marketo} in Marketo ({PEOPLE_EACH_SIDE} people, {TWICE_EACH_SIDE} of them twice), {made_in_salesforce} in Salesforce (the same)"
    );
    println!(
        "   Marketo webhook calls to the stopped service: {}, answered {answered} (Marketo does not retry)",
        webhooks.len()
    );
    println!(
        "   Salesforce outbound notifications still queued for a retry at the restart: {queued}"
    );

    // The restart.
    let log = rig.log_position();
    let restart_ms = now_millis();
    let restart = Instant::now();
    rig.start_service(|_| {}).await;
    let expected = expected(&changes);
    let (want_from_marketo, want_from_salesforce) = (
        expected.values().filter(|(m, _)| *m).count(),
        expected.values().filter(|(m, _)| !*m).count(),
    );
    let mut passes: BTreeMap<String, HashSet<i64>> = BTreeMap::new();
    let (mut marketo_done, mut salesforce_done) = (None, None);
    let mut reached = (0, 0);
    let deadline = Duration::from_secs(WATCH_INTERVALS * interval);
    while restart.elapsed() < deadline {
        for (name, at) in rig.cursor_passes().await {
            if at >= restart_ms {
                passes.entry(name).or_default().insert(at);
            }
        }
        reached = arrived(&rig, &people, &expected);
        if reached.0 == want_from_marketo {
            marketo_done.get_or_insert(restart.elapsed());
        }
        if reached.1 == want_from_salesforce {
            salesforce_done.get_or_insert(restart.elapsed());
        }
        if marketo_done.is_some() && salesforce_done.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let converged = restart.elapsed();
    let signals = signals_since(&rig, restart_ms).await;

    let delivered_late = queued.saturating_sub(rig.sf.outbound_queue_len());
    let echo_webhooks = rig.webhooks_since(log);
    let calls = rig.calls_since(log);
    let drained = drain(&rig, restart).await;
    let outcomes: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT connector, result, COUNT(*) FROM outcomes WHERE recorded_at >= ? \
         GROUP BY connector, result ORDER BY connector, result",
    )
    .bind(restart_ms)
    .fetch_all(&rig.db)
    .await
    .expect("read outcomes");
    let dead: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signals WHERE state = 'dead'")
        .fetch_one(&rig.db)
        .await
        .expect("count dead signals");

    let seconds = |d: Option<Duration>| {
        d.map_or("never".to_string(), |d| format!("{:.1} s", d.as_secs_f64()))
    };
    println!("-- after the restart --");
    println!(
        "reached the other side: {} of {want_from_marketo} people changed in Marketo (all {made_in_marketo} changes: latest status) in {}; {} of {want_from_salesforce} changed in Salesforce (all {made_in_salesforce} changes) in {}",
        reached.0,
        seconds(marketo_done),
        reached.1,
        seconds(salesforce_done)
    );
    let pass_count = |feed: &str| passes.get(feed).map_or(0, HashSet::len);
    println!(
        "all converged {:.1} s after the restart (feed interval {interval} s: {:.2} of an interval); feed passes until then: Marketo activities {}, Salesforce changes {}, deleted poll {}",
        converged.as_secs_f64(),
        converged.as_secs_f64() / interval as f64,
        pass_count("marketo:activities"),
        pass_count("salesforce:member_changes"),
        pass_count("salesforce:deleted"),
    );
    println!(
        "signals recorded from the restart to convergence: {}; dead signals: {dead}",
        signals
            .iter()
            .map(|(origin, n)| format!("{origin} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "outcomes from the restart until the queue drained ({:.1} s after the restart): {}",
        drained.as_secs_f64(),
        outcomes
            .iter()
            .map(|(connector, result, n)| format!("{connector} {result} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "Salesforce outbound notifications acknowledged meanwhile (retries on Salesforce's schedule): {delivered_late} of {queued}; Marketo's echo webhooks of the service's writes: {echo_webhooks}"
    );
    println!(
        "API calls the simulators received from the service, restart to convergence (start-up passes included):"
    );
    calls.print();
    rig.stop().await;

    let mut missed = Vec::new();
    for (side, done, got, want) in [
        (
            "Marketo -> Salesforce",
            marketo_done,
            reached.0,
            want_from_marketo,
        ),
        (
            "Salesforce -> Marketo",
            salesforce_done,
            reached.1,
            want_from_salesforce,
        ),
    ] {
        match done {
            None => missed.push(format!("{side}: {got} of {want} changed people arrived")),
            Some(d) if d > Duration::from_secs(interval) => missed.push(format!(
                "{side}: all arrived, but {:.1} s after the restart, more than one feed interval",
                d.as_secs_f64()
            )),
            Some(_) => {}
        }
    }
    println!("total bench time {:.0} s", total.elapsed().as_secs_f64());
    if !missed.is_empty() {
        for line in &missed {
            println!("MISSED: {line}");
        }
        std::process::exit(1);
    }
    println!("every change reached the other side within one feed interval of the restart");
}
