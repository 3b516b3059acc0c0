//! What `serve` says when it cannot start or names its listeners, read from the real binary's
//! stderr: each failure said once, in the log's own format (JSON lines stay JSON lines).

use serde_json::Value;

use crate::binary::{EXAMPLE, Served, free_address, output, request};

/// Every line of `stderr` parsed as JSON, failing on one that is not.
fn json_lines(stderr: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON line: {line:?}"))
        })
        .collect()
}

fn serve_args<'a>(listen: &'a str, database_url: &'a str) -> [&'a str; 7] {
    [
        "serve",
        "--config",
        EXAMPLE,
        "--listen",
        listen,
        "--database-url",
        database_url,
    ]
}

/// With JSON logs, a configuration `serve` refuses is told as JSON log lines, one per problem,
/// and still exits 2 (it was printed as text in the middle of a JSON log).
#[test]
fn invalid_configuration_is_told_as_json_lines_one_per_problem() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("j.db").display());
    let listen = free_address();
    let out = output(
        &serve_args(&listen, &url),
        &[
            ("CAMPAIGN_SYNC_LOG_FORMAT", "json"),
            ("CAMPAIGN_SYNC_SCHEDULES__RECONCILE_SECS", "0"),
            ("CAMPAIGN_SYNC_ADMIN_LISTEN", &listen),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let lines = json_lines(&out.stderr);
    let errors: Vec<&str> = lines
        .iter()
        .filter(|l| l["level"] == "ERROR")
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert_eq!(errors.len(), 2, "one line per problem: {lines:?}");
    assert!(
        errors
            .iter()
            .any(|m| m.contains("schedules.reconcile_secs")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|m| m.contains("admin_listen")),
        "{errors:?}"
    );
    // Text logs keep the plain list.
    let text = output(
        &serve_args(&listen, &url),
        &[("CAMPAIGN_SYNC_SCHEDULES__RECONCILE_SECS", "0")],
    );
    assert_eq!(text.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&text.stderr).contains("schedules.reconcile_secs"),
        "{text:?}"
    );
}

/// A port already taken is said once, as a JSON line when logs are JSON (a plain copy followed
/// the JSON line).
#[test]
fn a_taken_port_is_said_once_in_either_log_format() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    for format in ["text", "json"] {
        let out = output(
            &serve_args(&listen, &url),
            &[("CAMPAIGN_SYNC_LOG_FORMAT", format)],
        );
        assert_eq!(out.status.code(), Some(1), "{format}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.matches("Address already in use").count(),
            1,
            "{format}: {stderr}"
        );
        if format == "json" {
            json_lines(&out.stderr);
        }
    }
}

/// A lock file that cannot be opened names the cause once (the OS error came twice).
#[test]
fn a_lock_file_that_cannot_be_opened_is_named_with_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("absent/l.db").display());
    let out = output(&serve_args(&free_address(), &url), &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("l.db.lock"), "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
}

/// The two "serving HTTP/1.1" lines say which listener each is, as a field and in words.
#[test]
fn each_listener_is_named_in_its_serving_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("n.db").display());
    let (listen, admin) = (free_address(), free_address());
    let mut served = Served::example(
        &listen,
        &url,
        &[
            ("CAMPAIGN_SYNC_LOG_FORMAT", "json"),
            ("CAMPAIGN_SYNC_ADMIN_LISTEN", &admin),
        ],
    );
    served.wait_healthy(&listen);
    assert_eq!(
        request(&admin, "GET", "/healthz", &[], "").map(|r| r.0),
        Some(200)
    );
    let log = served.log();
    let serving: Vec<Value> = json_lines(log.as_bytes())
        .into_iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("serving HTTP/1.1"))
        })
        .collect();
    assert_eq!(serving.len(), 2, "{log}");
    for (name, address) in [("public", &listen), ("admin", &admin)] {
        let line = serving
            .iter()
            .find(|l| l["listener"] == name)
            .unwrap_or_else(|| panic!("no {name} listener line: {log}"));
        let message = line["message"].as_str().unwrap();
        assert!(message.contains(name), "{message}");
        assert_eq!(line["address"], address.as_str(), "{line}");
    }
}
