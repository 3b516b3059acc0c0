//! Progress of a long command on stderr: a bar with counts and an estimate of the time left on
//! a terminal, plain lines (at most one every few seconds) otherwise.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::store::{Store, now_millis};

const WIDTH: usize = 30;
/// Plain output writes a line at most this often.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// One line of progress: `label [#####-----] done/total (pct%), about N s left`.
pub fn render(label: &str, done: u64, total: u64, elapsed: Duration) -> String {
    let total = total.max(done);
    if total == 0 {
        return format!("{label}: nothing to do");
    }
    let filled = usize::try_from(done * WIDTH as u64 / total).unwrap_or(WIDTH);
    let bar = format!("{}{}", "#".repeat(filled), "-".repeat(WIDTH - filled));
    format!("{label} [{bar}] {}", counts(done, total, elapsed))
}

/// One plain line of progress, for a log rather than a terminal: `label: done/total (pct%),
/// about N s left`.
pub fn render_plain(label: &str, done: u64, total: u64, elapsed: Duration) -> String {
    let total = total.max(done);
    if total == 0 {
        return format!("{label}: nothing to do");
    }
    format!("{label}: {}", counts(done, total, elapsed))
}

/// `done/total (pct%), about N s left` (no estimate before the first or after the last).
fn counts(done: u64, total: u64, elapsed: Duration) -> String {
    let percent = done * 100 / total;
    let left = if done == 0 || done == total {
        String::new()
    } else {
        let per_item = elapsed.as_secs_f64() / done as f64;
        let seconds = (per_item * (total - done) as f64).ceil() as u64;
        format!(", about {seconds} s left")
    };
    format!("{done}/{total} ({percent}%){left}")
}

/// A progress display on stderr.
pub struct Bar {
    label: String,
    terminal: bool,
    started: Instant,
    last_plain: Option<Instant>,
}

impl Bar {
    pub fn new(label: impl Into<String>) -> Bar {
        Bar {
            label: label.into(),
            terminal: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last_plain: None,
        }
    }

    pub fn update(&mut self, done: u64, total: u64) {
        let elapsed = self.started.elapsed();
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let line = render(&self.label, done, total, elapsed);
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
        } else if self.last_plain.is_none_or(|t| t.elapsed() >= PLAIN_EVERY) {
            self.last_plain = Some(Instant::now());
            let _ = writeln!(err, "{}", render_plain(&self.label, done, total, elapsed));
        }
    }

    pub fn finish(&mut self, done: u64, total: u64) {
        let elapsed = self.started.elapsed();
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal {
            let line = render(&self.label, done, total, elapsed);
            writeln!(err, "\r\x1b[2K{line}")
        } else {
            writeln!(err, "{}", render_plain(&self.label, done, total, elapsed))
        };
    }
}

/// Watches the inbox while the worker processes the signals a reconciliation queued (a
/// difference may take one per side, so they can outnumber the differences): total is what
/// was waiting when it started, done is how many of those a round has finished (a claimed
/// signal counts once its round has written it, not when it is claimed).
pub struct RepairWatch {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl RepairWatch {
    pub async fn start(store: Store) -> RepairWatch {
        let stop = CancellationToken::new();
        let total = in_flight(&store).await.unwrap_or(0);
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let mut bar = Bar::new("repair signals");
            let mut done = 0;
            loop {
                // Never backwards: a repair whose write failed and is retried comes back due.
                if let Some(remaining) = in_flight(&store).await {
                    done = done.max(total.saturating_sub(remaining));
                    bar.update(done, total);
                }
                tokio::select! {
                    () = token.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
            }
            let remaining = in_flight(&store).await.unwrap_or(0);
            bar.finish(total.saturating_sub(remaining).max(done), total);
        });
        RepairWatch { stop, task }
    }

    /// Stops watching and prints the final line.
    pub async fn finish(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Signals due or in a round now.
pub async fn in_flight(store: &Store) -> Option<u64> {
    match store.backlog(now_millis()).await {
        Ok(backlog) => Some(u64::try_from(backlog.due + backlog.in_progress).unwrap_or(0)),
        Err(error) => {
            tracing::warn!(%error, "progress: could not count the due repairs");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_counts_and_an_estimate() {
        let line = render("repairs", 25, 100, Duration::from_secs(10));
        assert_eq!(
            line,
            "repairs [#######-----------------------] 25/100 (25%), about 30 s left"
        );
        let done = render("repairs", 100, 100, Duration::from_secs(40));
        assert_eq!(done, format!("repairs [{}] 100/100 (100%)", "#".repeat(30)));
        assert_eq!(
            render("repairs", 0, 0, Duration::ZERO),
            "repairs: nothing to do"
        );
    }

    #[test]
    fn a_plain_line_has_the_counts_and_estimate_without_the_bar() {
        assert_eq!(
            render_plain("repairs", 25, 100, Duration::from_secs(10)),
            "repairs: 25/100 (25%), about 30 s left"
        );
        assert_eq!(
            render_plain("repairs", 100, 100, Duration::from_secs(40)),
            "repairs: 100/100 (100%)"
        );
    }
}
