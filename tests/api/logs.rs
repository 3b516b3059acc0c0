//! The service's logs as an operator meets them: one that cannot be written (a full disk, a log
//! shipper's pipe that closed) does not stop the service (the lines are lost, the requests are
//! answered), and a log setting that cannot be used is told rather than ignored.

use std::process::{Command, Stdio};

use crate::simulators::{BIN, Running, eventually};

#[tokio::test]
async fn serve_keeps_answering_when_its_log_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let config = dir.path().join("service.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"sqlite://{}\"\n\
             [worker]\nenabled = false\n\
             [marketo]\nwebhook_token = \"hook-token-0123456789\"\n",
            dir.path().join("service.db").display()
        ),
    )
    .unwrap();
    // Every write to /dev/full fails with "No space left on device".
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let serve = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(full)
        .spawn()
        .unwrap();
    let mut serve = Running(serve);
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    eventually("the service answers", async || {
        let ready = http.get(format!("{base}/healthz")).send().await.ok()?;
        ready.status().is_success().then_some(())
    })
    .await;
    // Requests that log: a refused webhook warns, each request logs at debug.
    for _ in 0..5 {
        let refused = http
            .post(format!("{base}/v1/marketo/webhooks"))
            .bearer_auth("wrong")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        serve.0.try_wait().unwrap().is_none(),
        "the service stopped: {:?}",
        serve.0.try_wait()
    );
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

/// A log setting that cannot be used is told, in the first lines, rather than ignored; `JSON`
/// in capitals is JSON.
#[test]
fn log_settings_that_cannot_be_used_are_told() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("logs.db").display());
    let migrate = |format: &str, filter: &str| {
        let out = Command::new(BIN)
            .args(["migrate", "--database-url", &url])
            .env("CAMPAIGN_SYNC_LOG_FORMAT", format)
            .env("RUST_LOG", filter)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let told = migrate("xml", "bogus[[[");
    assert!(
        told.contains("RUST_LOG=\"bogus[[[\" is not a log filter")
            && told.contains("CAMPAIGN_SYNC_LOG_FORMAT=\"xml\" is neither `json` nor `text`"),
        "{told}"
    );
    let json = migrate("JSON", "bogus[[[");
    let first = json.lines().next().unwrap_or_default();
    assert!(
        serde_json::from_str::<serde_json::Value>(first).is_ok(),
        "{json}"
    );
}

/// `migrate`, a deployment's step before `serve`, says with JSON logs why it failed as JSON lines
/// too: a configuration it refuses (exit 2) and a database it cannot reach (exit 1).
#[test]
fn migrate_fails_in_json_lines_with_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let unreachable = format!(
        "sqlite://{}",
        dir.path().join("no-such-dir").join("x.db").display()
    );
    for (url, code) in [("mysql://db/x", 2), (unreachable.as_str(), 1)] {
        let out = Command::new(BIN)
            .args(["migrate", "--database-url", url])
            .env("CAMPAIGN_SYNC_LOG_FORMAT", "json")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{url}: {stderr}");
        assert!(!stderr.trim().is_empty(), "{url}: says why");
        for line in stderr.lines() {
            let parsed: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|_| panic!("{url}: not a JSON line: {line}"));
            assert_eq!(parsed["level"], "ERROR", "{url}: {line}");
        }
    }
}
