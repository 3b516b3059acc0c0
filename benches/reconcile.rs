//! Issue 8's benchmark: reconciliation of one mapping with 50,000 members, consistent on both
//! sides and in the mirror. Prints the API calls (Marketo, Salesforce) and wall time of
//! `worker.reconcile()` with nothing to repair, then after 1% drift (250 members changed in
//! Salesforce by the integration client, so no outbound message, and 250 changed in Marketo with
//! no webhook configured) the calls and time of `reconcile()` and of the `run_pending()` repair,
//! and checks that both sides and the mirror agree afterwards. The simulators answer at once
//! (latency 0); Marketo's rate limit (100 calls per 20 s) applies on both sides of the wire.
//! Between the two passes, `campaign-sync reconcile --dry-run` runs as its own process on a copy
//! of the store against the same simulators, and its peak resident memory (`VmHWM`, read from
//! `/proc/<pid>/status` while it runs) is printed: the memory one reconciliation of 50,000
//! members needs, without the simulators' data that shares this process. It runs twice: reading
//! Marketo by member queries, then by the bulk extract a program over Marketo's 100,000-member
//! cap is read by (the simulator's cap lowered below the program's size for that run).
//!
//! Run: `cargo bench --bench reconcile`

use std::collections::HashMap;
use std::io::Write as _;
use std::time::{Duration, Instant};

#[path = "rig/mod.rs"]
mod rig;

use rig::*;

const MEMBERS: usize = 50_000;
const DRIFT_EACH_SIDE: usize = 250;

fn print_pass(label: &str, calls: (u64, u64), elapsed: f64) {
    println!(
        "{label}: Marketo calls {}, Salesforce calls {}, wall time {elapsed:.2} s",
        calls.0, calls.1
    );
}

/// Runs one reconciliation and prints it; true when every mapping reconciled.
async fn reconcile(rig: &Rig, label: &str) -> bool {
    let before = rig.calls();
    let started = Instant::now();
    let reports = rig.worker.reconcile().await;
    let elapsed = started.elapsed().as_secs_f64();
    let after = rig.calls();
    let calls = (after.0 - before.0, after.1 - before.1);
    print_pass(label, calls, elapsed);
    let windows = calls.0.saturating_sub(1) / u64::from(rig.mk.config().rate_limit_calls);
    println!(
        "   (Marketo's rate limit alone makes {} calls take at least {} s)",
        calls.0,
        windows * rig.mk.config().rate_limit_window.as_secs()
    );
    let ok = reports.iter().all(Result::is_ok);
    for report in reports {
        match report {
            Ok(r) => println!(
                "   members: Salesforce {}, Marketo {}; changed in Salesforce {}, in Marketo {}; removed from Salesforce {}, from Marketo {}; signals_queued {}",
                r.salesforce_members,
                r.marketo_members,
                r.salesforce_changed,
                r.marketo_changed,
                r.salesforce_removed,
                r.marketo_removed,
                r.signals_queued
            ),
            Err((mapping, error)) => {
                println!("   mapping {mapping}: reconciliation FAILED: {error}")
            }
        }
    }
    ok
}

/// Reconciles; after a failure waits for Marketo's rate window to empty and tries again, up to
/// three attempts in all.
async fn reconcile_retrying(rig: &Rig, label: &str) {
    for attempt in 1..=3 {
        let label = if attempt == 1 {
            label.to_string()
        } else {
            format!("{label} (attempt {attempt})")
        };
        if reconcile(rig, &label).await {
            return;
        }
        let wait = rig.mk.config().rate_limit_window + Duration::from_secs(1);
        println!(
            "   waiting {} s for the rate window to empty",
            wait.as_secs()
        );
        tokio::time::sleep(wait).await;
    }
}

/// `VmHWM` of a running process, in KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// How the dry run reads Marketo's members.
#[derive(Clone, Copy, PartialEq)]
enum Read {
    /// Member queries by status, as for any program under Marketo's 100,000-member cap.
    StatusQueries,
    /// The bulk extract a program over the cap is read by (the cap lowered for this run).
    BulkExtract,
}

/// Runs `campaign-sync reconcile --dry-run --json` on a copy of the store and prints its peak
/// resident memory, wall time and calls.
async fn dry_run_process(rig: &Rig, read: Read) {
    let copy = rig._dir.path().join("dry-run-copy.db");
    let _ = std::fs::remove_file(&copy);
    if read == Read::BulkExtract {
        rig.mk.set_member_filter_cap(MEMBERS - 1);
    }
    sqlx::query("VACUUM INTO ?")
        .bind(copy.display().to_string())
        .execute(&rig.db)
        .await
        .expect("copy the store");
    let mut sf = campaign_sync::config::SalesforceConfig::default();
    rig.sf
        .configure_service(&mut sf, INTEGRATION)
        .expect("Salesforce settings");
    let mk = rig.mk.config().clients[0].clone();
    let toml = format!(
        "database_url = \"sqlite://{}\"\n\
         [salesforce]\nlogin_url = \"{}\"\napi_version = \"{}\"\nclient_id = \"{}\"\n\
         client_secret = \"{}\"\norganization_ids = [\"{}\"]\ninbound_token = \"unused\"\n\
         [marketo]\nbase_url = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n\
         webhook_token = \"unused\"\nextract_poll_secs = 0\n\
         [[mappings]]\nname = \"{MAPPING}\"\nprogram_id = {PROGRAM}\ncampaign_id = \"{}\"\n",
        copy.display(),
        sf.login_url,
        sf.api_version,
        sf.client_id,
        sf.client_secret.expose(),
        sf.organization_ids[0],
        rig.mk.base_url(),
        mk.client_id,
        mk.client_secret,
        rig.campaign,
    );
    let mut file = tempfile::NamedTempFile::new().expect("config file");
    file.write_all(toml.as_bytes()).expect("write config");
    let started = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_campaign-sync"))
        .args(["reconcile", "--dry-run", "--json", "--config"])
        .arg(file.path())
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start campaign-sync reconcile");
    let pid = child.id().expect("child pid");
    let mut stdout = child.stdout.take().expect("stdout");
    let output = tokio::spawn(async move {
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut text)
            .await
            .map(|_| text)
    });
    // VmHWM only grows: the last reading before the process exits is its peak, give or take
    // what it allocates in its last 10 ms (printing one line).
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = peak_kib(pid) {
            peak = peak.max(kib);
        }
        tokio::select! {
            status = child.wait() => break status.expect("wait for reconcile"),
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let line = output.await.expect("reader").unwrap_or_default();
    let result: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_default();
    rig.mk
        .set_member_filter_cap(rig.mk.config().member_filter_cap);
    let how = match read {
        Read::StatusQueries => "member queries by status",
        Read::BulkExtract => "bulk extract",
    };
    println!(
        "campaign-sync reconcile --dry-run (own process, {how}): peak resident memory {:.1} MiB (VmHWM), wall time {elapsed:.2} s, exit {:?}; calls Marketo {}, Salesforce {}; differences {}",
        peak as f64 / 1024.0,
        status.code(),
        result["calls"]["marketo"],
        result["calls"]["salesforce"],
        result["differences"],
    );
}

#[tokio::main]
async fn main() {
    let total = Instant::now();
    let rig = rig(Duration::ZERO, false, false).await;
    let seeding = Instant::now();
    let people = rig.seed(MEMBERS).await;
    println!(
        "== reconcile: {MEMBERS} members consistent on both sides and in the mirror (seeded in {:.1} s); simulator latency 0, Marketo rate limit {} calls / {} s ==",
        seeding.elapsed().as_secs_f64(),
        rig.mk.config().rate_limit_calls,
        rig.mk.config().rate_limit_window.as_secs()
    );
    // Tokens and the statuses check are the worker's start-up, not part of what is timed.
    rig.worker.check_statuses().await;

    reconcile_retrying(&rig, "reconcile(), nothing to repair").await;
    let pause = rig.mk.config().rate_limit_window + Duration::from_secs(1);
    tokio::time::sleep(pause).await;
    dry_run_process(&rig, Read::StatusQueries).await;
    tokio::time::sleep(pause).await;
    dry_run_process(&rig, Read::BulkExtract).await;
    // Reconciliation runs daily; let the rate window the passes filled empty again, as it
    // would between two scheduled passes.
    println!(
        "(pausing {} s so Marketo's rate window is empty again)",
        pause.as_secs()
    );
    tokio::time::sleep(pause).await;

    for person in &people[..DRIFT_EACH_SIDE] {
        rig.sf
            .update_member(INTEGRATION, &person.sf_member, "Registered")
            .expect("Salesforce change without outbound message");
    }
    for person in &people[DRIFT_EACH_SIDE..2 * DRIFT_EACH_SIDE] {
        rig.mk
            .set_status_as_user(PROGRAM, person.mkto_lead, "Registered")
            .expect("Marketo change without webhook");
    }
    println!(
        "-- 1% drift: {DRIFT_EACH_SIDE} changed in Salesforce (integration client, no outbound message), {DRIFT_EACH_SIDE} in Marketo (no webhook) --"
    );
    reconcile_retrying(&rig, "reconcile(), 1% drift").await;

    let before = rig.calls();
    let writes_before = rig.writes();
    let started = Instant::now();
    let report = rig.worker.run_pending().await.expect("run_pending");
    let elapsed = started.elapsed().as_secs_f64();
    let after = rig.calls();
    let writes_after = rig.writes();
    print_pass(
        "run_pending() repair",
        (after.0 - before.0, after.1 - before.1),
        elapsed,
    );
    println!(
        "   {report:?}; writes: Marketo {}, Salesforce {}",
        writes_after.0 - writes_before.0,
        writes_after.1 - writes_before.1
    );

    // Both sides, and the mirror, agree for every person.
    let (sf, mk) = rig.statuses();
    let mirror: HashMap<String, (Option<String>, Option<String>)> = rig
        .store
        .mirror_rows(MAPPING)
        .await
        .expect("mirror rows")
        .into_iter()
        .map(|r| (r.person, (r.sf_status, r.mkto_status)))
        .collect();
    let mut disagree = 0;
    let mut mirror_off = 0;
    for person in &people {
        let s = sf.get(&person.sf_member);
        let m = mk.get(&person.mkto_lead);
        if s.is_none() || s != m {
            disagree += 1;
        }
        let row = mirror.get(&person.identity.to_string());
        if row.is_none_or(|(rs, rm)| rs.as_ref() != s || rm.as_ref() != m) {
            mirror_off += 1;
        }
    }
    let registered = people[..2 * DRIFT_EACH_SIDE]
        .iter()
        .filter(|p| mk.get(&p.mkto_lead).map(String::as_str) == Some("Registered"))
        .count();
    println!(
        "after repair: {disagree} of {MEMBERS} people differ between Salesforce and Marketo, {mirror_off} differ from the mirror; {registered} of {} drifted people at \"Registered\" on both sides",
        2 * DRIFT_EACH_SIDE
    );
    rig.stop().await;
    println!("total bench time {:.0} s", total.elapsed().as_secs_f64());
}
