//! Secrets read from files named by `CAMPAIGN_SYNC_<KEY>_FILE` (Docker and Kubernetes secrets
//! are files): used as the value, without the newline around it; set beside the value itself,
//! or naming a file that cannot be read, refused with exit 2 naming both.

use std::process::{Command, Output};

use crate::binary::{BIN, EXAMPLE, RUNNABLE_ENV, Served, free_address, request};

/// The variables whose `_FILE` form these tests give instead.
const FROM_FILES: [&str; 5] = [
    "CAMPAIGN_SYNC_SALESFORCE__CLIENT_SECRET",
    "CAMPAIGN_SYNC_SALESFORCE__INBOUND_TOKEN",
    "CAMPAIGN_SYNC_MARKETO__CLIENT_SECRET",
    "CAMPAIGN_SYNC_MARKETO__WEBHOOK_TOKEN",
    "CAMPAIGN_SYNC_ADMIN__TOKEN",
];

/// The complete environment less the variables given as files, then `env`.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env_remove("CAMPAIGN_SYNC_LOG_FORMAT");
    for (key, value) in RUNNABLE_ENV.iter().filter(|(k, _)| !FROM_FILES.contains(k)) {
        command.env(key, value);
    }
    command.envs(env.iter().copied());
    command
}

fn check_config(env: &[(&str, &str)]) -> Output {
    command(&["check-config", "--config", EXAMPLE], env)
        .output()
        .expect("run campaign-sync")
}

/// One file per secret variable, each holding `<name>-value-0123456789` and a newline.
fn secret_files(dir: &std::path::Path) -> Vec<(String, String)> {
    FROM_FILES
        .iter()
        .map(|name| {
            let path = dir.join(name.to_ascii_lowercase());
            std::fs::write(
                &path,
                format!("{}-value-0123456789\n", name.to_ascii_lowercase()),
            )
            .unwrap();
            (format!("{name}_FILE"), path.display().to_string())
        })
        .collect()
}

fn pairs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn every_secret_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = secret_files(dir.path());
    let out = check_config(&pairs(&files));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The value is the file's text without its newline: the admin token opens /admin.
    let listen = free_address();
    let url = format!("sqlite://{}", dir.path().join("f.db").display());
    let mut env = pairs(&files);
    env.push(("CAMPAIGN_SYNC_WORKER__ENABLED", "false"));
    let mut served = Served::spawn(command(
        &[
            "serve",
            "--config",
            EXAMPLE,
            "--listen",
            &listen,
            "--database-url",
            &url,
        ],
        &env,
    ));
    served.wait_healthy(&listen);
    let token = "Bearer campaign_sync_admin__token-value-0123456789";
    let status = request(
        &listen,
        "GET",
        "/admin/status",
        &[("Authorization", token)],
        "",
    );
    assert_eq!(status.map(|s| s.0), Some(200), "{}", served.log());
    let ready = request(&listen, "GET", "/readyz", &[], "").unwrap().1;
    assert!(!ready.contains("client_secret"), "nothing unset: {ready}");
}

#[test]
fn a_secret_set_both_ways_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let files = secret_files(dir.path());
    let mut env = pairs(&files);
    env.push(("CAMPAIGN_SYNC_MARKETO__CLIENT_SECRET", "also-here"));
    let out = check_config(&env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let file = &files
        .iter()
        .find(|(name, _)| name == "CAMPAIGN_SYNC_MARKETO__CLIENT_SECRET_FILE")
        .unwrap()
        .1;
    assert!(
        stderr.contains("CAMPAIGN_SYNC_MARKETO__CLIENT_SECRET_FILE")
            && stderr.contains("CAMPAIGN_SYNC_MARKETO__CLIENT_SECRET ")
            && stderr.contains(&format!("(the file {file})")),
        "the key, both variables and the file: {stderr}"
    );
    assert!(
        !stderr.contains("also-here"),
        "the value is not shown: {stderr}"
    );
    // `serve` refuses it too, rather than pick one.
    let listen = free_address();
    let url = format!("sqlite://{}", dir.path().join("b.db").display());
    let served = command(
        &[
            "serve",
            "--config",
            EXAMPLE,
            "--listen",
            &listen,
            "--database-url",
            &url,
        ],
        &env,
    )
    .output()
    .unwrap();
    assert_eq!(served.status.code(), Some(2), "{served:?}");
}

#[test]
fn a_secret_file_that_cannot_be_read_is_named_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = secret_files(dir.path());
    let missing = dir.path().join("no-such-secret").display().to_string();
    files[0].1 = missing.clone();
    let out = check_config(&pairs(&files));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&missing), "{stderr}");
    assert!(stderr.contains("salesforce.client_secret"), "{stderr}");
    assert!(
        stderr.contains("CAMPAIGN_SYNC_SALESFORCE__CLIENT_SECRET_FILE"),
        "{stderr}"
    );
}

/// `database_url` holds PostgreSQL's password, so it may come from a file too.
#[test]
fn the_database_url_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-file.db");
    let url_file = dir.path().join("database_url");
    std::fs::write(&url_file, format!("sqlite://{}\n", db.display())).unwrap();
    let out = command(
        &["migrate"],
        &[(
            "CAMPAIGN_SYNC_DATABASE_URL_FILE",
            &url_file.display().to_string(),
        )],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(db.exists());
}

/// A file holding nothing is named as such, not as a key left unset.
#[test]
fn an_empty_secret_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let files = secret_files(dir.path());
    let webhook = &files[3];
    assert!(webhook.0.contains("WEBHOOK_TOKEN"));
    std::fs::write(&webhook.1, "\n").unwrap();
    let out = check_config(&pairs(&files));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("the file {} named by", webhook.1))
            && stderr.contains("holds nothing but blanks"),
        "{stderr}"
    );
}

/// `campaign-sync status` takes the admin token from the same file `serve` does.
#[test]
fn status_reads_the_admin_token_from_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let listen = free_address();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let mut served = Served::example(&listen, &url, &[]);
    served.wait_healthy(&listen);
    let token_file = dir.path().join("admin-token");
    std::fs::write(&token_file, "admin-token\n").unwrap();
    let token_file = token_file.display().to_string();
    let address = format!("http://{listen}");
    let out = command(
        &["status", "--url", &address],
        &[("CAMPAIGN_SYNC_ADMIN__TOKEN_FILE", &token_file)],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let missing = command(
        &["status", "--url", &address],
        &[("CAMPAIGN_SYNC_ADMIN__TOKEN_FILE", "/no/such/token")],
    )
    .output()
    .unwrap();
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/no/such/token"));
    // The variable and the file both set is refused, as every command refuses it.
    let both = command(
        &["status", "--url", &address],
        &[
            ("CAMPAIGN_SYNC_ADMIN__TOKEN_FILE", &token_file),
            ("CAMPAIGN_SYNC_ADMIN__TOKEN", "admin-token"),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(both.status.code(), Some(2), "{both:?}");
    assert!(
        String::from_utf8_lossy(&both.stderr).contains("set both by CAMPAIGN_SYNC_ADMIN__TOKEN"),
        "{both:?}"
    );
    // `--token` typed on the command line wins outright: the file is not read.
    let typed = command(
        &["status", "--url", &address, "--token", "admin-token"],
        &[("CAMPAIGN_SYNC_ADMIN__TOKEN_FILE", "/no/such/token")],
    )
    .output()
    .unwrap();
    assert_eq!(typed.status.code(), Some(0), "{typed:?}");
}

/// A value from a file that cannot work names the file it came from.
#[test]
fn a_refused_value_names_the_file_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("database_url");
    std::fs::write(&url_file, "sqlite::memory:\n").unwrap();
    let url_file = url_file.display().to_string();
    let out = check_config(&[("CAMPAIGN_SYNC_DATABASE_URL_FILE", &url_file)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "read from the file {url_file} named by CAMPAIGN_SYNC_DATABASE_URL_FILE"
        )),
        "{stderr}"
    );
    // `--database-url` wins over the file: a value it gives is named as its own.
    let out = command(
        &[
            "check-config",
            "--config",
            EXAMPLE,
            "--database-url",
            "sqlite::memory:",
        ],
        &[("CAMPAIGN_SYNC_DATABASE_URL_FILE", &url_file)],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("(given by --database-url)") && !stderr.contains("named by"),
        "{stderr}"
    );
}

/// Marketo's signing secrets are a list: their file holds one a line, so a rotation's two sit in
/// one secret file, and a bad line is named with its place and the file.
#[test]
fn signing_secrets_come_from_a_file_one_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("signing_secrets");
    std::fs::write(&secrets, "whsec_bmV3LWtleQ==\n\nnot-a-secret\n").unwrap();
    let secrets = secrets.display().to_string();
    let variable = "CAMPAIGN_SYNC_MARKETO__WEBHOOK_SIGNING_SECRETS_FILE";
    let out = check_config(&[(variable, &secrets)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("marketo.webhook_signing_secrets[1]")
            && stderr.contains(&format!("the file {secrets} named by {variable}")),
        "{stderr}"
    );
    assert!(!stderr.contains("not-a-secret"), "{stderr}");
    std::fs::write(&secrets, "whsec_bmV3LWtleQ==\nwhsec_b2xkLWtleQ==\n").unwrap();
    let files = secret_files(dir.path());
    let mut env = pairs(&files);
    env.push((variable, &secrets));
    let out = check_config(&env);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}
