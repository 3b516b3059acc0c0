//! Tests of what `check-config` and `serve` say of a configuration: the keys it lacks and the
//! warnings.

use super::*;
use crate::config::Secret;

fn complete() -> Config {
    let mut c = Config::default();
    c.salesforce.login_url = "https://example.my.salesforce.com".into();
    c.salesforce.client_id = "id".into();
    c.salesforce.client_secret = Secret::new("s");
    c.salesforce.organization_ids = vec!["00D000000000001".into()];
    c.salesforce.inbound_token = Secret::new("t");
    c.marketo.base_url = "https://123-ABC-456.mktorest.com".into();
    c.marketo.client_id = "id".into();
    c.marketo.client_secret = Secret::new("s");
    c.marketo.webhook_token = Secret::new("t");
    c
}

fn keys(problems: &[String]) -> Vec<&str> {
    problems
        .iter()
        .map(|p| p.split(':').next().unwrap_or(""))
        .collect()
}

#[test]
fn a_complete_config_has_no_problems() {
    assert_eq!(complete().missing_for(Needs::Service), Vec::<String>::new());
}

#[test]
fn the_defaults_name_every_missing_key() {
    let problems = Config::default().missing_for(Needs::Service);
    assert_eq!(
        keys(&problems),
        [
            "salesforce.login_url",
            "salesforce.client_id",
            "salesforce.client_secret",
            "salesforce.organization_ids",
            "salesforce.inbound_token",
            "marketo.base_url",
            "marketo.client_id",
            "marketo.client_secret",
            "marketo.webhook_token",
        ]
    );
    assert!(problems[2].contains("CAMPAIGN_SYNC_SALESFORCE__CLIENT_SECRET"));
}

#[test]
fn a_command_that_only_calls_the_apis_needs_only_their_keys() {
    let defaults = Config::default();
    assert_eq!(
        keys(&defaults.missing_for(Needs::Marketo)),
        [
            "marketo.base_url",
            "marketo.client_id",
            "marketo.client_secret"
        ]
    );
    assert_eq!(
        keys(&defaults.missing_for(Needs::Apis)),
        [
            "salesforce.login_url",
            "salesforce.client_id",
            "salesforce.client_secret",
            "marketo.base_url",
            "marketo.client_id",
            "marketo.client_secret",
        ]
    );
    assert!(defaults.missing_for(Needs::Database).is_empty());
    let mut no_receivers = complete();
    no_receivers.salesforce.organization_ids.clear();
    no_receivers.salesforce.inbound_token = Secret::new("");
    no_receivers.marketo.webhook_token = Secret::new("");
    assert!(no_receivers.missing_for(Needs::Apis).is_empty());
    assert_eq!(no_receivers.missing_for(Needs::Service).len(), 3);
}

#[test]
fn urls_must_be_absolute_http() {
    for bad in [
        "not a url",
        "/relative",
        "ftp://host",
        "mailto:a@b.c",
        "https://",
    ] {
        let mut c = complete();
        c.marketo.base_url = bad.into();
        c.salesforce.instance_url = bad.into();
        assert_eq!(
            keys(&c.missing_for(Needs::Service)),
            ["salesforce.instance_url", "marketo.base_url"],
            "{bad}"
        );
    }
    let mut c = complete();
    c.salesforce.login_url = "http://127.0.0.1:9000".into();
    assert!(c.missing_for(Needs::Service).is_empty());
}

#[test]
fn an_api_path_in_a_base_url_is_refused_with_the_url_without_it() {
    for (pasted, give) in [
        (
            "https://123-ABC-456.mktorest.com/rest",
            "https://123-abc-456.mktorest.com",
        ),
        (
            "https://123-ABC-456.mktorest.com/rest/",
            "https://123-abc-456.mktorest.com",
        ),
        (
            "https://123-ABC-456.mktorest.com/identity",
            "https://123-abc-456.mktorest.com",
        ),
        (
            "https://123-ABC-456.mktorest.com/rest/v1/leads.json",
            "https://123-abc-456.mktorest.com",
        ),
        // A gateway's own prefix is kept in what to give.
        (
            "https://gw.example.com/marketo/rest",
            "https://gw.example.com/marketo",
        ),
    ] {
        let mut c = complete();
        c.marketo.base_url = pasted.into();
        let problems = c.missing_for(Needs::Marketo);
        assert_eq!(keys(&problems), ["marketo.base_url"], "{pasted}");
        assert!(
            problems[0].ends_with(&format!("give \"{give}\"")),
            "{problems:?}"
        );
    }
    let mut c = complete();
    c.salesforce.instance_url = "https://acme.my.salesforce.com/services/data/v60.0".into();
    c.salesforce.login_url = "https://acme.my.salesforce.com/services/oauth2/token".into();
    let problems = c.missing_for(Needs::Apis);
    assert_eq!(
        keys(&problems),
        ["salesforce.login_url", "salesforce.instance_url"]
    );
    assert!(problems[0].ends_with("give \"https://acme.my.salesforce.com\""));
    // A gateway path that only looks like one is left alone.
    for (marketo, salesforce) in [
        (
            "https://gateway.example.com/marketo",
            "https://gateway.example.com/salesforce",
        ),
        (
            "https://api.corp.example/rest/marketo-proxy",
            "https://gw.example.com/services/salesforce",
        ),
    ] {
        let mut c = complete();
        c.marketo.base_url = marketo.into();
        c.salesforce.instance_url = salesforce.into();
        assert!(
            c.missing_for(Needs::Service).is_empty(),
            "{marketo} {salesforce}"
        );
    }
}

#[test]
fn signing_secrets_replace_the_webhook_token() {
    let mut c = complete();
    c.marketo.webhook_token = Secret::default();
    assert_eq!(
        keys(&c.missing_for(Needs::Service)),
        ["marketo.webhook_token"]
    );
    c.marketo.webhook_signing_secrets = vec![Secret::new("whsec_AAAA")];
    assert!(c.missing_for(Needs::Service).is_empty());
}

#[test]
fn blank_credentials_count_as_missing() {
    let mut c = complete();
    c.marketo.client_secret = Secret::new("  ");
    assert_eq!(
        keys(&c.missing_for(Needs::Service)),
        ["marketo.client_secret"]
    );
}

#[test]
fn admin_listen_must_differ_from_listen() {
    let mut c = complete();
    c.admin_listen = Some(c.listen);
    assert_eq!(keys(&c.missing_for(Needs::Service)), ["admin_listen"]);
}

#[test]
fn keys_left_empty_are_told_apart_from_values_that_cannot_work() {
    let defaults = Config::default().lacks_for(Needs::Service);
    assert!(defaults.iter().all(|l| l.unset), "every key is only unset");
    let mut c = complete();
    c.marketo.base_url = "not a url".into();
    c.marketo.client_id = String::new();
    c.admin_listen = Some(c.listen);
    let found = c.lacks_for(Needs::Service);
    let lacks: Vec<(&str, bool)> = found
        .iter()
        .map(|l| (l.text.split(':').next().unwrap_or(""), l.unset))
        .collect();
    assert_eq!(
        lacks,
        [
            ("marketo.base_url", false),
            ("marketo.client_id", true),
            ("admin_listen", false)
        ]
    );
}

#[test]
fn a_serve_without_either_sides_credentials_runs_no_worker() {
    let mut c = complete();
    assert!(c.apis_configured());
    c.unset = vec!["salesforce.inbound_token: missing".into()];
    assert!(
        c.apis_configured(),
        "a receiver's token is not the worker's"
    );
    c.unset = vec!["marketo.client_secret: missing".into()];
    assert!(!c.apis_configured());
    assert!(!c.side_configured("marketo"));
    assert!(c.side_configured("salesforce"));
}

#[test]
fn a_short_token_is_a_warning_and_a_long_one_is_not() {
    let mut config = complete();
    config.admin.token = Secret::new("change-me");
    config.marketo.webhook_token = Secret::new("0123456789abcdef");
    let warnings = config.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("admin.token: only 9 characters")),
        "{warnings:?}"
    );
    assert!(
        !warnings
            .iter()
            .any(|w| w.starts_with("marketo.webhook_token")),
        "{warnings:?}"
    );
}

#[test]
fn a_read_token_equal_to_the_admin_token_is_a_warning() {
    let mut config = complete();
    config.admin.token = Secret::new("0123456789abcdef0123");
    config.admin.read_token = Secret::new("0123456789abcdef0123");
    let warnings = config.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("admin.read_token: the same as admin.token")),
        "{warnings:?}"
    );
    config.admin.read_token = Secret::new("short");
    let warnings = config.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("admin.read_token: only 5 characters")),
        "{warnings:?}"
    );
}

#[test]
fn no_mappings_is_a_warning() {
    let warnings = complete().warnings();
    assert!(warnings.iter().any(|w| w.starts_with("mappings:")));
}

/// A signing key of a few bytes is accepted (Standard Webhooks' prefix is optional) but warned
/// about, as a short token is; a key of 24 bytes or more is not.
#[test]
fn a_short_signing_key_is_a_warning() {
    let mut config = complete();
    config.marketo.webhook_signing_secrets = vec![
        Secret::new("bm9wZQ=="),
        Secret::new("whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"),
    ];
    let warnings = config.warnings();
    let short: Vec<&String> = warnings
        .iter()
        .filter(|w| w.starts_with("marketo.webhook_signing_secrets"))
        .collect();
    assert_eq!(short.len(), 1, "{warnings:?}");
    assert!(
        short[0].starts_with("marketo.webhook_signing_secrets[0]: a key of only 4 byte(s)"),
        "{warnings:?}"
    );
    config.salesforce.inbound_token = Secret::new("x");
    assert!(
        config
            .warnings()
            .iter()
            .any(|w| w.starts_with("salesforce.inbound_token: only 1 character,")),
        "one character, not \"1 characters\""
    );
}
