//! What `check-config` says of a configuration file with several problems: each at once, a
//! misspelt section's keys not called missing, and a key an empty variable blanked.

use std::io::Write;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_campaign-sync");

fn write_config(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

fn check_file(file: &tempfile::NamedTempFile) -> std::process::Output {
    Command::new(BIN)
        .args(["check-config", "--config", file.path().to_str().unwrap()])
        .env_remove("CAMPAIGN_SYNC_LOG_FORMAT")
        .output()
        .expect("run campaign-sync")
}

/// `check-config` names each problem at once: an unknown key at the top, one in a section, a
/// wrong value in another, and the keys still missing beside them (it named the first alone,
/// and an unknown key hid every missing one).
#[test]
fn check_config_names_every_problem_at_once() {
    let file = write_config(
        "listn = \"0.0.0.0:80\"\n[admin]\ntokn = \"x\"\n[http]\nbody_limit_bytes = \"big\"\n",
    );
    let out = check_file(&file);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    for said in [
        "unknown key `listn`",
        "unknown key `admin.tokn`",
        "invalid value for `http.body_limit_bytes`",
        "marketo.client_secret: missing",
        "salesforce.inbound_token: missing",
    ] {
        assert!(text.contains(said), "{said}: {text}");
    }
    // A failed `[admin]` hides only its own keys' checks, not `admin_listen`'s.
    let file = write_config("admin_listen = \"0.0.0.0:8080\"\n[admin]\ntokn = \"x\"\n");
    let out = check_file(&file);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("unknown key `admin.tokn`") && text.contains("admin_listen: "),
        "{text}"
    );
}

/// A misspelt section holds its keys: they are not reported missing beside it. A key a variable
/// empties says so, rather than "missing" for a key the file sets.
#[test]
fn check_config_says_what_a_misspelt_section_or_an_empty_variable_did() {
    let file = write_config("[salesforc]\nlogin_url = \"https://x.my.salesforce.com\"\n");
    let out = Command::new(BIN)
        .args(["check-config", "--config", file.path().to_str().unwrap()])
        .env("CAMPAIGN_SYNC_MARKETO__CLIENT_ID", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("unknown key `salesforc`"), "{text}");
    assert!(!text.contains("salesforce.login_url: missing"), "{text}");
    assert!(
        text.contains(
            "marketo.client_id: empty: the environment variable CAMPAIGN_SYNC_MARKETO__CLIENT_ID \
             is set to nothing"
        ),
        "{text}"
    );
    // The My Domain URL a variable emptied says so too, beside what to set it to.
    let file = write_config(
        "[salesforce]\nlogin_url = \"https://x.my.salesforce.com\"\nclient_id = \"c\"\n",
    );
    let out = Command::new(BIN)
        .args(["check-config", "--config", file.path().to_str().unwrap()])
        .env("CAMPAIGN_SYNC_SALESFORCE__LOGIN_URL", "")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("salesforce.login_url: required")
            && text.contains("CAMPAIGN_SYNC_SALESFORCE__LOGIN_URL is set to nothing"),
        "{text}"
    );
}

/// A value the file set that `check-config` refuses names the file, as one set by a variable
/// names the variable (it named neither); a variable that sets a key inside the one refused is
/// named too.
#[test]
fn a_refused_value_names_the_file_or_variable_that_set_it() {
    let file = write_config("[schedules]\ndeleted_poll_secs = 0\n");
    let out = Command::new(BIN)
        .args(["check-config", "--config", file.path().to_str().unwrap()])
        .env_remove("CAMPAIGN_SYNC_LOG_FORMAT")
        .env(
            "CAMPAIGN_SYNC_TRIGGERS__MAPPINGS__NOPE__REQUEST_CAMPAIGNS",
            "[5001]",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    let path = file.path().display().to_string();
    let line = |start: &str| {
        text.lines()
            .find(|l| l.contains(start))
            .unwrap_or_else(|| panic!("{start}: {text}"))
            .to_string()
    };
    assert!(
        line("schedules.deleted_poll_secs: must be greater than 0")
            .ends_with(&format!("(set in {path})")),
        "{text}"
    );
    assert!(
        line("triggers.mappings.nope: no mapping is named").ends_with(
            "(set by the environment variable CAMPAIGN_SYNC_TRIGGERS__MAPPINGS__NOPE__REQUEST_CAMPAIGNS)"
        ),
        "{text}"
    );
    // A missing key is not said to be set anywhere.
    assert!(
        !line("marketo.client_secret: missing").contains("(set in"),
        "{text}"
    );
}
