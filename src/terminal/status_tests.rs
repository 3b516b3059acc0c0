//! Unit tests of the status command: the overview as text, and addresses refused before a call.

use serde_json::json;

use super::*;

/// An overview with no mappings, an idle worker, and these two sides.
fn with_sides(marketo: serde_json::Value, salesforce: serde_json::Value) -> Overview {
    serde_json::from_value(json!({
        "generatedAt": 0, "syncEnabled": true, "mappings": [],
        "upstreams": { "marketo": marketo, "salesforce": salesforce },
        "worker": {
            "leader": true, "lastRoundAt": null, "lastError": null, "restarts": 0,
            "healthy": true, "oldestAgeSeconds": null,
            "backlog": { "due": 0, "retrying": 0, "in_progress": 0, "dead": 0,
                         "oldest_received_at": null }
        }
    }))
    .expect("an overview")
}

#[test]
fn no_mappings_is_said() {
    let side = json!({
        "state": "up", "consecutiveAuthFailures": 0, "failingSince": null,
        "lastError": null, "lastCallAt": null, "callsToday": null, "dailyLimit": null,
        "pausedUntil": null
    });
    let text = render("http://x", &with_sides(side.clone(), side));
    assert!(text.contains("Mappings\n  none configured"), "{text}");
}

#[test]
fn says_when_the_next_retry_is() {
    let side = json!({ "state": "up", "consecutiveAuthFailures": 0 });
    let mut overview = with_sides(side.clone(), side);
    let text = render("http://x", &overview);
    assert!(!text.contains("next retry"), "none retrying: {text}");
    overview.worker.backlog.retrying = 2;
    overview.worker.backlog.next_retry_at = Some(1_796_104_800_000);
    let text = render("http://x", &overview);
    assert!(
        text.contains("  next retry: 2026-12-01 06:00:00 UTC"),
        "{text}"
    );
}

#[tokio::test]
async fn an_address_that_is_not_one_is_said_before_any_call() {
    for url in ["notaurl", "ftp://host", "127.0.0.1:8080"] {
        let error = fetch(url, "t").await.unwrap_err().to_string();
        assert!(
            error.contains("is not the service's address"),
            "{url}: {error}"
        );
    }
    let error = fetch("http://127.0.0.1:9/admin/status", "t")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("holds a path (/admin/status)"), "{error}");
    // A trailing slash is no path.
    let error = fetch("http://127.0.0.1:9/", "t")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("could not reach"), "{error}");
}

#[test]
fn says_which_replica_runs_the_worker_or_that_none_does() {
    let side = json!({
        "state": "up", "consecutiveAuthFailures": 0, "failingSince": null,
        "lastError": null, "lastCallAt": null, "callsToday": null, "dailyLimit": null,
        "pausedUntil": null
    });
    let mut overview = with_sides(side.clone(), side);
    let text = render("http://x", &overview);
    assert!(
        text.contains("runs on: NOBODY (no replica runs the worker now); answered by: —"),
        "{text}"
    );
    overview.worker.leader_replica = Some("worker pod-a pid 1".into());
    overview.worker.replica = "pod-b pid 1".into();
    let text = render("http://x", &overview);
    assert!(
        text.contains("runs on: worker pod-a pid 1; answered by: pod-b pid 1"),
        "{text}"
    );
}

#[test]
fn a_refusal_the_side_answered_with_is_shown_beside_its_state() {
    let side = json!({
        "state": "up", "consecutiveAuthFailures": 0, "failingSince": null,
        "lastError": null, "lastRefusal": "Marketo 603: Access denied",
        "lastRefusalAt": 1_796_428_800_000_i64, "lastCallAt": null,
        "callsToday": null, "dailyLimit": null, "pausedUntil": null, "rateWindow": null
    });
    let text = render("http://x", &with_sides(side.clone(), side));
    assert!(
        text.contains("last refusal (at 2026-12-05 00:00:00 UTC): Marketo 603: Access denied"),
        "{text}"
    );
}

#[test]
fn an_error_from_before_a_side_recovered_says_so() {
    let side = |state: &str| {
        json!({
            "state": state, "consecutiveAuthFailures": 0, "failingSince": null,
            "lastError": "HTTP 503: down for maintenance", "lastErrorAt": 1_796_428_800_000_i64,
            "lastCallAt": null,
            "callsToday": null, "dailyLimit": null, "pausedUntil": null, "rateWindow": null
        })
    };
    let overview = with_sides(side("up"), side("down"));
    let text = render("http://x", &overview);
    assert_eq!(
        text.matches("last error (at 2026-12-05 00:00:00 UTC, recovered since): HTTP 503")
            .count(),
        1,
        "{text}"
    );
    assert_eq!(
        text.matches("    last error (at 2026-12-05 00:00:00 UTC): HTTP 503")
            .count(),
        1,
        "{text}"
    );
}

#[test]
fn a_paused_side_says_until_when() {
    let side = |paused_until: Option<i64>| {
        json!({
            "state": "up", "consecutiveAuthFailures": 0, "failingSince": null,
            "lastError": null, "lastCallAt": null, "callsToday": 8, "dailyLimit": 8,
            "pausedUntil": paused_until, "rateWindow": null,
            "pauseReason": paused_until.map(|_| "Marketo 607: Daily quota reached")
        })
    };
    let overview = with_sides(side(Some(1_796_364_000_000)), side(None));
    let text = render("http://x", &overview);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{text}"))
            .to_string()
    };
    assert!(
        line("marketo").contains(
            "PAUSED until 2026-12-04 06:00:00 UTC (its calls wait): Marketo 607: Daily quota reached"
        ),
        "{text}"
    );
    assert!(!line("salesforce").contains("PAUSED"), "{text}");
    assert!(!text.contains("INCOMPLETE"), "{text}");
    let mut incomplete = overview;
    incomplete.unconfigured = vec!["marketo.client_secret: missing".into()];
    let text = render("http://x", &incomplete);
    assert!(
        text.contains(
            "CONFIGURATION INCOMPLETE: started without\n  - marketo.client_secret: missing"
        ),
        "{text}"
    );
}
