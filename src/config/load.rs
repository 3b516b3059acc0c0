//! Loading the configuration: defaults, then the file, then the environment, then the command
//! line's overrides, checked for what the command needs.

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Toml};

use super::secret_files::{self, SecretFiles};
use super::{Config, ConfigError, NON_CONFIG_ENV, Secret, env};

/// Values given on the command line; each one set wins over file and environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
}

/// What a command needs of the configuration beyond a well-formed file: the database only
/// (`migrate`), Marketo's API (`marketo provision`), both APIs (`mappings import`), or all a
/// running service needs, the receivers' tokens included (`serve`, `check-config`,
/// `reconcile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Database,
    Marketo,
    Apis,
    Service,
}

impl Config {
    /// Loads defaults, then the file (if any), then the environment, then `overrides`, and
    /// validates the result, including everything a running service needs (credentials, URLs,
    /// inbound tokens): what `serve`, `check-config` and `reconcile` use.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_checked(file, overrides, Needs::Service)
    }

    /// What `serve` loads: a malformed or wrong value is refused as by [`Config::load`], but keys
    /// left empty (credentials, tokens, the organization ids) are listed in
    /// [`Config::unset`] instead, so the process can start, answer health checks and say what
    /// it lacks while it syncs nothing. `check-config` still refuses such a file.
    pub fn load_serving(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_with(file, overrides, Needs::Service, true)
    }

    /// Loads a configuration for a command that needs only part of it (see [`Needs`]).
    pub fn load_for(
        file: Option<&Path>,
        overrides: &Overrides,
        needs: Needs,
    ) -> Result<Self, ConfigError> {
        Self::load_checked(file, overrides, needs)
    }

    /// Like [`Config::load`] without requiring credentials or tokens: `migrate` only opens the
    /// database.
    pub fn load_for_migrate(
        file: Option<&Path>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        Self::load_checked(file, overrides, Needs::Database)
    }

    fn load_checked(
        file: Option<&Path>,
        overrides: &Overrides,
        needs: Needs,
    ) -> Result<Self, ConfigError> {
        Self::load_with(file, overrides, needs, false)
    }

    fn load_with(
        file: Option<&Path>,
        overrides: &Overrides,
        needs: Needs,
        tolerate_unset: bool,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Missing(path.display().to_string()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let files = SecretFiles::read().map_err(ConfigError::Invalid)?;
        let mut ignored: Vec<String> = secret_files::variables_without_prefix();
        ignored.extend(NON_CONFIG_ENV.iter().map(|name| name.to_string()));
        let ignored: Vec<&str> = ignored.iter().map(String::as_str).collect();
        let (parsed, strings) = env::providers(&ignored);
        figment = figment.merge(parsed).merge(strings).merge(files);
        let mut config: Config = match figment.extract() {
            Ok(config) => config,
            Err(error) => {
                let every = super::every::problems(&figment, needs, super::error::describe);
                // One problem is told as before, on its own line; several as a list.
                if every.len() < 2 {
                    return Err(ConfigError::from_figment(error));
                }
                return Err(ConfigError::Invalid(every));
            }
        };
        if let Some(listen) = overrides.listen {
            config.listen = listen;
            config.given_by_flag.push("listen");
        }
        if let Some(url) = &overrides.database_url {
            config.database_url = Secret::new(url);
            config.given_by_flag.push("database_url");
        }
        config.read_from = file.map(Path::to_path_buf);
        config.normalize_mappings();
        config.trim_urls();
        config.unset = config.validate(needs, tolerate_unset)?;
        Ok(config)
    }

    /// The API URLs without spaces or line breaks around them (an env file or a Secret copied
    /// with a trailing space): the URL parser ignores them, so they passed every check and then
    /// made every call fail with "invalid port number".
    fn trim_urls(&mut self) {
        for url in [
            &mut self.salesforce.login_url,
            &mut self.salesforce.instance_url,
            &mut self.marketo.base_url,
        ] {
            let trimmed = url.trim();
            if trimmed.len() != url.len() {
                *url = trimmed.to_string();
            }
        }
    }

    /// Names unnamed mappings after their program, and gives each campaign id its 18-character
    /// form: the REST API answers only that form, so a 15-character id would match nothing it
    /// returns (the campaign's statuses, its settings). An id that does not parse is left for
    /// validation to name.
    fn normalize_mappings(&mut self) {
        for mapping in &mut self.mappings {
            if mapping.name.is_empty() {
                mapping.name = mapping.program_id.to_string();
            }
            if let Ok(id) = crate::ids::SalesforceId::parse(&mapping.campaign_id) {
                mapping.campaign_id = id.long();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls_lose_the_spaces_around_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("campaign-sync.toml");
        std::fs::write(
            &path,
            "[marketo]\nbase_url = \"https://mkto.example.com \"\n\
             [salesforce]\nlogin_url = \" https://org.my.salesforce.com\\n\"\n",
        )
        .unwrap();
        let config = Config::load_for_migrate(Some(&path), &Overrides::default()).unwrap();
        assert_eq!(config.marketo.base_url, "https://mkto.example.com");
        assert_eq!(config.salesforce.login_url, "https://org.my.salesforce.com");
    }
}
