//! The binary as an operator runs it: exit codes, messages, serve and SIGTERM.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_campaign-sync");

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_remove("CAMPAIGN_SYNC_LOG_FORMAT")
        .output()
        .expect("run campaign-sync")
}

fn write_config(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

#[test]
fn version_and_help() {
    let version = run(&["--version"]);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("campaign-sync "));
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    for command in ["serve", "migrate", "check-config"] {
        assert!(help.contains(command), "{help}");
    }
}

/// Each command offers the flags it uses: those that open the database but listen on nothing
/// take no `--listen`, and refuse it as a usage error.
#[test]
fn commands_offer_only_the_flags_they_use() {
    for command in ["migrate", "reconcile"] {
        let help = String::from_utf8(run(&[command, "--help"]).stdout).unwrap();
        assert!(help.contains("--database-url"), "{command}: {help}");
        assert!(!help.contains("--listen"), "{command}: {help}");
        let refused = run(&[command, "--listen", "127.0.0.1:0"]);
        assert_eq!(refused.status.code(), Some(2), "{command}");
    }
    let help = String::from_utf8(run(&["serve", "--help"]).stdout).unwrap();
    assert!(
        help.contains("--listen") && help.contains("--database-url"),
        "{help}"
    );
}

/// A PostgreSQL server that is not there is named with the cause, once (`serve` says it in its
/// last log line alone), and the password never shown.
#[test]
fn an_unreachable_database_is_named_with_its_cause() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://nobody:hunter2@127.0.0.1:{port}/absent");
    for args in [
        vec!["migrate", "--database-url", &url],
        vec!["serve", "--listen", "127.0.0.1:0", "--database-url", &url],
    ] {
        let out = run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        let expected =
            format!("could not connect to PostgreSQL at 127.0.0.1:{port}/absent as nobody: ");
        assert_eq!(stderr.matches(&expected).count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
        assert!(!stderr.contains("pool timed out"), "{stderr}");
    }
}

/// A PostgreSQL server without the named database says so in the server's words and how to
/// make it, without the line of PostgreSQL's source that raised it.
#[test]
fn a_missing_postgres_database_is_named_with_what_to_do() {
    let Ok(base) = std::env::var("CAMPAIGN_SYNC_TEST_POSTGRES_URL") else {
        return;
    };
    let server = base.split('?').next().unwrap().rsplit_once('/').unwrap().0;
    let url = format!("{server}/cs_missing_{}", std::process::id());
    let out = run(&["migrate", "--database-url", &url]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("does not exist; create it first"),
        "{stderr}"
    );
    assert!(!stderr.contains(" at line "), "{stderr}");
}

#[test]
fn a_bad_file_exits_2_naming_the_key() {
    let file = write_config("[worker]\nlease_secs = \"soon\"\n");
    let out = run(&["check-config", "--config", file.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("worker.lease_secs"), "{stderr}");

    let file = write_config("[salesforce]\nclient_secrte = \"x\"\n");
    let out = run(&["check-config", "--config", file.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("client_secrte"));

    let file = write_config("[worker]\nlease_secs = 10\n");
    let out = run(&["check-config", "--config", file.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("worker.lease_secs"));

    let file = write_config("[http]\nidle_timeout_secs = 30\nheader_read_timeout_secs = 0\n");
    let out = run(&["check-config", "--config", file.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("http.idle_timeout_secs"), "{stderr}");
    assert!(stderr.contains("http.header_read_timeout_secs"), "{stderr}");

    let out = run(&[
        "check-config",
        "--config",
        "/nonexistent/campaign-sync.toml",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn environment_overrides_the_file_and_secrets_are_never_printed() {
    let file = write_config("[marketo]\nclient_secret = \"s3cr3t-value\"\n");
    let out = Command::new(BIN)
        .args(["check-config", "--config", file.path().to_str().unwrap()])
        .env("CAMPAIGN_SYNC_WORKER__LEASE_SECS", "5")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "env value 5 is too short a lease"
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("worker.lease_secs"), "{all}");
    assert!(!all.contains("s3cr3t-value"));
}

/// A mistake in a variable is named as the variable it is, not looked for in the file; a list
/// written without brackets says how to write one.
#[test]
fn a_mistake_in_the_environment_names_the_variable() {
    let file = write_config("[worker]\nlease_secs = 60\n");
    let check = |name: &str, value: &str| {
        let out = Command::new(BIN)
            .args(["check-config", "--config", file.path().to_str().unwrap()])
            .env(name, value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let typo = check("CAMPAIGN_SYNC_ADMIN__TOKN", "x");
    assert!(
        typo.contains(
            "unknown key `admin.tokn` in the environment variable CAMPAIGN_SYNC_ADMIN__TOKN"
        ) && typo.contains("did you mean `token`?"),
        "{typo}"
    );
    let list = check(
        "CAMPAIGN_SYNC_SALESFORCE__ORGANIZATION_IDS",
        "00D000000000001",
    );
    assert!(
        list.contains("in the environment variable CAMPAIGN_SYNC_SALESFORCE__ORGANIZATION_IDS")
            && list.contains("write a list as an array"),
        "{list}"
    );
    let negative = check("CAMPAIGN_SYNC_HTTP__DRAIN_DELAY_SECS", "-3");
    assert!(
        negative.contains(
            "invalid value for `http.drain_delay_secs` in the environment variable \
             CAMPAIGN_SYNC_HTTP__DRAIN_DELAY_SECS: found signed int `-3`, expected a whole \
             number, 0 or more"
        ),
        "{negative}"
    );
    // A list is set whole: the variable named is the one set, not an item's.
    let network = check(
        "CAMPAIGN_SYNC_MARKETO__ALLOWED_NETWORKS",
        "[\"300.1.1.1/8\"]",
    );
    assert!(
        network.contains("in the environment variable CAMPAIGN_SYNC_MARKETO__ALLOWED_NETWORKS:"),
        "{network}"
    );
    let zero = check("CAMPAIGN_SYNC_SCHEDULES__MARKETO_ACTIVITY_SECS", "0");
    assert!(
        zero.contains("schedules.marketo_activity_secs: must be greater than 0")
            && zero.contains(
                "(set by the environment variable CAMPAIGN_SYNC_SCHEDULES__MARKETO_ACTIVITY_SECS)"
            ),
        "{zero}"
    );
    // So does a URL that cannot work.
    let url = check("CAMPAIGN_SYNC_MARKETO__BASE_URL", "ftp://x");
    assert!(
        url.contains("is not an absolute http(s) URL")
            && url.contains("(set by the environment variable CAMPAIGN_SYNC_MARKETO__BASE_URL)"),
        "{url}"
    );
}

#[test]
fn migrate_creates_the_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let out = run(&["migrate", "--database-url", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("m.db").exists());
}

#[test]
fn serve_answers_ignores_sighup_then_drains_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &listen, "--database-url", &url])
        .envs(crate::binary::RUNNABLE_ENV.iter().copied())
        .env("CAMPAIGN_SYNC_HTTP__DRAIN_DELAY_SECS", "1")
        .env_remove("CAMPAIGN_SYNC_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let get = |path: &str| -> Option<u16> {
        let mut stream = std::net::TcpStream::connect(&listen).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut response = String::new();
        std::io::Read::read_to_string(&mut stream, &mut response).ok()?;
        response.split(' ').nth(1)?.parse().ok()
    };
    let started = Instant::now();
    while get("/healthz") != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "service never came up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(get("/readyz"), Some(200));
    // SIGHUP is neither a reload nor a stop: told and ignored.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(child.try_wait().unwrap().is_none(), "SIGHUP stopped serve");
    assert_eq!(get("/readyz"), Some(200));
    terminate(&child);
    // The drain delay (1 s) keeps the server answering: /readyz must turn 503 within it.
    let draining = Instant::now() + Duration::from_secs(1);
    while get("/readyz") != Some(503) {
        assert!(Instant::now() < draining, "draining must show on /readyz");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = exit_within(&mut child, Duration::from_secs(15));
    assert_eq!(status.code(), Some(0));
    // The last line says why it stopped.
    let log = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    let last = log.lines().last().unwrap_or_default();
    assert!(last.contains("stopped: SIGTERM asked for it"), "{log}");
}

/// Sends SIGTERM to `child`, as an orchestrator stopping it would.
fn terminate(child: &std::process::Child) {
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
}

/// How `child` exited, failing the test if it has not within `limit`.
fn exit_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_while_starting_stops_serve_at_once() {
    // A "database" that accepts the connection and never answers: the start hangs there.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = silent.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
        }
    });
    let url = format!("postgres://nobody@{address}/never");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
        .envs(crate::binary::RUNNABLE_ENV.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "still starting");
    terminate(&child);
    let status = exit_within(&mut child, Duration::from_secs(3));
    assert_eq!(
        status.code(),
        Some(0),
        "a clean exit, not death by the signal"
    );
}
