//! Loading errors in words: each names its key and file, an unknown key its nearest known
//! one, and an error about a key holding a secret never shows the value.

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    Missing(String),
    #[error("{0}")]
    Parse(String),
    #[error("invalid configuration:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<String>),
}

impl ConfigError {
    /// Each problem on its own, for logs that take one line per event (JSON).
    pub fn problems(&self) -> Vec<String> {
        match self {
            ConfigError::Missing(_) => vec![self.to_string()],
            ConfigError::Parse(lines) => lines.lines().map(str::to_string).collect(),
            ConfigError::Invalid(problems) => problems.clone(),
        }
    }

    pub(super) fn from_figment(error: figment::Error) -> Self {
        let lines: Vec<String> = error.into_iter().map(|e| describe(&e)).collect();
        ConfigError::Parse(lines.join("\n"))
    }
}

/// What a key expects, in words rather than Rust's type names (`u64`, `i64`).
fn in_words(expected: &str) -> String {
    let words = match expected {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        other => other,
    };
    words.to_string()
}

/// One loading error in words; an unknown key names where it is, the nearest known key and
/// the keys its section has (figment's own text nests backquotes and names the profile).
pub(super) fn describe(error: &figment::Error) -> String {
    use figment::error::Kind;
    let source = origin(error);
    let figment::error::Kind::UnknownField(field, expected) = &error.kind else {
        let key = error.path.join(".");
        return match &error.kind {
            // The value may be a secret: name the key and what it must be, not what it holds.
            Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) if is_secret(&key) => {
                format!(
                    "invalid value for `{}`{source}: expected {} (the value is not shown: the key holds a secret)",
                    shown_key(&error.path, None),
                    in_words(expected)
                )
            }
            // Named as the file writes them (`mappings[0].campaign_id`), without figment's
            // profile prefix.
            Kind::MissingField(field) => {
                let key = shown_key(&error.path, Some(field));
                format!("missing key `{key}`{source}")
            }
            Kind::UnknownVariant(found, expected) if !is_secret(&key) => format!(
                "invalid value for `{}`{source}: `{found}` is not one of {}",
                shown_key(&error.path, None),
                expected
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Kind::InvalidType(found, expected) => {
                // A list in the environment is written as an array, which is easy to miss.
                let hint = if !source.contains("environment") || !expected.contains("sequence") {
                    ""
                } else if key == "mappings" {
                    // JSON objects are no TOML: the whole value was read as one string.
                    " (write the list of tables in TOML's inline form, `=` between key and \
                     value: '[{ name = \"webinar\", program_id = 1001, campaign_id = \
                     \"701…\" }]'; JSON objects are not read)"
                } else {
                    " (write a list as an array: '[\"first\", \"second\"]')"
                };
                format!(
                    "invalid value for `{}`{source}: found {found}, expected {}{hint}",
                    shown_key(&error.path, None),
                    in_words(expected)
                )
            }
            // A number out of its range (a negative count, a percentage over 255): named as
            // the file writes the key, with where it came from.
            Kind::InvalidValue(found, expected) => format!(
                "invalid value for `{}`{source}: found {found}, expected {}",
                shown_key(&error.path, None),
                in_words(expected)
            ),
            Kind::ISizeOutOfRange(found) => format!(
                "invalid value for `{}`{source}: {found} is out of range",
                shown_key(&error.path, None)
            ),
            Kind::USizeOutOfRange(found) => format!(
                "invalid value for `{}`{source}: {found} is out of range",
                shown_key(&error.path, None)
            ),
            // A value its type refused in its own words (an address, a URL): named as the
            // file writes the key; a secret's message is left out, as it may quote the value.
            Kind::Message(message) if !error.path.is_empty() => {
                let key = shown_key(&error.path, None);
                if is_secret(&key) {
                    format!(
                        "invalid value for `{key}`{source} (the value is not shown: the key holds a secret)"
                    )
                } else if key.ends_with("listen") {
                    format!(
                        "invalid value for `{key}`{source}: {message} (an IP address and a \
                         port, such as 0.0.0.0:8080 or 127.0.0.1:8080; not a host name)"
                    )
                } else {
                    format!("invalid value for `{key}`{source}: {message}")
                }
            }
            // A TOML syntax error quotes the offending line, which may hold a secret: keep
            // only where it is and what is wrong.
            Kind::Message(_) => without_snippet(&error.to_string()),
            _ => error.to_string(),
        };
    };
    let key = shown_key(&error.path, None);
    let key = if key.is_empty() { field.clone() } else { key };
    let nearest = expected
        .iter()
        .map(|known| (edit_distance(field, known), known))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, known)| format!(" (did you mean `{known}`?)"))
        .unwrap_or_default();
    format!(
        "unknown key `{key}`{source}{nearest}; the keys here are {}",
        expected
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Where the value came from, as " in FILE" or " in the environment variable NAME" (a variable
/// is named as it is set, so a typo there is not looked for in the file); "" when unknown.
fn origin(error: &figment::Error) -> String {
    let Some(metadata) = error.metadata.as_ref() else {
        return String::new();
    };
    if let Some(file) = &metadata.source {
        return format!(" in {file}");
    }
    if metadata.name.contains("environment") && !error.path.is_empty() {
        // A list is set whole (`'["a", "b"]'`): an item's index is not part of the name.
        let parts: Vec<String> = error
            .path
            .iter()
            .take_while(|p| !p.bytes().all(|b| b.is_ascii_digit()))
            .map(|p| p.to_ascii_uppercase())
            .collect();
        return format!(
            " in the environment variable {}{}",
            super::env::PREFIX,
            parts.join("__")
        );
    }
    String::new()
}

/// A key path as a TOML file writes it: array items by index (`mappings[0].name`).
fn shown_key(path: &[String], last: Option<&str>) -> String {
    let mut key = String::new();
    for part in path.iter().map(String::as_str).chain(last) {
        if part.bytes().all(|b| b.is_ascii_digit()) && !key.is_empty() {
            key.push_str(&format!("[{part}]"));
        } else {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(part);
        }
    }
    key
}

/// Whether a configuration key holds a secret (its value is never shown in an error).
fn is_secret(key: &str) -> bool {
    // A list's item (`webhook_signing_secrets.0`) is named by its list.
    let last = key
        .rsplit('.')
        .find(|part| !part.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or(key);
    key == "database_url" || last.contains("secret") || last.contains("token")
}

/// A parse error's text without the quoted source lines (`3 | client_secret = s3cr3t`).
fn without_snippet(text: &str) -> String {
    text.lines()
        .filter(|line| {
            let quoted = line
                .trim_start()
                .trim_start_matches(|c: char| c.is_ascii_digit());
            !(quoted.starts_with(" |") || quoted.starts_with('|'))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Levenshtein distance, for suggesting a key.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;
    use crate::config::{Config, Overrides};

    #[test]
    fn an_unknown_key_is_named_with_its_file_the_nearest_key_and_its_section_s_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("campaign-sync.toml");
        std::fs::write(
            &path,
            "listne = \"0.0.0.0:80\"\n[worker]\nretry_jitter = 5\n",
        )
        .unwrap();
        let error = Config::load_for_migrate(Some(&path), &Overrides::default())
            .unwrap_err()
            .to_string();
        // Beside the unknown key in `[worker]`, both listed.
        let line = error
            .lines()
            .find(|l| l.contains("listne"))
            .map(|l| l.trim_start().trim_start_matches("- "))
            .unwrap_or_else(|| panic!("{error}"));
        assert!(
            error.contains("unknown key `worker.retry_jitter`"),
            "{error}"
        );
        assert!(
            // figment names the file relative to the working directory when it can.
            line.starts_with("unknown key `listne` in ")
                && line.contains("campaign-sync.toml")
                && line.contains("(did you mean `listen`?)")
                && line.contains("`database_url`, `sync_enabled`"),
            "{line}"
        );
        assert!(!line.contains("default."), "no profile name: {line}");
    }

    #[test]
    fn an_error_about_a_secret_never_shows_its_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("campaign-sync.toml");
        for (toml, secret) in [
            ("[admin]\ntoken = 123456789\n", "123456789"),
            ("[marketo]\nclient_secret = s3cr3t-value\n", "s3cr3t-value"),
            (
                "[marketo]\nwebhook_signing_secrets = \"whsec_c2VjcmV0\"\n",
                "whsec_c2VjcmV0",
            ),
            ("[marketo]\nwebhook_signing_secrets = [123456]\n", "123456"),
        ] {
            std::fs::write(&path, toml).unwrap();
            let error = Config::load_for_migrate(Some(&path), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(!error.contains(secret), "{toml}: {error}");
            assert!(
                error.contains("campaign-sync.toml"),
                "names the file: {error}"
            );
            assert!(!error.trim().is_empty());
        }
    }

    #[test]
    fn a_missing_or_mistyped_key_is_named_as_the_file_writes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("campaign-sync.toml");
        for (toml, expected) in [
            (
                "[[mappings]]\nname = \"w\"\nprogram_id = 1\n",
                "missing key `mappings[0].campaign_id` in ",
            ),
            (
                "[salesforce]\nmax_concurrency = \"x\"\n",
                "invalid value for `salesforce.max_concurrency` in ",
            ),
            (
                "listen = \"localhost:8080\"\n",
                "invalid value for `listen` in ",
            ),
            (
                "[worker]\nretry_jitter_percent = 500\n",
                "invalid value for `worker.retry_jitter_percent` in ",
            ),
            (
                "[http]\nbody_limit_bytes = -1\n",
                "invalid value for `http.body_limit_bytes` in ",
            ),
            (
                "[[mappings]]\nname = \"w\"\nprogram_id = 1\ncampaign_id = \"701000000000001AAA\"\nconflict_policy = \"newest\"\n",
                "invalid value for `mappings[0].conflict_policy` in ",
            ),
            (
                "[[mappings]]\nname = \"w\"\nprogram_id = 1\ncampaign_id = \"701000000000001AAA\"\nstatus_mpa = {}\n",
                "unknown key `mappings[0].status_mpa` in ",
            ),
        ] {
            std::fs::write(&path, toml).unwrap();
            let error = Config::load_for_migrate(Some(&path), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(expected), "{toml}: {error}");
            assert!(error.contains("campaign-sync.toml"), "{error}");
            if toml.starts_with("listen") {
                assert!(error.contains("such as 0.0.0.0:8080"), "{error}");
            }
            assert!(!error.contains("default."), "no profile name: {error}");
        }
    }

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("listne", "listen"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
