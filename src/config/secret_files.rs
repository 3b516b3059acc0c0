//! Secrets read from files: `CAMPAIGN_SYNC_<KEY>_FILE` names a file holding the key's value, as
//! Docker and Kubernetes hand secrets over. The file's text is the value (the blanks around it
//! dropped, as for every secret), and it stands where the variable `CAMPAIGN_SYNC_<KEY>` would.

use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

use super::env::PREFIX;

/// The keys that may come from a file: every secret, and the database URL (it holds
/// PostgreSQL's password).
pub(super) const FILE_KEYS: &[&str] = &[
    "database_url",
    "admin.token",
    "admin.read_token",
    "salesforce.client_secret",
    "salesforce.inbound_token",
    "marketo.client_secret",
    "marketo.webhook_token",
    "marketo.webhook_signing_secrets",
];

/// The keys among [`FILE_KEYS`] that are lists: their file holds one value a line (blank lines
/// skipped), so a rotation's two signing secrets can sit in one secret file.
const LIST_FILE_KEYS: &[&str] = &["marketo.webhook_signing_secrets"];

/// A file's text as the value of `key`: a list of its lines for a list key, else the text.
fn value_of(key: &str, text: &str) -> Value {
    if LIST_FILE_KEYS.contains(&key) {
        let lines: Vec<Value> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(Value::from)
            .collect();
        Value::from(lines)
    } else {
        Value::from(text.to_string())
    }
}

/// `CAMPAIGN_SYNC_ADMIN__TOKEN` for `admin.token`.
pub(super) fn variable(key: &str) -> String {
    format!("{PREFIX}{}", key.to_ascii_uppercase().replace('.', "__"))
}

/// `CAMPAIGN_SYNC_ADMIN__TOKEN_FILE` for `admin.token`.
pub(super) fn file_variable(key: &str) -> String {
    format!("{}_FILE", variable(key))
}

/// The `_FILE` variables without the prefix, as the environment provider sees them: they are
/// not configuration keys.
pub(super) fn variables_without_prefix() -> Vec<String> {
    FILE_KEYS
        .iter()
        .map(|key| file_variable(key)[PREFIX.len()..].to_string())
        .collect()
}

/// The file `key`'s `_FILE` variable names, when it is set to something.
pub(super) fn named_file(key: &str) -> Option<String> {
    std::env::var(file_variable(key))
        .ok()
        .filter(|path| !path.trim().is_empty())
}

/// The values of the files named, each at its key; every problem (a key given both ways, a
/// file that cannot be read) named with its key, variable and file.
pub(super) struct SecretFiles {
    values: Vec<(&'static str, String)>,
}

impl SecretFiles {
    pub(super) fn read() -> Result<Self, Vec<String>> {
        let mut values = Vec::new();
        let mut problems = Vec::new();
        for key in FILE_KEYS {
            match read_one(key) {
                Ok(Some(text)) => values.push((*key, text)),
                Ok(None) => {}
                Err(problem) => problems.push(problem),
            }
        }
        if problems.is_empty() {
            Ok(SecretFiles { values })
        } else {
            Err(problems)
        }
    }
}

/// The text of the file `key`'s `_FILE` variable names (`None` when it names none), or the
/// problem with it, naming the key, the variables and the file.
pub fn read_one(key: &str) -> Result<Option<String>, String> {
    let Some(path) = named_file(key) else {
        return Ok(None);
    };
    let (variable, file_variable) = (variable(key), file_variable(key));
    if std::env::var_os(&variable).is_some() {
        return Err(format!(
            "{key}: set both by {variable} and by {file_variable} (the file {path}); keep one"
        ));
    }
    match std::fs::read(&path).map(String::from_utf8) {
        Ok(Ok(text)) => Ok(Some(text)),
        Ok(Err(_)) => Err(format!(
            "{key}: the file {path} named by {file_variable} is not UTF-8 text"
        )),
        Err(error) => Err(format!(
            "{key}: cannot read the file {path} named by {file_variable}: {error}"
        )),
    }
}

impl Provider for SecretFiles {
    fn metadata(&self) -> Metadata {
        Metadata::named("secret files named by CAMPAIGN_SYNC_*_FILE environment variables")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut dict = Dict::new();
        for (key, text) in &self.values {
            match key.split_once('.') {
                None => {
                    dict.insert((*key).to_string(), value_of(key, text));
                }
                Some((section, leaf)) => {
                    let entry = dict
                        .entry(section.to_string())
                        .or_insert_with(|| Value::from(Dict::new()));
                    if let Value::Dict(_, inner) = entry {
                        inner.insert(leaf.to_string(), value_of(key, text));
                    }
                }
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_key_is_a_text_key() {
        for key in FILE_KEYS.iter().filter(|key| !LIST_FILE_KEYS.contains(key)) {
            assert!(super::super::env::TEXT_KEYS.contains(key), "{key}");
        }
        assert_eq!(
            file_variable("salesforce.client_secret"),
            "CAMPAIGN_SYNC_SALESFORCE__CLIENT_SECRET_FILE"
        );
        assert!(variables_without_prefix().contains(&"DATABASE_URL_FILE".to_string()));
    }

    #[test]
    fn the_values_sit_at_their_keys() {
        let files = SecretFiles {
            values: vec![
                ("database_url", "sqlite://x.db\n".into()),
                ("admin.token", "token-0123456789abcdef\n".into()),
                ("admin.read_token", "read-0123456789abcdef".into()),
            ],
        };
        let config: super::super::Config = figment::Figment::new().merge(files).extract().unwrap();
        assert_eq!(config.database_url.expose(), "sqlite://x.db");
        assert_eq!(config.admin.token.expose(), "token-0123456789abcdef");
        assert_eq!(config.admin.read_token.expose(), "read-0123456789abcdef");
    }

    #[test]
    fn a_list_key_takes_one_value_a_line() {
        let files = SecretFiles {
            values: vec![(
                "marketo.webhook_signing_secrets",
                "whsec_bmV3\n\n  whsec_b2xk  \n".into(),
            )],
        };
        let config: super::super::Config = figment::Figment::new().merge(files).extract().unwrap();
        let secrets: Vec<&str> = config
            .marketo
            .webhook_signing_secrets
            .iter()
            .map(|s| s.expose())
            .collect();
        assert_eq!(secrets, ["whsec_bmV3", "whsec_b2xk"]);
    }
}
