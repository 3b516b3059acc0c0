//! The load side of the `marketo_webhooks` benchmark: 64 keep-alive connections posting
//! webhooks (or `GET /healthz`) to a child service, alternating rounds, with the CPU each side
//! used (and the service's SQLite threads, where the group-commit writer runs), the service's
//! group-commit timings from its `/metrics`, and its resident memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use campaign_sync::http::inbound::marketo::render_program_member;
use reqwest::Url;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use sqlx::Row;

use super::service_process::ServiceProcess;

pub const CONNECTIONS: usize = 64;
pub const TOKEN: &str = "bench-token";
/// Short alternating rounds, so load from other processes hits both endpoints alike.
const ROUNDS: usize = 6;
const WEBHOOK_ROUTE: &str = "/v1/marketo/webhooks";

#[derive(Clone, Copy, PartialEq)]
pub enum Load {
    Healthz,
    Webhooks,
    /// Authenticated webhooks refused with 400 after parsing: the HTTP and parsing share.
    Rejected,
}

/// One phase: answers per second, and CPU cores used by the service and by this process.
pub struct Phase {
    pub rate: f64,
    pub answered: u64,
    pub service_cores: f64,
    pub load_cores: f64,
    /// Of the service's, its SQLite connection threads' (none on PostgreSQL).
    pub sqlite_cores: f64,
}

/// A backend's result: mean rates over the rounds, webhooks accepted in all, peak memory.
pub struct Figures {
    pub health: f64,
    pub webhooks: f64,
    pub accepted: u64,
    pub peak_kib: u64,
}

impl Figures {
    pub fn ratio(&self) -> f64 {
        self.webhooks / self.health
    }
}

/// The load generator's side of the [`CONNECTIONS`] connections: one client each (so each task
/// keeps exactly one keep-alive connection, reused from phase to phase) and every part of a
/// request that does not change, made once, so neither the clients' setup (each loads the
/// system's root certificates) nor parsing the same URL again is counted against a phase.
pub struct Clients {
    clients: Vec<reqwest::Client>,
    healthz: Url,
    webhooks: Url,
    authorization: HeaderValue,
}

impl Clients {
    pub fn new(service: &ServiceProcess) -> anyhow::Result<Arc<Clients>> {
        let clients = (0..CONNECTIONS)
            .map(|_| reqwest::Client::builder().pool_max_idle_per_host(1).build())
            .collect::<Result<_, _>>()?;
        Ok(Arc::new(Clients {
            clients,
            healthz: Url::parse(&service.url("/healthz"))?,
            webhooks: Url::parse(&service.url(WEBHOOK_ROUTE))?,
            authorization: HeaderValue::from_str(&format!("Bearer {TOKEN}"))?,
        }))
    }

    /// One request of `load` on connection `index`; each accepted webhook names a new lead, so
    /// none is a duplicate.
    fn request(&self, index: usize, load: Load, lead_ids: &AtomicI64) -> reqwest::RequestBuilder {
        let client = &self.clients[index];
        let body = match load {
            Load::Healthz => return client.get(self.healthz.clone()),
            Load::Webhooks => {
                let lead = lead_ids.fetch_add(1, Ordering::Relaxed);
                render_program_member(lead, 1001, Some("bench@example.com"), None)
            }
            Load::Rejected => render_program_member(1, 1001, None, None).replace("\"1\"", "\"x\""),
        };
        client
            .post(self.webhooks.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .body(body)
    }
}

/// Warm-up, then [`ROUNDS`] rounds of `/healthz` then webhooks, each `phase` long.
pub async fn measure(
    label: &str,
    service: &ServiceProcess,
    clients: &Arc<Clients>,
    phase: Duration,
    lead_ids: &Arc<AtomicI64>,
) -> anyhow::Result<Figures> {
    println!(
        "{label}: {CONNECTIONS} connections, {} s per phase, {ROUNDS} rounds, service pid {}",
        phase.as_secs(),
        service.pid()
    );
    let second = Duration::from_secs(1);
    drive(service, clients, Load::Healthz, second, lead_ids).await?;
    let mut accepted = drive(service, clients, Load::Webhooks, second, lead_ids)
        .await?
        .answered;
    let (mut health_total, mut hook_total, mut writer_us) = (0.0, 0.0, 0.0);
    for round in 1..=ROUNDS {
        let health = drive(service, clients, Load::Healthz, phase, lead_ids).await?;
        let hooks = drive(service, clients, Load::Webhooks, phase, lead_ids).await?;
        println!(
            "  round {round}: GET /healthz {:>7.0} req/s   POST {WEBHOOK_ROUTE} {:>7.0} accepted/s   \
             ratio {:.2}   CPU cores (service + load): healthz {:.2} + {:.2}, webhooks {:.2} + {:.2} \
             (SQLite threads {:.2})",
            health.rate,
            hooks.rate,
            hooks.rate / health.rate,
            health.service_cores,
            health.load_cores,
            hooks.service_cores,
            hooks.load_cores,
            hooks.sqlite_cores,
        );
        health_total += health.rate;
        hook_total += hooks.rate;
        writer_us += 1e6 * hooks.sqlite_cores / hooks.rate / ROUNDS as f64;
        accepted += hooks.answered;
    }
    let memory = service.memory()?;
    let figures = Figures {
        health: health_total / ROUNDS as f64,
        webhooks: hook_total / ROUNDS as f64,
        accepted,
        peak_kib: memory.peak_kib,
    };
    println!(
        "  mean:    GET /healthz {:>7.0} req/s   POST {WEBHOOK_ROUTE} {:>7.0} accepted/s   ratio {:.2}",
        figures.health,
        figures.webhooks,
        figures.ratio()
    );
    print_timings(service).await?;
    if writer_us > 0.0 {
        println!(
            "  SQLite's threads (the group-commit writer's): {writer_us:.1} µs of CPU per durable \
             webhook; one thread's whole core would take {:.0} webhooks/s",
            1e6 / writer_us
        );
    }
    println!(
        "  service memory: peak resident {:.1} MiB (VmHWM), now {:.1} MiB (VmRSS)",
        memory.peak_kib as f64 / 1024.0,
        memory.now_kib as f64 / 1024.0
    );
    Ok(figures)
}

/// Runs `load` on [`CONNECTIONS`] keep-alive connections for `length`.
pub async fn drive(
    service: &ServiceProcess,
    clients: &Arc<Clients>,
    load: Load,
    length: Duration,
    lead_ids: &Arc<AtomicI64>,
) -> anyhow::Result<Phase> {
    let service_cpu = cpu_seconds(&format!("/proc/{}/stat", service.pid()))?;
    let sqlite_cpu = sqlite_thread_seconds(service.pid())?;
    let own_cpu = cpu_seconds("/proc/self/stat")?;
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = Vec::with_capacity(CONNECTIONS);
    for index in 0..CONNECTIONS {
        let clients = Arc::clone(clients);
        let lead_ids = Arc::clone(lead_ids);
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                let response = clients.request(index, load, &lead_ids).send().await?;
                let status = response.status().as_u16();
                response.bytes().await?;
                anyhow::ensure!(status == load.status(), "unexpected status {status}");
                done += 1;
            }
            anyhow::Ok(done)
        }));
    }
    let mut answered = 0;
    for task in tasks {
        answered += task.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Phase {
        rate: answered as f64 / elapsed,
        answered,
        service_cores: (cpu_seconds(&format!("/proc/{}/stat", service.pid()))? - service_cpu)
            / elapsed,
        load_cores: (cpu_seconds("/proc/self/stat")? - own_cpu) / elapsed,
        sqlite_cores: (sqlite_thread_seconds(service.pid())? - sqlite_cpu) / elapsed,
    })
}

/// CPU seconds of the service's SQLite connection threads (sqlx names them `sqlx-sqlite-worker`,
/// which `comm` cuts to 15 bytes); the group-commit writer's is the busy one. A thread that ends
/// while being read counts as nothing.
fn sqlite_thread_seconds(pid: u32) -> anyhow::Result<f64> {
    let mut total = 0.0;
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let task = entry?.path();
        let name = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
        if name.starts_with("sqlx-sqlite") || name.starts_with("sqlite-writer") {
            total += cpu_seconds(&task.join("stat").to_string_lossy()).unwrap_or(0.0);
        }
    }
    Ok(total)
}

impl Load {
    fn status(self) -> u16 {
        match self {
            Load::Healthz => 200,
            Load::Webhooks => 202,
            Load::Rejected => 400,
        }
    }
}

/// User plus system CPU seconds of a process, from its `/proc/.../stat` (ticks of 1/100 s).
fn cpu_seconds(stat_path: &str) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(stat_path)?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .ok_or_else(|| anyhow::anyhow!("short {stat_path}"))?
            .parse::<f64>()?)
    };
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// Where a durable acknowledgement's time went, from the service's own metrics.
async fn print_timings(service: &ServiceProcess) -> anyhow::Result<()> {
    let text = reqwest::get(service.url("/metrics")).await?.text().await?;
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    let commits = value("store_group_commit_seconds_count");
    let requests = value("store_group_commit_requests_total");
    let commit_ms = 1000.0 * value("store_group_commit_seconds_sum") / commits;
    let route = format!("{{method=\"POST\",route=\"{WEBHOOK_ROUTE}\"}}");
    let served_ms = 1000.0 * value(&format!("http_request_duration_seconds_sum{route}"))
        / value(&format!("http_request_duration_seconds_count{route}"));
    println!(
        "  where the time goes: {commits:.0} group commits of {:.1} requests on average, \
         {commit_ms:.2} ms each (insert and sync to disk); a webhook spends {served_ms:.2} ms \
         in the service (waiting for its group, then in it)",
        requests / commits
    );
    Ok(())
}

/// Every accepted webhook is a stored signal, exactly once.
pub async fn check_all_stored(url: &str, accepted: u64) -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    let stored: i64 = sqlx::query("SELECT COUNT(*) FROM signals")
        .fetch_one(&pool)
        .await?
        .try_get(0)?;
    pool.close().await;
    anyhow::ensure!(
        u64::try_from(stored)? == accepted,
        "{stored} signals stored for {accepted} accepted webhooks"
    );
    Ok(())
}
