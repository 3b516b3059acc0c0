//! `campaign-sync status --url URL`: the overview of a running service (`GET /admin/status`)
//! printed for a terminal.

use std::fmt::Write;

use crate::http::admin_status::Overview;

/// Reads the overview from the service at `url` with the admin token.
/// Why `--url` is not the service's address (a usage error, told before anything is asked).
pub fn url_problem(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok();
    let usable = parsed
        .as_ref()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !usable {
        return Some(format!(
            "--url {url:?} is not the service's address: give it as http://HOST:PORT (its \
             admin listener when admin_listen is set)"
        ));
    }
    // The overview's path is added here; a URL that already has one would be asked twice.
    let path = parsed.as_ref().map(|u| u.path()).filter(|p| *p != "/")?;
    Some(format!(
        "--url {url:?} holds a path ({path}): give the service's address alone, as \
         http://HOST:PORT"
    ))
}

pub async fn fetch(url: &str, token: &str) -> anyhow::Result<Overview> {
    if let Some(problem) = url_problem(url) {
        anyhow::bail!("{problem}");
    }
    let url = format!("{}/admin/status", url.trim_end_matches('/'));
    let response = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()?
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("could not reach {url}: {}", causes(&e)))?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED {
        anyhow::bail!(
            "{url} refused the admin token (give the service's admin.token with --token or \
             CAMPAIGN_SYNC_ADMIN__TOKEN; a service whose admin.token is empty refuses every one)"
        );
    }
    if status == reqwest::StatusCode::NOT_FOUND {
        anyhow::bail!(
            "{url} answered 404: this address serves no /admin/ (with admin_listen set, the \
             overview is only on that listener: give its address with --url)"
        );
    }
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        anyhow::bail!("{url} answered {status}: {body}");
    }
    response
        .json()
        .await
        .map_err(|e| anyhow::anyhow!("{url} did not answer with a status overview: {e}"))
}

/// Why a request failed, as its cause chain ("connection refused", "timed out"), without
/// reqwest's own line that repeats the URL.
fn causes(error: &reqwest::Error) -> String {
    let mut chain = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    if error.is_timeout() && chain.is_empty() {
        chain.push("timed out".into());
    }
    if chain.is_empty() {
        chain.push(error.to_string());
    }
    chain.join(": ")
}

fn when(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || "—".to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
}

/// The overview as lines of text.
pub fn render(url: &str, o: &Overview) -> String {
    let mut out = String::new();
    let sync = if o.sync_enabled {
        "enabled"
    } else {
        "DISABLED"
    };
    let _ = writeln!(
        out,
        "campaign-sync at {url}: sync {sync} ({})",
        when(Some(o.generated_at))
    );
    if !o.unconfigured.is_empty() {
        let _ = writeln!(out, "CONFIGURATION INCOMPLETE: started without");
        for key in &o.unconfigured {
            let _ = writeln!(out, "  - {key}");
        }
    }
    let _ = writeln!(out, "\nMappings");
    if o.mappings.is_empty() {
        let _ = writeln!(
            out,
            "  none configured: the service receives but syncs nothing ([[mappings]] in its file)"
        );
    }
    for m in &o.mappings {
        let state = match (m.enabled, m.held) {
            (_, true) => "HELD",
            (true, false) => "enabled",
            (false, false) => "disabled",
        };
        let _ = writeln!(
            out,
            "  {}  {state}  {} member(s)  (program {} ⇄ campaign {})",
            m.name, m.members, m.program_id, m.campaign_id
        );
        for problem in &m.problems {
            let _ = writeln!(out, "    problem: {problem}");
        }
        for (key, label) in [
            ("lastHour", "last hour"),
            ("lastDay", "last day"),
            ("lastFiveDays", "last 5 days"),
        ] {
            let c = m.changes.get(key).cloned().unwrap_or_default();
            let n = |k: &str| c.get(k).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "    {label:<12} added {}, status changed {}, removed {}, failed {}, skipped {}, \
                 overruled {}, diverged {} (echoes {})",
                n("added"),
                n("status_changed"),
                n("removed"),
                n("failed"),
                n("skipped"),
                n("overruled"),
                n("diverged"),
                n("echoed")
            );
        }
    }
    let _ = writeln!(
        out,
        "\nEach side (as the replica calling it last saw it; calls and pauses for all replicas)"
    );
    for (name, side) in &o.upstreams {
        let mut line = format!("  {name:<11} {}", side.state);
        if side.health.consecutive_auth_failures > 0 {
            let _ = write!(
                line,
                ", {} authentication failure(s) in a row",
                side.health.consecutive_auth_failures
            );
        }
        if side.health.failing_since.is_some() {
            let _ = write!(line, ", failing since {}", when(side.health.failing_since));
        }
        let _ = write!(line, ", calls today: {}", side.calls_summary(name));
        if side.paused_until.is_some() {
            let _ = write!(
                line,
                ", PAUSED until {} (its calls wait)",
                when(side.paused_until)
            );
            if let Some(reason) = &side.pause_reason {
                let _ = write!(line, ": {reason}");
            }
        }
        if let Some(held) = &side.scheduled_held {
            let _ = write!(line, ", scheduled passes wait: {held}");
        }
        if let Some(w) = side.rate_window {
            let _ = write!(
                line,
                ", rate window {} of {} calls in the last {} s",
                w.used, w.limit, w.window_secs
            );
        }
        let _ = writeln!(out, "{line}");
        if let Some(error) = &side.health.last_error {
            // An error from before the side came back is history, not its state.
            let at = when(side.health.last_error_at);
            let label = if side.state == "up" {
                format!("last error (at {at}, recovered since)")
            } else {
                format!("last error (at {at})")
            };
            let _ = writeln!(out, "    {label}: {error}");
        }
        if let Some(refusal) = &side.health.last_refusal {
            let at = when(side.health.last_refusal_at);
            let _ = writeln!(out, "    last refusal (at {at}): {refusal}");
        }
    }
    let w = &o.worker;
    let _ = writeln!(out, "\nWorker");
    let _ = writeln!(
        out,
        "  runs on: {}; answered by: {}",
        w.leader_replica
            .as_deref()
            .unwrap_or("NOBODY (no replica runs the worker now)"),
        if w.replica.is_empty() {
            "—"
        } else {
            &w.replica
        }
    );
    let _ = writeln!(
        out,
        "  answering replica leads: {}; last round {}; {}",
        if w.leader { "yes" } else { "no" },
        when(w.last_round_at),
        if w.healthy { "healthy" } else { "UNHEALTHY" }
    );
    let _ = writeln!(
        out,
        "  backlog: {} due, {} in progress, {} retrying, {} postponed, {} dead; oldest waiting {}",
        w.backlog.due,
        w.backlog.in_progress,
        w.backlog.retrying,
        w.backlog.postponed,
        w.backlog.dead,
        w.oldest_age_seconds
            .map_or("—".to_string(), |s| format!("{s} s"))
    );
    if w.backlog.retrying > 0 {
        let _ = writeln!(out, "  next retry: {}", when(w.backlog.next_retry_at));
    }
    if let Some(error) = &w.last_error {
        let _ = writeln!(out, "  last error: {error}");
    }
    if !o.outbox.is_empty() {
        let _ = writeln!(out, "deliveries");
        for (destination, c) in &o.outbox {
            let _ = writeln!(
                out,
                "  {destination}: {} waiting, {} dead",
                c.pending, c.dead
            );
        }
    }
    out
}

/// Fetches and prints the overview.
/// The admin token `status` uses, or why it has none (a usage error). `flag`: `--token` given
/// on the command line, which wins outright: the operator named the token to use. Otherwise
/// `variable` (`CAMPAIGN_SYNC_ADMIN__TOKEN`), else the file `serve` reads the token from; the
/// variable and the file both set, or a file that cannot be read, is refused as every command
/// refuses it.
pub fn token(flag: Option<String>, variable: Option<String>) -> Result<String, String> {
    let usable = |token: &String| !token.trim().is_empty();
    if let Some(token) = flag.filter(usable) {
        return Ok(token.trim().to_string());
    }
    let from_file = crate::config::read_secret_file("admin.token")?;
    variable
        .or(from_file)
        .filter(usable)
        .map(|t| t.trim().to_string())
        .ok_or_else(|| {
            "status needs the admin token: give --token or set CAMPAIGN_SYNC_ADMIN__TOKEN (or \
         CAMPAIGN_SYNC_ADMIN__TOKEN_FILE)"
                .to_string()
        })
}

/// The `status` command: `Err` with its message for a usage error (a `--url` that is not the
/// service's address, no token: exit 2), else the overview printed or why it could not be read.
pub async fn command(
    url: &str,
    flag: Option<String>,
    variable: Option<String>,
) -> Result<anyhow::Result<()>, String> {
    if let Some(problem) = url_problem(url) {
        return Err(problem);
    }
    let token = token(flag, variable)?;
    Ok(run(url, &token).await)
}

pub async fn run(url: &str, token: &str) -> anyhow::Result<()> {
    let overview = fetch(url, token).await?;
    print!("{}", render(url, &overview));
    Ok(())
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
