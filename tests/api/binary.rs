//! Running the `campaign-sync` binary as an operator would: a complete environment, a child
//! `serve` that is stopped when dropped, and plain HTTP requests to it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_campaign-sync");

pub const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/deploy/campaign-sync.example.toml"
);

/// Everything `serve` requires that the example leaves empty, as environment variables. The
/// URLs point at a closed port: nothing in these tests reaches either API.
pub const RUNNABLE_ENV: &[(&str, &str)] = &[
    ("CAMPAIGN_SYNC_SALESFORCE__LOGIN_URL", "http://127.0.0.1:9"),
    ("CAMPAIGN_SYNC_SALESFORCE__CLIENT_ID", "sf-client"),
    ("CAMPAIGN_SYNC_SALESFORCE__CLIENT_SECRET", "sf-secret"),
    (
        "CAMPAIGN_SYNC_SALESFORCE__ORGANIZATION_IDS",
        "[\"00D000000000001EAA\"]",
    ),
    ("CAMPAIGN_SYNC_SALESFORCE__INBOUND_TOKEN", "sf-inbound"),
    ("CAMPAIGN_SYNC_MARKETO__BASE_URL", "http://127.0.0.1:9"),
    ("CAMPAIGN_SYNC_MARKETO__CLIENT_ID", "mkto-client"),
    ("CAMPAIGN_SYNC_MARKETO__CLIENT_SECRET", "mkto-secret"),
    ("CAMPAIGN_SYNC_MARKETO__WEBHOOK_TOKEN", "mkto-webhook"),
    ("CAMPAIGN_SYNC_ADMIN__TOKEN", "admin-token"),
    // No background worker: nothing here is mapped, and its polls would only log refusals.
    ("CAMPAIGN_SYNC_WORKER__ENABLED", "false"),
];

/// The binary with `args`, a complete environment and then `env` (which wins).
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env_remove("CAMPAIGN_SYNC_LOG_FORMAT");
    for (key, value) in RUNNABLE_ENV.iter().chain(env) {
        command.env(key, value);
    }
    command
}

pub fn output(args: &[&str], env: &[(&str, &str)]) -> Output {
    command(args, env).output().expect("run campaign-sync")
}

/// Standard output and error together, for assertions that do not care which.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("bound address").to_string()
}

/// A `serve` child, killed when dropped so a failing test leaves no process behind. Its stderr
/// goes to a file (a pipe nobody reads would fill up and stall it), shown if it exits early.
pub struct Served {
    pub child: Child,
    stderr: tempfile::NamedTempFile,
}

impl Served {
    /// `serve` on the shipped example, listening on `listen`, storing in `database_url`, with
    /// the complete environment and then `env`.
    pub fn example(listen: &str, database_url: &str, env: &[(&str, &str)]) -> Served {
        let args = [
            "serve",
            "--config",
            EXAMPLE,
            "--listen",
            listen,
            "--database-url",
            database_url,
        ];
        Served::start(&args, env)
    }

    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Served {
        Served::spawn(command(args, env))
    }

    /// `command` (the binary with its arguments and environment) as a `serve` child.
    pub fn spawn(mut command: Command) -> Served {
        let stderr = tempfile::NamedTempFile::new().expect("stderr file");
        let child = command
            .stdout(Stdio::null())
            .stderr(stderr.reopen().expect("reopen stderr file"))
            .spawn()
            .expect("spawn campaign-sync serve");
        Served { child, stderr }
    }

    /// Polls `GET /healthz` on `address` until it answers 200; fails if the process exits first
    /// or after 20 s.
    pub fn wait_healthy(&mut self, address: &str) {
        let started = Instant::now();
        while request(address, "GET", "/healthz", &[], "").map(|r| r.0) != Some(200) {
            if let Some(status) = self.child.try_wait().expect("poll child") {
                let mut stderr = String::new();
                let _ = self
                    .stderr
                    .reopen()
                    .map(|mut f| f.read_to_string(&mut stderr));
                panic!("serve exited with {status} before answering: {stderr}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "serve never answered /healthz on {address}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Served {
    /// What the process has logged so far.
    pub fn log(&self) -> String {
        let mut log = String::new();
        let _ = self.stderr.reopen().map(|mut f| f.read_to_string(&mut log));
        log
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request; the status and the response body, or `None` when nothing answered.
pub fn request(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(head.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}
