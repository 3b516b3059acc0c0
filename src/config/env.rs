//! The `CAMPAIGN_SYNC_*` environment as configuration. Figment's `Env` reads every value as TOML-ish
//! (`123456` becomes a number, `007` the number 7, `true` a boolean), which breaks text keys such
//! as secrets; those keys are read by [`EnvStrings`], which keeps the exact text.

use figment::providers::Env;
use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

pub(super) const PREFIX: &str = "CAMPAIGN_SYNC_";

/// Every configuration key whose value is text (secrets, ids, URLs, names), as a dotted path.
/// A new `String` or `Secret` field belongs here, or an all-digit value of it given through the
/// environment is refused as a number.
pub(super) const TEXT_KEYS: &[&str] = &[
    "database_url",
    "admin.token",
    "admin.read_token",
    "salesforce.login_url",
    "salesforce.instance_url",
    "salesforce.api_version",
    "salesforce.client_id",
    "salesforce.client_secret",
    "salesforce.inbound_token",
    "marketo.base_url",
    "marketo.client_id",
    "marketo.client_secret",
    "marketo.webhook_token",
    "marketo.webhook_header",
];

/// The environment in two providers: every key but the text keys, parsed as figment does (so
/// numbers, booleans and arrays work), and the text keys kept as written. `ignore` names
/// prefixed variables that are not configuration keys.
pub(super) fn providers(ignore: &[&str]) -> (Env, EnvStrings) {
    let base = Env::prefixed(PREFIX)
        .ignore(ignore)
        .filter(|key| exact_prefix(key.as_str()))
        .filter(|key| !is_service_link(key.as_str()))
        .split("__");
    let parsed = base.clone().filter(|key| !is_text_key(key.as_str()));
    (
        parsed,
        EnvStrings {
            env: base.only(TEXT_KEYS),
        },
    )
}

/// Whether the variable whose name after the prefix is `rest` has the prefix as written:
/// figment matches it in any case, and `campaign_sync_listen` is not a configuration variable.
fn exact_prefix(rest: &str) -> bool {
    std::env::var_os(format!("{PREFIX}{rest}")).is_some()
}

/// Whether a prefixed variable is one Kubernetes adds for a Service whose name starts with
/// `campaign-sync` (`CAMPAIGN_SYNC_SERVICE_HOST`, `CAMPAIGN_SYNC_ADMIN_PORT_80_TCP_ADDR`, …): not
/// configuration, and refused as an unknown key if it were read as such. `key` is what follows
/// the prefix; no configuration key has these shapes.
fn is_service_link(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    if key.contains("__") || key.contains('.') {
        return false;
    }
    let parts: Vec<&str> = key.split('_').collect();
    parts
        .windows(2)
        .any(|w| w[0] == "service" && matches!(w[1], "host" | "port"))
        || parts.last() == Some(&"port")
        || parts.windows(3).any(|w| {
            w[0] == "port"
                && w[1].bytes().all(|b| b.is_ascii_digit())
                && matches!(w[2], "tcp" | "udp" | "sctp")
        })
}

fn is_text_key(key: &str) -> bool {
    // Filters run after `split("__")`, so keys arrive dotted; the `__` form is accepted too.
    let dotted = key.replace("__", ".");
    TEXT_KEYS.iter().any(|k| k.eq_ignore_ascii_case(&dotted))
}

/// The text keys of the environment, each value a string exactly as set.
pub(super) struct EnvStrings {
    env: Env,
}

impl Provider for EnvStrings {
    fn metadata(&self) -> Metadata {
        self.env.metadata()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut dict = Dict::new();
        for (key, value) in self.env.iter() {
            let path: Vec<&str> = key.as_str().split('.').collect();
            insert(&mut dict, &path, value);
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Puts `value` at `path` (non-empty: `Env::iter` drops keys with empty parts) in `dict`.
fn insert(dict: &mut Dict, path: &[&str], value: String) {
    match path {
        [] => {}
        [leaf] => {
            dict.insert((*leaf).to_string(), Value::from(value));
        }
        [section, rest @ ..] => {
            let entry = dict
                .entry((*section).to_string())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

/// As [`name_the_variable`], naming the command-line flag instead for a key it gave (`listen`,
/// `database_url`): the flag's value is the one refused, whatever the environment holds; and
/// naming the configuration file for a key it set that nothing overrode.
pub(super) fn name_the_source(
    problem: &str,
    given_by_flag: &[&str],
    file: Option<&std::path::Path>,
) -> String {
    let key = key_of(problem);
    if given_by_flag.contains(&key) {
        return format!("{problem} (given by --{})", key.replace('_', "-"));
    }
    let named = name_the_variable(problem);
    match file {
        Some(path) if named == problem && is_key(key) && sets(path, key) => {
            format!("{problem} (set in {})", path.display())
        }
        _ => named,
    }
}

/// Whether the configuration file sets `key` (`schedules.deleted_poll_secs`).
fn sets(path: &std::path::Path, key: &str) -> bool {
    use figment::providers::Format;
    figment::Figment::from(figment::providers::Toml::file_exact(path))
        .find_value(key)
        .is_ok()
}

/// The key a problem begins with (`worker.retry_jitter_percent` of
/// `worker.retry_jitter_percent: must be …`).
fn key_of(problem: &str) -> &str {
    problem
        .split([':', ' '])
        .next()
        .unwrap_or_default()
        .split('[')
        .next()
        .unwrap_or_default()
}

/// Whether a problem's first word is a configuration key (`marketo.base_url`), not prose.
fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
}

/// A problem with a key (`worker.retry_jitter_percent: must be …`) says so when an environment
/// variable set the key (or a key inside it, as `…__MAPPINGS__WEBINAR__ACTIVITIES` sets
/// `triggers.mappings.webinar`), as the type errors do: the file may hold a good value the
/// variable overrides.
pub(super) fn name_the_variable(problem: &str) -> String {
    let key = key_of(problem);
    if !is_key(key) {
        return problem.to_string();
    }
    let variable = format!("{PREFIX}{}", key.to_ascii_uppercase().replace('.', "__"));
    if std::env::var_os(&variable).is_some() {
        format!("{problem} (set by the environment variable {variable})")
    } else if let Some(file) = super::secret_files::named_file(key) {
        format!("{problem} (read from the file {file} named by {variable}_FILE)")
    } else if let Some(inner) = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with(&format!("{variable}__")))
        .min()
    {
        format!("{problem} (set by the environment variable {inner})")
    } else {
        problem.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keys_are_recognised_before_and_after_splitting() {
        assert!(is_text_key("marketo__client_secret"));
        assert!(is_text_key("MARKETO__CLIENT_SECRET"));
        assert!(is_text_key("database_url"));
        assert!(is_text_key("admin__read_token"));
        assert!(!is_text_key("marketo__rate_limit_calls"));
        assert!(!is_text_key("marketo__webhook_signing_secrets"));
    }

    #[test]
    fn kubernetes_service_links_are_not_configuration() {
        for link in [
            "service_host",
            "SERVICE_PORT",
            "service_port_http",
            "port",
            "port_80_tcp",
            "port_80_tcp_addr",
            "port_80_tcp_proto",
            "admin_service_host",
            "admin_port_9090_tcp_port",
            "admin_port",
        ] {
            assert!(is_service_link(link), "{link}");
        }
        for key in [
            "listen",
            "admin_listen",
            "database_url",
            "marketo__base_url",
            "http__body_limit_bytes",
            "log_format",
        ] {
            assert!(!is_service_link(key), "{key}");
        }
    }

    /// Every text value the example file shows (set or commented out) outside the mapping
    /// tables is a text key, so a new one cannot be forgotten here.
    #[test]
    fn every_text_value_of_the_example_file_is_a_text_key() {
        // Addresses parse from the environment's text as they are.
        const NOT_TEXT: [&str; 2] = ["listen", "admin_listen"];
        let example = include_str!("../../deploy/campaign-sync.example.toml");
        let mut section = String::new();
        let mut seen = 0;
        for line in example.lines() {
            let line = line.trim_start_matches('#').trim();
            if line.starts_with("[[") || line.starts_with("[triggers") {
                break;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = format!("{name}.");
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let key = key.trim();
            if !value.trim_start().starts_with('"') || key.contains(' ') {
                continue;
            }
            let dotted = format!("{section}{key}");
            if !NOT_TEXT.contains(&dotted.as_str()) {
                assert!(TEXT_KEYS.contains(&dotted.as_str()), "{dotted}");
                seen += 1;
            }
        }
        assert!(seen >= 12, "{seen} text values read from the example");
    }

    #[test]
    fn every_text_key_is_a_text_field_of_the_config() {
        // Each text key set to the string "007" must deserialize: a key that is not a field (a
        // typo here) is refused by `deny_unknown_fields`, a field that is not text refuses a
        // string.
        for key in TEXT_KEYS {
            let figment =
                figment::Figment::new().merge(figment::providers::Serialized::default(key, "007"));
            if let Err(error) = figment.extract::<super::super::Config>() {
                panic!("{key}: {error}");
            }
        }
    }
}
