//! The real `campaign-sync serve` binary as a child process: started on a temporary
//! configuration, its address read from its own "listening" log line (no port guessing), its
//! memory read from `/proc`, and stopped with SIGKILL. Shared by the kill-during-burst test and
//! the `marketo_webhooks` benchmark (which includes this file by path).

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_campaign-sync");
/// Log lines kept to explain a child that never came up.
const KEPT_LINES: usize = 40;

pub struct ServiceProcess {
    child: Child,
    pub address: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    _config: tempfile::NamedTempFile,
}

/// Resident memory of a process, in KiB, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// `VmHWM`: the peak resident set since the process started.
    pub peak_kib: u64,
    /// `VmRSS`: the resident set now.
    pub now_kib: u64,
}

impl ServiceProcess {
    /// Runs `serve --config <file with config_toml> --listen 127.0.0.1:0` and waits (at most
    /// 60 s) for the line saying where it listens. Panics with the child's log otherwise.
    pub fn spawn(config_toml: &str) -> ServiceProcess {
        let mut config = tempfile::NamedTempFile::new().expect("temp config file");
        config
            .write_all(config_toml.as_bytes())
            .expect("write config");
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(config.path())
            .env("CAMPAIGN_SYNC_LOG_FORMAT", "json")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start campaign-sync serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = mpsc::channel();
        let kept = Arc::clone(&log);
        // Reads every line, so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = listening_address(&line) {
                    let _ = address_tx.send(address);
                }
                let mut kept = kept.lock().expect("log lock");
                if kept.len() == KEPT_LINES {
                    kept.remove(0);
                }
                kept.push(line);
            }
        });
        let address = match address_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "campaign-sync serve did not report its address in 60 s; its log:\n{}",
                    log.lock().expect("log lock").join("\n")
                );
            }
        };
        ServiceProcess {
            child,
            address,
            log,
            _config: config,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child's resident memory now and at its peak.
    pub fn memory(&self) -> std::io::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                .ok_or_else(|| std::io::Error::other(format!("no {name} in /proc status")))
        };
        Ok(Memory {
            peak_kib: field("VmHWM:")?,
            now_kib: field("VmRSS:")?,
        })
    }

    /// SIGKILL: no drain, no close, no flush; then reaps the child.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the service");
        self.child.wait().expect("reap the service");
    }

    /// The last lines the child logged.
    pub fn log_tail(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The address in the service's JSON "listening" line.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    if value.get("message")?.as_str()? != "listening" {
        return None;
    }
    value.get("address")?.as_str()?.parse().ok()
}
