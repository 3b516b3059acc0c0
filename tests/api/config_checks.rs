//! Values `check-config` refuses (exit 2, naming the key) because `serve` could not work with
//! them: it would otherwise start and fail later, or report ready while storing nothing.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_campaign-sync");

/// `check-config` on an otherwise complete file with `extra` set as environment variables.
fn check(extra: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .arg("check-config")
        .env_remove("CAMPAIGN_SYNC_LOG_FORMAT")
        .envs(extra.iter().copied())
        .output()
        .expect("run campaign-sync");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_in_memory_or_unparsable_database_is_refused() {
    for url in ["sqlite::memory:", "sqlite://", "sqlite:"] {
        let (code, text) = check(&[("CAMPAIGN_SYNC_DATABASE_URL", url)]);
        assert_eq!(code, Some(2), "{url}: {text}");
        assert!(text.contains("in-memory SQLite database"), "{url}: {text}");
    }
    let (code, text) = check(&[(
        "CAMPAIGN_SYNC_DATABASE_URL",
        "postgres://u:hidden-pw@127.0.0.1:notaport/db",
    )]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("not a usable PostgreSQL URL") && !text.contains("hidden-pw"),
        "{text}"
    );
}

#[test]
fn an_admin_listener_on_every_address_of_the_public_port_is_refused() {
    let (code, text) = check(&[
        ("CAMPAIGN_SYNC_LISTEN", "127.0.0.1:18080"),
        ("CAMPAIGN_SYNC_ADMIN_LISTEN", "0.0.0.0:18080"),
    ]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("admin_listen: 0.0.0.0:18080 and listen 127.0.0.1:18080 share port 18080, and `admin_listen` takes it on every address"),
        "{text}"
    );
    // `[::]` is both families on Linux; the wide one may be `listen` too.
    for (listen, admin, wide) in [
        ("127.0.0.1:18080", "[::]:18080", "`admin_listen` takes it"),
        ("0.0.0.0:18080", "127.0.0.1:18080", "`listen` takes it"),
    ] {
        let (code, text) = check(&[
            ("CAMPAIGN_SYNC_LISTEN", listen),
            ("CAMPAIGN_SYNC_ADMIN_LISTEN", admin),
        ]);
        assert_eq!(code, Some(2), "{text}");
        assert!(text.contains(wide), "{listen} {admin}: {text}");
    }
    let (_, text) = check(&[
        ("CAMPAIGN_SYNC_LISTEN", "127.0.0.1:18080"),
        ("CAMPAIGN_SYNC_ADMIN_LISTEN", "127.0.0.2:18080"),
    ]);
    assert!(!text.contains("admin_listen"), "{text}");
}

#[test]
fn marketo_values_no_instance_could_honour_are_refused() {
    for (key, value, said) in [
        (
            "CAMPAIGN_SYNC_MARKETO__RATE_LIMIT_CALLS",
            "500",
            "marketo.rate_limit_calls: 500 per 20 s is more than Marketo allows",
        ),
        (
            "CAMPAIGN_SYNC_MARKETO__EXTRACT_POLL_SECS",
            "600",
            "marketo.extract_poll_secs: 600 is more than marketo.extract_poll_max_secs (300)",
        ),
        (
            "CAMPAIGN_SYNC_MARKETO__WEBHOOK_HEADER",
            "X Bad Header",
            "marketo.webhook_header: \"X Bad Header\" is not an HTTP header name",
        ),
    ] {
        let (code, text) = check(&[(key, value)]);
        assert_eq!(code, Some(2), "{key}: {text}");
        assert!(text.contains(said), "{key}: {text}");
    }
    let (_, text) = check(&[
        ("CAMPAIGN_SYNC_MARKETO__RATE_LIMIT_CALLS", "100"),
        ("CAMPAIGN_SYNC_MARKETO__WEBHOOK_HEADER", "X-Webhook-Token"),
    ]);
    assert!(
        !text.contains("rate_limit_calls") && !text.contains("webhook_header"),
        "{text}"
    );
}

/// Mappings set as JSON in the environment are told how to write them (the value was read as
/// one string, and "write a list as an array" said what it already was).
#[test]
fn mappings_written_as_json_in_the_environment_are_told_the_toml_form() {
    let (code, text) = check(&[(
        "CAMPAIGN_SYNC_MAPPINGS",
        r#"[{"name":"w","program_id":1001,"campaign_id":"701000000000001AAA"}]"#,
    )]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("write the list of tables in TOML's inline form"),
        "{text}"
    );
    let (_, text) = check(&[(
        "CAMPAIGN_SYNC_MAPPINGS",
        r#"[{ name = "w", program_id = 1001, campaign_id = "701000000000001AAA" }]"#,
    )]);
    assert!(!text.contains("`mappings`"), "{text}");
}

/// Only `CAMPAIGN_SYNC_…` as written is configuration: a lower-case `campaign_sync_…` variable
/// (another program's, or a typo) is not read.
#[test]
fn a_lower_case_prefix_is_not_configuration() {
    let refused = "in-memory SQLite database";
    let (_, text) = check(&[("campaign_sync_database_url", "sqlite::memory:")]);
    assert!(!text.contains(refused), "{text}");
    let (_, text) = check(&[("CAMPAIGN_SYNC_DATABASE_URL", "sqlite::memory:")]);
    assert!(text.contains(refused), "{text}");
}
