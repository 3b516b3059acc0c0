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

/// How far ahead of the org's clock a Salesforce stamp may be and still be believed.
pub const CLOCK_SKEW_MS: i64 = 300_000;

/// What a stamp from beyond the skew is taken as: `org_now`'s whole second. Salesforce stamps
/// carry whole seconds, and an equal stamp is not stale, so a real change made in the same
/// second is not held as older than it.
fn clamped(org_now: i64) -> i64 {
    org_now - org_now.rem_euclid(1000)
}

/// A Salesforce stamp as the sync may use it, `org_now` being the org's time now (as its
/// answers showed it, else this machine's). One further ahead than clocks disagree (a sender's
/// wrong clock, a forged message) is taken as now: held in the mirror as it came, it would make
/// every real change for as long look stale, and the person would not sync again until then.
pub fn believable(at: Option<i64>, org_now: i64) -> Option<i64> {
    at.map(|at| {
        if beyond_skew(at, org_now) {
            clamped(org_now)
        } else {
            at
        }
    })
}

/// The mirror row with a Salesforce stamp from beyond the skew taken back to when the row was
/// written (a row from before such stamps were doubted).
pub fn believable_row(row: MirrorRow, org_now: i64) -> MirrorRow {
    let sf_modstamp = row.sf_modstamp.map(|at| {
        if beyond_skew(at, org_now) {
            clamped(row.synced_at.min(org_now))
        } else {
            at
        }
    });
    MirrorRow { sf_modstamp, ..row }
}

/// Whether `at` is further ahead of `org_now` than clocks disagree; each one is counted.
fn beyond_skew(at: i64, org_now: i64) -> bool {
    let beyond = at > org_now.saturating_add(CLOCK_SKEW_MS);
    if beyond {
        metrics::counter!("salesforce_future_stamps_total").increment(1);
    }
    beyond
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
    fn a_stamp_from_beyond_the_clock_skew_is_taken_as_now() {
        let now = 1_800_000_000_250;
        assert_eq!(believable(Some(now), now), Some(now));
        let skewed = now + CLOCK_SKEW_MS;
        assert_eq!(believable(Some(skewed), now), Some(skewed));
        let second = 1_800_000_000_000;
        assert_eq!(believable(Some(skewed + 1), now), Some(second));
        assert_eq!(believable(None, now), None);
        let row = MirrorRow {
            sf_modstamp: Some(now + 86_400_000),
            sf_status: Some("Sent".into()),
            synced_at: now - 60_000,
            ..MirrorRow::default()
        };
        let believed = believable_row(row, now);
        assert_eq!(believed.sf_modstamp, Some(second - 60_000));
        assert_eq!(believed.sf_status.as_deref(), Some("Sent"));
    }
}
