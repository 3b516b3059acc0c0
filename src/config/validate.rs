//! Checks that a parsed configuration makes sense, naming the key of each problem.

use std::collections::HashSet;

use super::{Config, ConfigError, Needs};

/// Where the client-credentials flow works, as the messages about `salesforce.login_url` say.
pub(super) const MY_DOMAIN: &str = "your org's My Domain URL (Setup → My Domain), e.g. \
    \"https://yourcompany.my.salesforce.com\", or for a sandbox \
    \"https://yourcompany--sandboxname.sandbox.my.salesforce.com\"";

impl Config {
    /// Every problem at once, so an operator fixes the file in one pass, with what `needs`
    /// requires beyond a well-formed file (see `complete.rs`). With `tolerate_unset`, keys left
    /// empty are not problems: they are returned instead.
    pub(super) fn validate(
        &self,
        needs: Needs,
        tolerate_unset: bool,
    ) -> Result<Vec<String>, ConfigError> {
        let mut problems = Vec::new();
        problems.extend(super::store_url::problem(self.database_url.expose()));
        if self.http.body_limit_bytes == 0 {
            problems.push("http.body_limit_bytes: must be greater than 0".into());
        }
        if self.http.header_read_timeout_secs == 0 {
            problems.push("http.header_read_timeout_secs: must be greater than 0".into());
        }
        if self.http.idle_timeout_secs <= self.http.request_timeout_secs {
            problems.push(format!(
                "http.idle_timeout_secs: must exceed http.request_timeout_secs ({}), or a request \
                 still being handled could lose its connection",
                self.http.request_timeout_secs
            ));
        }
        if self.http.request_timeout_secs == 0 {
            problems.push("http.request_timeout_secs: must be greater than 0".into());
        }
        problems.extend(self.zero_intervals());
        let longest_call = self
            .salesforce
            .request_timeout_secs
            .max(self.marketo.request_timeout_secs);
        if self.worker.lease_secs <= longest_call {
            problems.push(format!(
                "worker.lease_secs: {} must be longer than the longest request timeout ({longest_call} s), or a slow call could be claimed twice",
                self.worker.lease_secs
            ));
        }
        problems.extend(self.triggers.problems(&self.mappings));
        if self.worker.retry_schedule_secs.is_empty() {
            problems.push("worker.retry_schedule_secs: needs at least one delay".into());
        }
        if self.worker.retry_jitter_percent > 100 {
            problems.push("worker.retry_jitter_percent: must be 0 to 100".into());
        }
        if self.worker.claim_batch == 0 {
            problems.push("worker.claim_batch: must be greater than 0".into());
        }
        for (key, value) in [
            ("rate_limit_calls", u64::from(self.marketo.rate_limit_calls)),
            (
                "rate_limit_window_secs",
                self.marketo.rate_limit_window_secs,
            ),
        ] {
            if value == 0 {
                problems.push(format!("marketo.{key}: must be greater than 0"));
            }
        }
        let (calls, window) = (
            self.marketo.rate_limit_calls,
            self.marketo.rate_limit_window_secs,
        );
        if window > 0 && u128::from(calls) * 20 > 100 * u128::from(window) {
            problems.push(format!(
                "marketo.rate_limit_calls: {calls} per {window} s is more than Marketo allows \
                 (100 calls per 20 s for the whole instance, shared with its other API users): \
                 every call past it is refused with 606"
            ));
        }
        if self.marketo.extract_poll_secs > self.marketo.extract_poll_max_secs {
            problems.push(format!(
                "marketo.extract_poll_secs: {} is more than marketo.extract_poll_max_secs ({}), \
                 the longest wait between polls of an extract job",
                self.marketo.extract_poll_secs, self.marketo.extract_poll_max_secs
            ));
        }
        let header = self.marketo.webhook_header.trim();
        if !header.is_empty() && axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            problems.push(format!(
                "marketo.webhook_header: {header:?} is not an HTTP header name (letters, digits \
                 and `-`, no spaces), so no webhook could carry it"
            ));
        }
        if self.marketo.max_concurrency == 0 || self.marketo.max_concurrency > 10 {
            problems.push(
                "marketo.max_concurrency: must be 1 to 10 (Marketo allows 10 per instance)".into(),
            );
        }
        if self.salesforce.max_concurrency == 0 {
            problems.push("salesforce.max_concurrency: must be greater than 0".into());
        }
        if self.salesforce.daily_limit_margin_percent > 100 {
            problems.push("salesforce.daily_limit_margin_percent: must be 0 to 100".into());
        }
        if let Some(problem) = api_version_problem(&self.salesforce.api_version) {
            problems.push(format!("salesforce.api_version: {problem}"));
        }
        // An id that can never match a message's `OrganizationId` is refused. The receiver
        // compares the first 15 characters only, so a wrong 18-character suffix is a warning.
        for (i, org) in self.salesforce.organization_ids.iter().enumerate() {
            let key = format!("salesforce.organization_ids[{i}]");
            match crate::ids::SalesforceId::parse(org) {
                Ok(id) if id.prefix() == "00D" => {}
                Err(crate::ids::IdError::Suffix) if org.starts_with("00D") => {}
                Ok(_) => problems.push(format!(
                    "{key}: {org:?} is not a Salesforce organization id (prefix 00D; Setup → \
                     Company Information shows yours)"
                )),
                Err(error) => problems.push(format!(
                    "{key}: {org:?} is not a Salesforce organization id: {error}"
                )),
            }
        }
        if self.marketo.webhook_header.trim().is_empty() {
            problems.push("marketo.webhook_header: must name a header".into());
        }
        if self.marketo.dedup_window_secs == 0 {
            problems.push("marketo.dedup_window_secs: must be greater than 0".into());
        }
        for (i, secret) in self.marketo.webhook_signing_secrets.iter().enumerate() {
            if secret.signing_key().is_none() {
                problems.push(format!(
                    "marketo.webhook_signing_secrets[{i}]: must be base64, after \"whsec_\" \
                     as Standard Webhooks writes it (the prefix may be left out)"
                ));
            }
        }
        problems.extend(self.salesforce_login_problem());
        self.validate_mappings(&mut problems);
        let mut problems: Vec<String> = problems
            .into_iter()
            .map(|p| {
                super::env::name_the_source(&p, &self.given_by_flag, self.read_from.as_deref())
            })
            .collect();
        let mut unset = Vec::new();
        for lack in self.lacks_for(needs) {
            if tolerate_unset && lack.unset {
                unset.push(lack.text);
            } else {
                problems.push(lack.text);
            }
        }
        if problems.is_empty() {
            Ok(unset)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// The client-credentials flow works only on the org's My Domain host; the generic login
    /// hosts answer `invalid_grant` "request not supported on this domain".
    fn salesforce_login_problem(&self) -> Option<String> {
        let login_url = self.salesforce.login_url.trim();
        if login_url.is_empty() {
            // Left empty: `complete.rs` names it, with the same advice.
            return None;
        }
        let host = reqwest::Url::parse(login_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
            .filter(|host| !host.is_empty());
        match host.as_deref().map(|h| h.trim_end_matches('.')) {
            None => Some(format!(
                "salesforce.login_url: {login_url:?} is not an absolute http(s) URL; set it to \
                 {MY_DOMAIN}"
            )),
            Some(generic @ ("login.salesforce.com" | "test.salesforce.com")) => Some(format!(
                "salesforce.login_url: {generic} is Salesforce's generic login host, which refuses \
                 the client-credentials flow (\"request not supported on this domain\"); use \
                 {MY_DOMAIN}"
            )),
            Some(_) => None,
        }
    }

    fn validate_mappings(&self, problems: &mut Vec<String>) {
        let mut names = HashSet::new();
        let mut programs = HashSet::new();
        let mut campaigns = HashSet::new();
        for (i, m) in self.mappings.iter().enumerate() {
            let key = format!("mappings[{i}]");
            if m.program_id <= 0 {
                problems.push(format!(
                    "{key}.program_id: must be a positive Marketo program id"
                ));
            }
            match crate::ids::SalesforceId::parse(&m.campaign_id) {
                Ok(id) if id.prefix() == "701" => {}
                Ok(_) => problems.push(format!(
                    "{key}.campaign_id: {:?} is not a Salesforce Campaign id (prefix 701)",
                    m.campaign_id
                )),
                Err(error) => problems.push(format!(
                    "{key}.campaign_id: {:?} is not a Salesforce Campaign id: {error}",
                    m.campaign_id
                )),
            }
            if !names.insert(m.name.clone()) {
                problems.push(format!("{key}.name: {:?} is used twice", m.name));
            }
            if !programs.insert(m.program_id) {
                problems.push(format!(
                    "{key}.program_id: program {} is mapped twice (mappings are one-to-one)",
                    m.program_id
                ));
            }
            if !campaigns.insert(m.campaign_id.clone()) {
                problems.push(format!(
                    "{key}.campaign_id: campaign {} is mapped twice (mappings are one-to-one)",
                    m.campaign_id
                ));
            }
            problems.extend(m.map_problems(&key));
        }
    }
}

/// The oldest REST API version with sObject Collections, which every member write uses.
const OLDEST_API_VERSION: u32 = 42;

/// Why `version` cannot be the REST API version the client calls, if it cannot.
fn api_version_problem(version: &str) -> Option<String> {
    let major = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .filter(|(_, minor)| minor.len() == 1 && minor.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|(major, _)| major.parse::<u32>().ok());
    match major {
        None => Some(format!("{version:?} should look like \"v62.0\"")),
        Some(major) if major < OLDEST_API_VERSION => Some(format!(
            "{version:?} is older than v{OLDEST_API_VERSION}.0, the first with the sObject \
             Collections every member write uses"
        )),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError, Overrides};

    /// The configuration read from a file holding one mapping to `campaign_id`.
    fn with_campaign(campaign_id: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("campaign-sync.toml");
        let toml = format!("[[mappings]]\nprogram_id = 1001\ncampaign_id = \"{campaign_id}\"\n");
        std::fs::write(&path, toml).unwrap();
        Config::load_for_migrate(Some(&path), &Overrides::default())
    }

    #[test]
    fn api_versions_are_vnn_n_from_42() {
        for good in ["v42.0", "v62.0", "v65.0"] {
            assert_eq!(super::api_version_problem(good), None, "{good}");
        }
        for (bad, says) in [
            ("62.0", "should look like"),
            ("v62", "should look like"),
            ("v62.x", "should look like"),
            ("v41.0", "older than v42.0"),
        ] {
            let problem = super::api_version_problem(bad).expect(bad);
            assert!(problem.contains(says), "{bad}: {problem}");
        }
    }

    #[test]
    fn a_campaign_id_is_kept_in_its_18_character_form_and_a_bad_one_is_named() {
        let short = with_campaign("701000000000001").unwrap();
        assert_eq!(short.mappings[0].campaign_id, "701000000000001AAA");
        let long = with_campaign("701000000000001AAA").unwrap();
        assert_eq!(long.mappings[0].campaign_id, "701000000000001AAA");
        for (bad, says) in [
            ("701000000000001AAB", "last 3 characters"),
            ("00Q000000000001", "prefix 701"),
            ("701-00000000001", "letters A-Z"),
            ("7010000000001", "15 or 18"),
        ] {
            let Err(ConfigError::Invalid(problems)) = with_campaign(bad) else {
                panic!("{bad} is refused");
            };
            assert!(
                problems
                    .iter()
                    .any(|p| p.starts_with("mappings[0].campaign_id") && p.contains(says)),
                "{bad}: {problems:?}"
            );
        }
    }

    #[test]
    fn organization_ids_are_checked_as_the_receiver_checks_them() {
        let load = |org: &str| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("campaign-sync.toml");
            let toml = format!("[salesforce]\norganization_ids = [\"{org}\"]\n");
            std::fs::write(&path, toml).unwrap();
            Config::load_for_migrate(Some(&path), &Overrides::default())
        };
        for good in [
            "00D000000000001",
            "00D000000000001EAA",
            "00D000000000001eaa",
        ] {
            assert!(load(good).is_ok(), "{good}");
        }
        // A wrong suffix still matches (the receiver compares 15 characters): a warning.
        let loaded = load("00D000000000001AAA").expect("a wrong suffix is not refused");
        let warnings = loaded.warnings();
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("salesforce.organization_ids[0]")
                    && w.contains("last 3 characters")),
            "{warnings:?}"
        );
        assert!(
            !load("00D000000000001EAA")
                .unwrap()
                .warnings()
                .iter()
                .any(|w| w.starts_with("salesforce.organization_ids"))
        );
        for (bad, says) in [
            ("701000000000001", "prefix 00D"),
            ("00D00000000001", "15 or 18"),
            ("00D-00000000001", "only the letters"),
        ] {
            let Err(ConfigError::Invalid(problems)) = load(bad) else {
                panic!("{bad} is refused");
            };
            assert!(
                problems
                    .iter()
                    .any(|p| p.starts_with("salesforce.organization_ids[0]") && p.contains(says)),
                "{bad}: {problems:?}"
            );
        }
    }

    fn login_problem(login_url: &str, client_id: &str) -> Option<String> {
        let mut config = Config::default();
        config.salesforce.login_url = login_url.into();
        config.salesforce.client_id = client_id.into();
        config.salesforce_login_problem()
    }

    #[test]
    fn generic_login_hosts_are_refused_with_what_to_use_instead() {
        for generic in [
            "https://login.salesforce.com",
            "https://TEST.salesforce.com/",
        ] {
            let problem = login_problem(generic, "id").expect("refused");
            assert!(problem.starts_with("salesforce.login_url:"), "{problem}");
            assert!(problem.contains("generic login host"), "{problem}");
            assert!(problem.contains("my.salesforce.com"), "{problem}");
        }
        assert_eq!(login_problem("https://acme.my.salesforce.com", "id"), None);
        for not_http in [
            "ftp://acme.my.salesforce.com",
            "ws://acme.my.salesforce.com",
            "acme",
        ] {
            let problem = login_problem(not_http, "id").expect("refused");
            assert!(
                problem.contains("is not an absolute http(s) URL"),
                "{problem}"
            );
        }
        assert_eq!(
            login_problem("", "id"),
            None,
            "named as unset in complete.rs"
        );
        assert_eq!(
            login_problem("", ""),
            None,
            "no Salesforce client configured"
        );
        assert!(login_problem("acme.my.salesforce.com", "id").is_some());
    }
}
