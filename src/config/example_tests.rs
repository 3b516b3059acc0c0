//! The shipped example configuration names every key and shows each with its default.

use figment::Figment;
use figment::providers::{Format, Toml};

use super::Config;

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/deploy/campaign-sync.example.toml"
);

#[test]
fn every_value_in_the_example_is_the_default() {
    let example: Config = Figment::from(Toml::file_exact(EXAMPLE))
        .extract()
        .expect("the example parses");
    let shown = format!("{example:#?}");
    let default = format!("{:#?}", Config::default());
    let differing: Vec<_> = shown
        .lines()
        .zip(default.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("example {} / default {}", a.trim(), b.trim()))
        .collect();
    assert!(differing.is_empty(), "{differing:#?}");
    assert_eq!(shown, default);
}

#[test]
fn the_example_names_every_key() {
    let text = std::fs::read_to_string(EXAMPLE).expect("the example");
    let missing: Vec<_> = config_keys()
        .into_iter()
        // `unset` (what `serve` found empty), `given_by_flag` and `read_from` are not keys: they
        // cannot be set.
        .filter(|(section, key)| {
            !(section.is_none() && ["unset", "given_by_flag", "read_from"].contains(&key.as_str()))
        })
        .filter(|(section, key)| !names(&text, section.as_deref(), key))
        .collect();
    assert!(
        missing.is_empty(),
        "keys the example does not show: {missing:?}"
    );
}

/// `(section, key)` for every key of the configuration (`None`: a top-level key), read from the
/// default's pretty `Debug` form: top-level fields at four spaces, a section's at eight.
fn config_keys() -> Vec<(Option<String>, String)> {
    let debug = format!("{:#?}", Config::default());
    let mut keys = Vec::new();
    let mut section = None;
    for line in debug.lines() {
        let indent = line.len() - line.trim_start().len();
        let Some((key, value)) = line.trim_start().split_once(": ") else {
            continue;
        };
        if !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        match indent {
            4 if value.ends_with('{') => section = Some(key.to_string()),
            4 => {
                section = None;
                keys.push((None, key.to_string()));
            }
            8 => keys.push((section.clone(), key.to_string())),
            _ => {}
        }
    }
    keys
}

/// Whether the example sets or shows (in a comment) `key` in `section`: a `key = ` line in the
/// section's part of the file, or a table of that name (`[[mappings]]`, `[triggers.mappings.…]`).
fn names(text: &str, section: Option<&str>, key: &str) -> bool {
    let table = match section {
        Some(section) => format!("[{section}.{key}"),
        None => format!("[[{key}]]"),
    };
    if text.contains(&table) {
        return true;
    }
    let mut current: Option<&str> = None;
    text.lines().any(|line| {
        let line = line.trim_start_matches('#').trim();
        let header = line.strip_prefix('[').and_then(|l| l.strip_suffix(']'));
        // A table header, not a commented list value such as `["192.28.144.0/20", …]`.
        if let Some(header) = header.filter(|h| !h.contains([',', ' '])) {
            current = Some(header);
            return false;
        }
        current == section
            && line
                .split_once('=')
                .is_some_and(|(name, _)| name.trim() == key)
    })
}
