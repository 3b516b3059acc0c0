//! Source timestamps (Salesforce `2026-11-28T20:22:01.000Z`, Marketo `2026-11-28T20:22:01Z`,
//! sometimes `+0000`) as epoch milliseconds, the unit the mirror compares.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};

pub fn parse_millis(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%SZ%z"] {
        if let Ok(t) = DateTime::parse_from_str(value, format) {
            return Some(t.timestamp_millis());
        }
    }
    NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

/// ISO 8601 in UTC with seconds, as Salesforce's query parameters take it.
pub fn format_millis(millis: i64) -> String {
    Utc.timestamp_millis_opt(millis)
        .single()
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_systems_formats_parse() {
        let sf = parse_millis("2026-11-28T20:22:01.000Z").unwrap();
        assert_eq!(parse_millis("2026-11-28T20:22:01Z"), Some(sf));
        assert_eq!(parse_millis("2026-11-28T20:22:01+0000"), Some(sf));
        assert_eq!(parse_millis("2026-11-28T20:22:01Z+0000"), Some(sf));
        assert_eq!(format_millis(sf), "2026-11-28T20:22:01Z");
        assert_eq!(parse_millis("yesterday"), None);
    }
}
