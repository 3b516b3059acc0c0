//! Source timestamps (Salesforce `2026-11-28T20:22:01.000Z`, Marketo `2026-11-28T20:22:01Z`,
//! sometimes `+0000`) as epoch milliseconds, the unit the mirror compares.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};

use crate::store::MirrorRow;

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

/// How far ahead of this machine's clock a source's timestamp may be and still be believed.
pub const CLOCK_SKEW_MS: i64 = 300_000;

/// `at`, unless it lies further ahead of `now` than two clocks can disagree. Such a stamp (a
/// sender's wrong clock, a forged message) held in the mirror would make every real change after
/// it look stale, and the person would never sync again; it is treated as unknown instead.
pub fn believable(at: Option<i64>, now: i64) -> Option<i64> {
    at.filter(|at| *at <= now.saturating_add(CLOCK_SKEW_MS))
}

/// The mirror row with a Salesforce stamp from the future dropped (see [`believable`]).
pub fn believable_row(row: &MirrorRow, now: i64) -> MirrorRow {
    MirrorRow {
        sf_modstamp: believable(row.sf_modstamp, now),
        ..row.clone()
    }
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

    #[test]
    fn a_stamp_from_beyond_the_clock_skew_is_not_believed() {
        let now = 1_800_000_000_000;
        assert_eq!(believable(Some(now), now), Some(now));
        let skewed = now + CLOCK_SKEW_MS;
        assert_eq!(believable(Some(skewed), now), Some(skewed));
        assert_eq!(believable(Some(skewed + 1), now), None);
        assert_eq!(believable(None, now), None);
        let row = MirrorRow {
            sf_modstamp: Some(now + 86_400_000),
            sf_status: Some("Sent".into()),
            ..MirrorRow::default()
        };
        let believed = believable_row(&row, now);
        assert_eq!(believed.sf_modstamp, None);
        assert_eq!(believed.sf_status.as_deref(), Some("Sent"));
    }
}
