//! What a running service needs beyond a well-formed file: both sides' credentials and absolute
//! URLs, and the tokens that let senders in. The service needs both sides, so both are always
//! checked; `migrate`, which only opens the database, skips these checks, and the commands that
//! only call the APIs (`marketo provision`, `mappings import`) check only what they call. A key
//! left empty is told apart from a value that cannot work: `serve` starts without the first
//! (and syncs nothing), never with the second.

use super::{Config, Needs};

/// One thing a command's configuration lacks: a key left empty (`unset`), or a value that
/// cannot work.
pub(super) struct Lack {
    pub text: String,
    pub unset: bool,
}

/// What is found lacking, in the order the file lists the keys.
#[derive(Default)]
struct Lacks(Vec<Lack>);

impl Lacks {
    fn unset(&mut self, text: String) {
        // A variable set to nothing emptied the key, whatever the file says: named, unless the
        // text already does.
        let key = text.split(':').next().unwrap_or_default();
        let variable = env_name(key);
        let emptied = std::env::var_os(&variable).is_some_and(|v| v.is_empty());
        let text = if emptied && !text.contains(&variable) {
            format!(
                "{text} (the environment variable {variable} is set to nothing, which overrides the file)"
            )
        } else {
            text
        };
        self.0.push(Lack { text, unset: true });
    }

    /// A value that cannot work, naming the environment variable when one set it.
    fn wrong(&mut self, text: String) {
        let text = super::env::name_the_variable(&text);
        self.0.push(Lack { text, unset: false });
    }

    /// `key` must not be empty.
    fn require(&mut self, key: &str, value: &str) {
        if value.trim().is_empty() {
            let variable = env_name(key);
            // A variable set to nothing overrides the file's value: say so, or the operator
            // looks for the key in a file that has it.
            let set_empty = std::env::var_os(&variable).is_some_and(|v| v.is_empty());
            let file = super::secret_files::FILE_KEYS
                .contains(&key)
                .then(|| super::secret_files::named_file(key))
                .flatten();
            self.unset(if let Some(file) = file {
                format!(
                    "{key}: empty: the file {file} named by {variable}_FILE holds nothing \
                     but blanks"
                )
            } else if set_empty {
                format!(
                    "{key}: empty: the environment variable {variable} is set to nothing, which \
                     overrides the file (unset it, or give it the value)"
                )
            } else {
                format!("{key}: missing (set it in the file or as {variable})")
            });
        }
    }

    /// An absolute `http://` or `https://` URL with a host.
    fn require_url(&mut self, key: &str, value: &str) {
        if value.trim().is_empty() {
            return self.require(key, value);
        }
        let absolute = reqwest::Url::parse(value).is_ok_and(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|h| !h.is_empty())
        });
        if !absolute {
            self.wrong(format!(
                "{key}: {value:?} is not an absolute http(s) URL, e.g. \"https://host.example.com\""
            ));
        }
    }

    /// A base URL must not carry an API path the client adds itself (Marketo's Web Services
    /// page shows the REST endpoint as `…/rest`; a copied Salesforce URL may hold
    /// `/services/data/…`): every call would go to a path that does not exist, and the first
    /// one, the token request, would be taken for refused credentials. `roots` are the path
    /// segments the client adds; the URL is refused when its path ends with one or goes on
    /// into it, and the message gives the URL without it (a gateway's own prefix is kept).
    fn refuse_api_path(&mut self, key: &str, value: &str, roots: &[(&str, &[&str])]) {
        let Ok(url) = reqwest::Url::parse(value.trim()) else {
            return;
        };
        let segments: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
        let found = segments.iter().enumerate().find_map(|(i, segment)| {
            let (_, next) = roots.iter().find(|(root, _)| root == segment)?;
            // The root ends the path, or what follows it is the API's own.
            let api = match segments.get(i + 1) {
                None => true,
                Some(after) => next.iter().any(|n| after.eq_ignore_ascii_case(n)),
            };
            api.then_some(i)
        });
        let Some(at) = found else {
            return;
        };
        let mut kept = url.clone();
        kept.set_path(&segments[..at].join("/"));
        kept.set_query(None);
        let kept = kept.as_str().trim_end_matches('/').to_string();
        self.wrong(format!(
            "{key}: {value:?} holds the API path /{}, which the service adds itself; give \
             \"{kept}\"",
            segments[at..].join("/")
        ));
    }
}

/// The path roots Marketo's client adds (`/rest/v1/…`, `/rest/asset/v1/…`, `/identity/oauth/…`),
/// with what may follow each in a pasted URL.
const MARKETO_API: &[(&str, &[&str])] =
    &[("rest", &["v1", "asset", "bulk"]), ("identity", &["oauth"])];

/// The path root Salesforce's client adds (`/services/data/…`, `/services/oauth2/…`), with what
/// may follow it.
const SALESFORCE_API: &[(&str, &[&str])] = &[("services", &["data", "oauth2", "Soap", "apexrest"])];

impl Config {
    /// What is missing for `needs`, in the order the file lists the keys.
    #[cfg(test)]
    pub(super) fn missing_for(&self, needs: Needs) -> Vec<String> {
        self.lacks_for(needs).into_iter().map(|l| l.text).collect()
    }

    /// What is lacking for `needs`: keys left empty and values that cannot work.
    pub(super) fn lacks_for(&self, needs: Needs) -> Vec<Lack> {
        let mut lacks = Lacks::default();
        let receives = needs == Needs::Service;
        if matches!(needs, Needs::Apis | Needs::Service) {
            self.salesforce_api_problems(&mut lacks);
        }
        if receives {
            self.salesforce_receiver_problems(&mut lacks);
        }
        if matches!(needs, Needs::Marketo | Needs::Apis | Needs::Service) {
            self.marketo_api_problems(&mut lacks);
        }
        if receives {
            let mkto = &self.marketo;
            if mkto.webhook_signing_secrets.is_empty() {
                lacks.require("marketo.webhook_token", mkto.webhook_token.expose());
            }
            if let Some(admin) = self.admin_listen.filter(|a| *a == self.listen) {
                lacks.wrong(format!(
                    "admin_listen: {admin} is also `listen`; give the admin listener its own address"
                ));
            } else if let Some(admin) = self.admin_listen.filter(|a| overlaps(*a, self.listen)) {
                let (wide, other) = if admin.ip().is_unspecified() {
                    ("admin_listen", "listen")
                } else {
                    ("listen", "admin_listen")
                };
                lacks.wrong(format!(
                    "admin_listen: {admin} and listen {} share port {}, and `{wide}` takes it on \
                     every address, `{other}`'s included; give the admin listener another port",
                    self.listen,
                    admin.port(),
                ));
            }
        }
        lacks.0
    }

    /// What calling Salesforce's API needs.
    fn salesforce_api_problems(&self, lacks: &mut Lacks) {
        let sf = &self.salesforce;
        // A set `salesforce.login_url` is checked with the validation (My Domain, not a generic
        // host).
        if sf.login_url.trim().is_empty() {
            if sf.client_id.trim().is_empty() {
                lacks.require("salesforce.login_url", &sf.login_url);
            } else {
                lacks.unset(format!(
                    "salesforce.login_url: required; set it to {}",
                    super::validate::MY_DOMAIN
                ));
            }
        }
        if !sf.instance_url.is_empty() {
            lacks.require_url("salesforce.instance_url", &sf.instance_url);
        }
        for (key, url) in [
            ("salesforce.login_url", &sf.login_url),
            ("salesforce.instance_url", &sf.instance_url),
        ] {
            lacks.refuse_api_path(key, url, SALESFORCE_API);
        }
        lacks.require("salesforce.client_id", &sf.client_id);
        lacks.require("salesforce.client_secret", sf.client_secret.expose());
    }

    /// What receiving Salesforce's outbound messages needs.
    fn salesforce_receiver_problems(&self, lacks: &mut Lacks) {
        let sf = &self.salesforce;
        if sf.organization_ids.is_empty() {
            lacks.unset(format!(
                "salesforce.organization_ids: empty, so every outbound message is refused; list \
                 your org id (Setup → Company Information) in the file or as {}",
                env_name("salesforce.organization_ids")
            ));
        }
        lacks.require("salesforce.inbound_token", sf.inbound_token.expose());
    }

    /// What calling Marketo's API needs.
    fn marketo_api_problems(&self, lacks: &mut Lacks) {
        let mkto = &self.marketo;
        lacks.require_url("marketo.base_url", &mkto.base_url);
        lacks.refuse_api_path("marketo.base_url", &mkto.base_url, MARKETO_API);
        lacks.require("marketo.client_id", &mkto.client_id);
        lacks.require("marketo.client_secret", mkto.client_secret.expose());
    }

    /// Whether both APIs can be called: what the sync worker needs. A `serve` started with
    /// either side's credentials unset receives but runs no worker.
    pub fn apis_configured(&self) -> bool {
        self.side_configured("salesforce") && self.side_configured("marketo")
    }

    /// Whether `system`'s (`salesforce`, `marketo`) API keys were all set at start.
    pub fn side_configured(&self, system: &str) -> bool {
        let keys = ["login_url", "base_url", "client_id", "client_secret"]
            .map(|key| format!("{system}.{key}:"));
        !self
            .unset
            .iter()
            .any(|u| keys.iter().any(|key| u.starts_with(key.as_str())))
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
                "admin.token: empty, so /admin/... answers 401 (and /v1/trigger-events and \
                 /v1/member-of too, unless admin.read_token is set)"
                    .to_string(),
            );
        }
        let (admin, reader) = (self.admin.token.expose(), self.admin.read_token.expose());
        if !reader.trim().is_empty() && reader == admin {
            warnings.push(
                "admin.read_token: the same as admin.token, so a feed reader holds the admin \
                 token; give it its own"
                    .to_string(),
            );
        }
        for (i, org) in self.salesforce.organization_ids.iter().enumerate() {
            if matches!(
                crate::ids::SalesforceId::parse(org),
                Err(crate::ids::IdError::Suffix)
            ) {
                warnings.push(format!(
                    "salesforce.organization_ids[{i}]: the last 3 characters of {org:?} do not \
                     match its first 15 (only those are compared with each message's; check \
                     the id under Setup → Company Information)"
                ));
            }
        }
        let tokens = [
            ("admin.token", &self.admin.token),
            ("admin.read_token", &self.admin.read_token),
            ("salesforce.inbound_token", &self.salesforce.inbound_token),
            ("marketo.webhook_token", &self.marketo.webhook_token),
        ];
        for (key, token) in tokens {
            let length = token.expose().trim().chars().count();
            let characters = if length == 1 {
                "character"
            } else {
                "characters"
            };
            if (1..MIN_TOKEN_CHARS).contains(&length) {
                warnings.push(format!(
                    "{key}: only {length} {characters}, short enough to guess; use at least \
                     {MIN_TOKEN_CHARS} random ones (e.g. `openssl rand -hex 16`)"
                ));
            }
        }
        for (i, secret) in self.marketo.webhook_signing_secrets.iter().enumerate() {
            let bytes = secret.signing_key().map_or(0, |key| key.len());
            if (1..MIN_SIGNING_KEY_BYTES).contains(&bytes) {
                warnings.push(format!(
                    "marketo.webhook_signing_secrets[{i}]: a key of only {bytes} byte(s), short \
                     enough to guess; use {MIN_SIGNING_KEY_BYTES} to 64 random bytes (e.g. \
                     `whsec_$(openssl rand -base64 32)`)"
                ));
            }
        }
        warnings
    }
}

/// Below this many characters a token is warned about: each one guards an endpoint open to
/// the network, and nothing slows down guessing.
const MIN_TOKEN_CHARS: usize = 16;

/// Below this many bytes a webhook signing key is warned about (Standard Webhooks asks for 24
/// to 64 random bytes).
const MIN_SIGNING_KEY_BYTES: usize = 24;

/// The environment variable that sets `key` (`marketo.client_secret` →
/// `CAMPAIGN_SYNC_MARKETO__CLIENT_SECRET`), so an operator knows both places to fix it.
fn env_name(key: &str) -> String {
    format!(
        "CAMPAIGN_SYNC_{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

#[cfg(test)]
mod tests;

/// Two listeners that cannot both bind: the same port (not 0, which picks a free one) where
/// one is on every address (`0.0.0.0` of its family; `[::]` of both, as Linux binds it
/// dual-stack) that the other's address is among.
fn overlaps(a: std::net::SocketAddr, b: std::net::SocketAddr) -> bool {
    let covers = |wide: std::net::SocketAddr, other: std::net::SocketAddr| {
        wide.ip().is_unspecified() && (wide.is_ipv6() || other.is_ipv4())
    };
    a.port() == b.port() && a.port() != 0 && (covers(a, b) || covers(b, a))
}
