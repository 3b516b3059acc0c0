//! What a running service needs beyond a well-formed file: both sides' credentials and absolute
//! URLs, and the tokens that let senders in. The service needs both sides, so both are always
//! checked; `migrate`, which only opens the database, skips these checks, and the commands that
//! only call the APIs (`marketo provision`, `mappings import`) check only what they call.

use super::{Config, Needs};

impl Config {
    /// What is missing for `needs`, in the order the file lists the keys.
    pub(super) fn missing_for(&self, needs: Needs) -> Vec<String> {
        let mut problems = Vec::new();
        let receives = needs == Needs::Service;
        if matches!(needs, Needs::Apis | Needs::Service) {
            self.salesforce_api_problems(&mut problems);
        }
        if receives {
            self.salesforce_receiver_problems(&mut problems);
        }
        if matches!(needs, Needs::Marketo | Needs::Apis | Needs::Service) {
            self.marketo_api_problems(&mut problems);
        }
        if receives {
            let mkto = &self.marketo;
            if mkto.webhook_signing_secrets.is_empty() {
                require(
                    &mut problems,
                    "marketo.webhook_token",
                    mkto.webhook_token.expose(),
                );
            }
            if let Some(admin) = self.admin_listen.filter(|a| *a == self.listen) {
                problems.push(format!(
                    "admin_listen: {admin} is also `listen`; give the admin listener its own address"
                ));
            }
        }
        problems
    }

    /// What calling Salesforce's API needs.
    fn salesforce_api_problems(&self, problems: &mut Vec<String>) {
        let sf = &self.salesforce;
        // A set `salesforce.login_url` is checked with the validation (My Domain, not a generic
        // host), which also names it when `client_id` is set without it.
        if sf.client_id.trim().is_empty() {
            require(problems, "salesforce.login_url", &sf.login_url);
        }
        if !sf.instance_url.is_empty() {
            require_url(problems, "salesforce.instance_url", &sf.instance_url);
        }
        require(problems, "salesforce.client_id", &sf.client_id);
        require(
            problems,
            "salesforce.client_secret",
            sf.client_secret.expose(),
        );
    }

    /// What receiving Salesforce's outbound messages needs.
    fn salesforce_receiver_problems(&self, problems: &mut Vec<String>) {
        let sf = &self.salesforce;
        if sf.organization_ids.is_empty() {
            problems.push(format!(
                "salesforce.organization_ids: empty, so every outbound message is refused; list \
                 your org id (Setup → Company Information) in the file or as {}",
                env_name("salesforce.organization_ids")
            ));
        }
        require(
            problems,
            "salesforce.inbound_token",
            sf.inbound_token.expose(),
        );
    }

    /// What calling Marketo's API needs.
    fn marketo_api_problems(&self, problems: &mut Vec<String>) {
        let mkto = &self.marketo;
        require_url(problems, "marketo.base_url", &mkto.base_url);
        require(problems, "marketo.client_id", &mkto.client_id);
        require(
            problems,
            "marketo.client_secret",
            mkto.client_secret.expose(),
        );
    }

    /// Things that work but are probably not meant: `check-config` prints them, `serve` logs
    /// them, neither refuses.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.mappings.is_empty() {
            warnings.push(
                "mappings: none configured, so the service receives but syncs nothing".to_string(),
            );
        }
        if self.admin.token.expose().trim().is_empty() {
            warnings.push(
                "admin.token: empty, so /admin/..., /v1/trigger-events and /v1/member-of answer 401"
                    .to_string(),
            );
        }
        warnings
    }
}

/// The environment variable that sets `key` (`marketo.client_secret` →
/// `CAMPAIGN_SYNC_MARKETO__CLIENT_SECRET`), so an operator knows both places to fix it.
fn env_name(key: &str) -> String {
    format!(
        "CAMPAIGN_SYNC_{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

fn require(problems: &mut Vec<String>, key: &str, value: &str) {
    if value.trim().is_empty() {
        problems.push(format!(
            "{key}: missing (set it in the file or as {})",
            env_name(key)
        ));
    }
}

/// An absolute `http://` or `https://` URL with a host.
fn require_url(problems: &mut Vec<String>, key: &str, value: &str) {
    if value.trim().is_empty() {
        require(problems, key, value);
        return;
    }
    let absolute = reqwest::Url::parse(value).is_ok_and(|url| {
        matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty())
    });
    if !absolute {
        problems.push(format!(
            "{key}: {value:?} is not an absolute http(s) URL, e.g. \"https://host.example.com\""
        ));
    }
}

#[cfg(test)]
mod tests {
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
    fn no_mappings_is_a_warning() {
        let warnings = complete().warnings();
        assert!(warnings.iter().any(|w| w.starts_with("mappings:")));
    }
}
