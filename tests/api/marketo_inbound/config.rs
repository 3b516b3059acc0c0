//! The webhook's configuration is checked at start, naming each bad key.

use campaign_sync::config::{Config, ConfigError, Overrides};

#[test]
fn a_zero_dedup_window_and_an_undecodable_signing_secret_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("campaign-sync.toml");
    std::fs::write(
        &path,
        "[marketo]\ndedup_window_secs = 0\nwebhook_signing_secrets = [\"whsec_c2VjcmV0\", \"whsec_not base64!\"]\n",
    )
    .unwrap();
    let Err(ConfigError::Invalid(problems)) = Config::load(Some(&path), &Overrides::default())
    else {
        panic!("the configuration should be invalid");
    };
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("marketo.dedup_window_secs:")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("marketo.webhook_signing_secrets[1]:")),
        "{problems:?}"
    );
    assert!(
        !problems
            .iter()
            .any(|p| p.contains("webhook_signing_secrets[0]")),
        "{problems:?}"
    );
}
