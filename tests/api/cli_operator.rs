//! The binary as an operator deploys it: `check-config` refuses what cannot work, secrets from
//! the environment keep their exact text, one process per SQLite file, the admin listener.

use campaign_sync::http::inbound::marketo::render_program_member;

use crate::binary::{EXAMPLE, Served, free_address, output, request, text};

/// Each key the shipped example leaves empty, which `serve` cannot run without.
const EXAMPLE_MISSING: &[&str] = &[
    "salesforce.login_url",
    "salesforce.client_id",
    "salesforce.client_secret",
    "salesforce.organization_ids",
    "salesforce.inbound_token",
    "marketo.base_url",
    "marketo.client_id",
    "marketo.client_secret",
    "marketo.webhook_token",
];

#[test]
fn check_config_on_the_shipped_example_exits_2_naming_each_missing_key() {
    let out = crate::binary::command(&["check-config", "--config", EXAMPLE], &[])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for key in EXAMPLE_MISSING {
        let line = stderr
            .lines()
            .find(|l| l.starts_with(&format!("  - {key}: ")))
            .unwrap_or_else(|| panic!("{key}: {stderr}"));
        let variable = format!("CAMPAIGN_SYNC_{}", key.to_uppercase().replace('.', "__"));
        assert!(line.contains(&variable), "{line} names no {variable}");
    }
}

#[test]
fn the_example_with_its_secrets_in_the_environment_is_valid_and_warns_about_no_mappings() {
    let out = output(&["check-config", "--config", EXAMPLE], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("warning: mappings: none configured"),
        "{stdout}"
    );
}

#[test]
fn a_base_url_that_is_not_a_url_is_refused() {
    let out = output(
        &["check-config", "--config", EXAMPLE],
        &[("CAMPAIGN_SYNC_MARKETO__BASE_URL", "not a url")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("marketo.base_url: \"not a url\" is not an absolute http(s) URL"),
        "{}",
        text(&out)
    );
}

/// `serve` on the shipped example with nothing else set (issue 2's check) starts, answers
/// `/healthz` and `/readyz`, names each key it lacks in its log and on `/readyz`, lets no sender
/// in, and drains and exits 0 on SIGTERM.
#[test]
fn serve_on_the_bare_example_starts_names_what_it_lacks_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    let listen = free_address();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = std::process::Command::new(crate::binary::BIN)
        .args(["serve", "--config", EXAMPLE, "--database-url", &url])
        .args(["--listen", &listen])
        .env_clear()
        .env("CAMPAIGN_SYNC_HTTP__DRAIN_DELAY_SECS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while request(&listen, "GET", "/healthz", &[], "").map(|r| r.0) != Some(200) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "exited with {status}: {}",
                std::fs::read_to_string(log.path()).unwrap()
            );
        }
        assert!(started.elapsed().as_secs() < 20, "never answered");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (status, body) = request(&listen, "GET", "/readyz", &[], "").unwrap();
    assert_eq!(status, 200, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    let unconfigured = ready["unconfigured"].as_array().expect("listed");
    for key in EXAMPLE_MISSING {
        assert!(
            unconfigured
                .iter()
                .any(|u| u.as_str().unwrap().starts_with(&format!("{key}: "))),
            "{key}: {body}"
        );
    }
    // No token is configured, so no sender gets in.
    let webhook = render_program_member(42, 1001, Some("jane@example.com"), None);
    let headers = [
        ("Authorization", "Bearer "),
        ("Content-Type", "application/json"),
    ];
    let answer = request(&listen, "POST", "/v1/marketo/webhooks", &headers, &webhook);
    assert_eq!(answer.map(|r| r.0), Some(401));
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let draining = std::time::Instant::now();
    while request(&listen, "GET", "/readyz", &[], "").map(|r| r.0) != Some(503) {
        assert!(
            draining.elapsed().as_secs() < 2,
            "draining shows on /readyz"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let stopping = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed().as_secs() < 15,
            "did not exit after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(logged.contains("configuration incomplete"), "{logged}");
    assert!(logged.contains("no worker runs"), "{logged}");
    for key in EXAMPLE_MISSING {
        assert!(logged.contains(&format!("- {key}: ")), "{key}: {logged}");
    }
}

#[test]
fn serve_refuses_a_value_that_cannot_work() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let out = output(
        &["serve", "--config", EXAMPLE, "--database-url", &url],
        &[
            ("CAMPAIGN_SYNC_MARKETO__BASE_URL", "not a url"),
            ("CAMPAIGN_SYNC_MARKETO__WEBHOOK_TOKEN", ""),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("marketo.base_url: \"not a url\" is not an absolute http(s) URL"),
        "{all}"
    );
    assert!(!dir.path().join("s.db").exists(), "nothing may start");
}

#[test]
fn migrate_needs_no_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let out = crate::binary::command(
        &["migrate", "--config", EXAMPLE, "--database-url", &url],
        &[],
    )
    .env_clear()
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn all_digit_secrets_from_the_environment_keep_their_exact_text() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    let listen = free_address();
    let env = [
        ("CAMPAIGN_SYNC_MARKETO__CLIENT_SECRET", "123456"),
        (
            "CAMPAIGN_SYNC_SALESFORCE__CLIENT_SECRET",
            "98765432109876543210987654321",
        ),
        ("CAMPAIGN_SYNC_MARKETO__WEBHOOK_TOKEN", "007"),
        ("CAMPAIGN_SYNC_ADMIN__TOKEN", "true"),
    ];
    let check = output(&["check-config", "--config", EXAMPLE], &env);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));

    let mut served = Served::example(&listen, &url, &env);
    served.wait_healthy(&listen);
    let body = render_program_member(42, 1001, Some("jane@example.com"), None);
    let post = |token: &str| {
        let bearer = format!("Bearer {token}");
        let headers = [
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
        ];
        request(&listen, "POST", "/v1/marketo/webhooks", &headers, &body).map(|r| r.0)
    };
    assert_eq!(
        post("7"),
        Some(401),
        "the token is \"007\", not the number 7"
    );
    assert_eq!(post("007"), Some(202), "the leading zeros survive");
    let admin = [("Authorization", "Bearer true")];
    let mappings = request(&listen, "GET", "/admin/mappings", &admin, "");
    assert_eq!(mappings.map(|r| r.0), Some(200), "\"true\" stays a string");
}

#[test]
fn a_second_serve_on_the_same_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("one.db").display());
    let first_listen = free_address();
    let mut first = Served::example(&first_listen, &url, &[]);
    first.wait_healthy(&first_listen);

    let second_listen = free_address();
    let args = [
        "serve",
        "--config",
        EXAMPLE,
        "--listen",
        &second_listen,
        "--database-url",
        &url,
    ];
    let second = crate::binary::command(&args, &[]).output().unwrap();
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    let all = text(&second);
    assert!(
        all.contains("another campaign-sync process is already using"),
        "{all}"
    );
    assert!(all.contains("PostgreSQL"), "{all}");
    assert_eq!(
        request(&first_listen, "GET", "/healthz", &[], "").map(|r| r.0),
        Some(200),
        "the first keeps serving"
    );
    let reconcile = crate::binary::command(
        &["reconcile", "--config", EXAMPLE, "--database-url", &url],
        &[],
    )
    .output()
    .unwrap();
    assert_eq!(reconcile.status.code(), Some(1), "{}", text(&reconcile));
    assert!(text(&reconcile).contains("another campaign-sync process"));
    assert!(
        text(&reconcile).contains("POST /admin/reconcile"),
        "it says how to reconcile through the running service: {}",
        text(&reconcile)
    );

    drop(first);
    let third_listen = free_address();
    let mut third = Served::example(&third_listen, &url, &[]);
    third.wait_healthy(&third_listen);
}

#[test]
fn admin_listen_moves_metrics_and_admin_off_the_public_listener() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let listen = free_address();
    let admin_listen = free_address();
    let env = [
        ("CAMPAIGN_SYNC_ADMIN_LISTEN", admin_listen.as_str()),
        ("CAMPAIGN_SYNC_HTTP__DRAIN_DELAY_SECS", "0"),
    ];
    let mut served = Served::example(&listen, &url, &env);
    served.wait_healthy(&listen);
    // The start says where the admin paths went, beside the public address.
    let log = served.log();
    assert!(
        log.lines()
            .any(|l| l.contains("listening") && l.contains(&admin_listen)),
        "{log}"
    );
    let admin = [("Authorization", "Bearer admin-token")];
    let status = |address: &str, path: &str| request(address, "GET", path, &admin, "").map(|r| r.0);
    assert_eq!(status(&listen, "/metrics"), Some(404));
    assert_eq!(status(&listen, "/admin/mappings"), Some(404));
    assert_eq!(status(&listen, "/readyz"), Some(200));
    assert_eq!(status(&admin_listen, "/metrics"), Some(200));
    assert_eq!(status(&admin_listen, "/admin/mappings"), Some(200));
    assert_eq!(status(&admin_listen, "/healthz"), Some(200));
    assert_eq!(status(&admin_listen, "/v1/trigger-events"), Some(404));
    // The console lives on the admin listener: its paths on the public one are unknown routes,
    // answered in JSON rather than as a console page whose link would lead nowhere.
    let (code, body) = request(&listen, "GET", "/console/errors", &admin, "").unwrap();
    assert_eq!(code, 404);
    assert!(body.contains("\"not_found\""), "{body}");
    // Each says where it is served; a path nobody serves says only that.
    for path in ["/console/errors", "/admin/status", "/metrics"] {
        let (_, body) = request(&listen, "GET", path, &admin, "").unwrap();
        assert!(
            body.contains("served only on the admin listener"),
            "{path}: {body}"
        );
    }
    let (_, body) = request(&listen, "GET", "/nowhere", &admin, "").unwrap();
    assert!(!body.contains("admin listener"), "{body}");
    // A Marketo webhook sent to the admin listener is told where to go.
    let (code, body) =
        request(&admin_listen, "POST", "/v1/marketo/webhooks", &admin, "{}").unwrap();
    assert_eq!(code, 404);
    assert!(body.contains("does not receive webhooks"), "{body}");
    let (code, body) = request(&admin_listen, "GET", "/console/nowhere", &admin, "").unwrap();
    assert_eq!(code, 404);
    assert!(body.contains("no such console page"), "{body}");
    // An outbound message sent to the admin listener is told where to go, as a SOAP fault.
    let path = "/v1/salesforce/outbound-messages?token=x";
    let (code, body) = request(&admin_listen, "POST", path, &[], "<x/>").unwrap();
    assert_eq!(code, 404);
    assert!(
        body.contains("<faultcode>") && body.contains("does not receive outbound messages"),
        "{body}"
    );
    // `status` pointed at the public listener is told where the overview is.
    let wrong = std::process::Command::new(env!("CARGO_BIN_EXE_campaign-sync"))
        .args(["status", "--url", &format!("http://{listen}"), "--token"])
        .arg("admin-token")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(1), "{said}");
    assert!(
        said.contains("answered 404") && said.contains("admin_listen"),
        "{said}"
    );

    // SIGTERM stops both listeners and the process exits 0.
    let pid = served.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(killed.unwrap().success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = served.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "did not exit after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(exit.code(), Some(0));
    assert_eq!(
        status(&admin_listen, "/healthz"),
        None,
        "the admin listener is closed"
    );
}
