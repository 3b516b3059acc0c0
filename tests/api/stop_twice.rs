//! A second SIGINT or SIGTERM during the drain stops `serve` at once (Ctrl-C twice), with a
//! non-zero exit and a log line saying so; a single one still drains and exits 0.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::binary::{Served, free_address, request};

fn signal(served: &Served, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[test]
fn a_second_signal_during_the_drain_stops_at_once() {
    for (first, second) in [("TERM", "TERM"), ("INT", "INT"), ("TERM", "INT")] {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let listen = free_address();
        // A drain far longer than the test waits: only the second signal can end it in time.
        let mut served = Served::example(
            &listen,
            &url,
            &[("CAMPAIGN_SYNC_HTTP__DRAIN_DELAY_SECS", "60")],
        );
        served.wait_healthy(&listen);
        signal(&served, first);
        let deadline = Instant::now() + Duration::from_secs(5);
        while request(&listen, "GET", "/readyz", &[], "").map(|r| r.0) != Some(503) {
            assert!(Instant::now() < deadline, "never drained");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(served.child.try_wait().unwrap().is_none(), "still draining");
        signal(&served, second);
        let deadline = Instant::now() + Duration::from_secs(3);
        let status = loop {
            if let Some(status) = served.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "{first} then {second}: still running: {}",
                served.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            status.code().is_some_and(|code| code != 0),
            "{first} then {second}: an exit of its own, not 0: {status:?}"
        );
        let log = served.log();
        assert!(log.contains("stopping at once"), "{log}");
    }
}
