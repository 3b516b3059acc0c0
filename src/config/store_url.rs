//! Whether `database_url` names a database the service can keep its state in: a SQLite file
//! (not an in-memory database, which each connection would see empty) or a PostgreSQL URL
//! whose parts parse, told before `serve` would fail on them.

use std::str::FromStr;

/// The problem with `url`, in words naming the key; never the URL itself (it holds a password).
pub(super) fn problem(url: &str) -> Option<String> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let memory = path.is_empty()
            || path == ":memory:"
            || query.split('&').any(|pair| pair == "mode=memory");
        return memory.then(|| {
            "database_url: an in-memory SQLite database keeps nothing across a restart and each \
             of the service's connections would see its own, empty one: name a file, e.g. \
             sqlite://campaign-sync.db"
                .to_string()
        });
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        if let Some(key) = unknown_parameter(url) {
            return Some(format!(
                "database_url: unknown connection parameter `{key}` (known: {}); its value is \
                 not shown, as it may be a password",
                KNOWN.join(", ")
            ));
        }
        let error = sqlx::postgres::PgConnectOptions::from_str(url).err()?;
        let text = error.to_string();
        let text = text
            .strip_prefix("error with configuration: ")
            .unwrap_or(&text);
        return Some(format!("database_url: not a usable PostgreSQL URL: {text}"));
    }
    Some("database_url: must start with sqlite:, postgres:// or postgresql://".to_string())
}

/// The query parameters a PostgreSQL URL may carry (as the driver reads them).
const KNOWN: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// The first query parameter the driver does not read: it would only warn, quoting the value
/// (a misspelt `passwrd=` is a password in the log), and the setting would not apply.
fn unknown_parameter(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').map_or(pair, |(key, _)| key))
        .find(|key| !KNOWN.contains(key))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn files_and_well_formed_postgres_urls_pass() {
        for url in [
            "sqlite://campaign-sync.db",
            "sqlite:///var/lib/campaign-sync/state.db",
            "sqlite:state.db?mode=rwc",
            "postgres://sync:pw@db.example.com:5432/sync",
            "postgresql://sync@db/sync?sslmode=require",
        ] {
            assert_eq!(problem(url), None, "{url}");
        }
    }

    #[test]
    fn memory_databases_and_broken_urls_are_named() {
        for url in [
            "sqlite:",
            "sqlite://",
            "sqlite::memory:",
            "sqlite://x.db?mode=memory",
        ] {
            let told = problem(url).unwrap_or_default();
            assert!(told.contains("in-memory SQLite"), "{url}: {told}");
        }
        let port = problem("postgres://u:secret-pw@127.0.0.1:notaport/db").unwrap();
        assert!(
            port.starts_with("database_url: not a usable PostgreSQL URL"),
            "{port}"
        );
        assert!(!port.contains("secret-pw"), "{port}");
        assert!(problem("postgres://u@h/db?sslmode=bogus").is_some());
        assert!(problem("mysql://h/db").unwrap().contains("must start with"));
        let typo = problem("postgres://u@h/db?sslmode=require&passwrd=TOPSECRET").unwrap();
        assert!(
            typo.contains("unknown connection parameter `passwrd`"),
            "{typo}"
        );
        assert!(!typo.contains("TOPSECRET"), "{typo}");
    }
}
