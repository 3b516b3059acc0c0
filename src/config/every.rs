//! Every problem of a configuration that does not load, not only the first: serde stops at the
//! first error, so when the whole does not extract, each part (a top-level key or section) is
//! extracted on its own, unknown top-level keys are listed, and the parts that did load are
//! validated with defaults standing in for the rest, so one typo does not hide the missing keys.

use figment::Figment;
use figment::error::Kind;
use serde::de::DeserializeOwned;

use super::{Config, Needs};

/// The keys a configuration may hold at its top level, as `Config` names them.
const TOP_LEVEL: &[&str] = &[
    "listen",
    "admin_listen",
    "database_url",
    "sync_enabled",
    "http",
    "admin",
    "salesforce",
    "marketo",
    "worker",
    "schedules",
    "mappings",
    "triggers",
];

/// The problems of `figment`, whose whole did not extract: each part's first error (in words,
/// as `describe` gives them), unknown top-level keys, then what validation finds in the parts
/// that loaded. Empty when no part fails on its own (the caller then tells the whole's error).
pub(super) fn problems(
    figment: &Figment,
    needs: Needs,
    describe: impl Fn(&figment::Error) -> String,
) -> Vec<String> {
    let mut errors: Vec<figment::Error> = Vec::new();
    let mut failed: Vec<&str> = Vec::new();
    let mut config = Config::default();
    if let Ok(top) = figment.extract::<figment::value::Dict>() {
        for key in top.keys().filter(|k| !TOP_LEVEL.contains(&k.as_str())) {
            let mut error = figment::Error::from(Kind::UnknownField(key.clone(), TOP_LEVEL));
            error.metadata = figment.find_metadata(key).cloned();
            errors.push(error);
            // A misspelt section (`[salesforc]`) holds that section's keys: they are not
            // missing, only misplaced.
            if let Some(meant) = TOP_LEVEL
                .iter()
                .find(|known| super::error::edit_distance(key, known) <= 2)
            {
                failed.push(meant);
            }
        }
    }
    macro_rules! load {
        ($key:literal, $field:ident) => {
            if figment.contains($key) {
                match section(figment, $key) {
                    Ok(value) => config.$field = value,
                    Err(error) => {
                        errors.push(*error);
                        failed.push($key);
                    }
                }
            }
        };
    }
    load!("listen", listen);
    load!("admin_listen", admin_listen);
    load!("database_url", database_url);
    load!("sync_enabled", sync_enabled);
    load!("http", http);
    load!("admin", admin);
    load!("salesforce", salesforce);
    load!("marketo", marketo);
    load!("worker", worker);
    load!("schedules", schedules);
    load!("mappings", mappings);
    load!("triggers", triggers);
    if errors.is_empty() {
        return Vec::new();
    }
    let mut lines: Vec<String> = errors.iter().map(describe).collect();
    // What the parts that loaded lack or get wrong; a part that failed stands in with its
    // defaults, so its own keys are not reported as missing.
    if let Err(super::ConfigError::Invalid(found)) = config.validate(needs, false) {
        // `marketo.…`, `listen: …`, `mappings[0]…`; not `admin_listen` for `admin`.
        let about_failed = |problem: &String| {
            failed.iter().any(|part| {
                problem
                    .strip_prefix(*part)
                    .is_some_and(|rest| rest.starts_with(['.', ':', '[']))
            })
        };
        lines.extend(found.into_iter().filter(|p| !about_failed(p)));
    }
    lines
}

/// One part of the configuration, its errors' paths starting at the top level as `describe`
/// names them.
fn section<T: DeserializeOwned>(figment: &Figment, key: &str) -> Result<T, Box<figment::Error>> {
    figment.extract_inner::<T>(key).map_err(|errors| {
        let mut first = errors.into_iter().next().expect("an error holds one");
        // Figment puts the focused key last (`["tokn", "admin"]`); the whole's errors put it
        // first, as the file nests it.
        if first.path.last().map(String::as_str) == Some(key) {
            first.path.pop();
        }
        first.path.insert(0, key.to_string());
        Box::new(first)
    })
}
