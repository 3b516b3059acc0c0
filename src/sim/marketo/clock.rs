//! Wall-clock timestamps in the two ISO-8601 spellings Marketo uses, and a lenient parser for
//! the `startAt`/`endAt` query parameters (lenient in spelling, never in the calendar).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Lead Database spelling: `2020-01-08T18:10:26Z` (whole seconds, UTC).
pub fn lead_db(ms: i64) -> String {
    let (date, h, m, s) = split(ms);
    format!("{date}T{h:02}:{m:02}:{s:02}Z")
}

/// Asset API spelling, as in its documented examples: `2015-05-21T22:45:13Z+0000`.
pub fn asset(ms: i64) -> String {
    format!("{}+0000", lead_db(ms))
}

fn split(ms: i64) -> (String, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    (
        format!("{y:04}-{mo:02}-{d:02}"),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS` followed by `Z`, `+hh:mm`, `+hhmm` (or `-`), or nothing (UTC);
/// fractional seconds are ignored. Returns milliseconds since the epoch.
pub fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_once('T')?;
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let mo: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=9999).contains(&y) {
        return None;
    }
    // A day the month has: 2026-02-31 is no date (not 3 March), as Marketo refuses it.
    if !(1..=12).contains(&mo) || !(1..=days_in_month(y, mo)).contains(&d) {
        return None;
    }
    let time_end = rest.find(['Z', '+', '-']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(time_end);
    let time = time.split('.').next()?;
    let mut hms = time.split(':');
    let h: i64 = hms.next()?.parse().ok()?;
    let mi: i64 = hms.next()?.parse().ok()?;
    let s: i64 = hms.next().map_or(Some(0), |s| s.parse().ok())?;
    if !(0..24).contains(&h) || !(0..60).contains(&mi) || !(0..=60).contains(&s) {
        return None;
    }
    let offset = zone_offset_secs(zone)?;
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset;
    Some(secs * 1000)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn zone_offset_secs(zone: &str) -> Option<i64> {
    let zone = zone.strip_prefix('Z').unwrap_or(zone);
    if zone.is_empty() {
        return Some(0);
    }
    let (sign, rest) = match (zone.strip_prefix('+'), zone.strip_prefix('-')) {
        (Some(rest), _) => (1, rest),
        (_, Some(rest)) => (-1, rest),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    let m: i64 = digits[2..].parse().ok()?;
    Some(sign * (h * 3600 + m * 60))
}

/// Howard Hinnant's `days_from_civil`: proleptic Gregorian date → days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let ms = parse("2020-01-08T18:10:26Z").expect("parses");
        assert_eq!(ms, 1_578_507_026_000);
        assert_eq!(lead_db(ms), "2020-01-08T18:10:26Z");
        assert_eq!(asset(ms), "2020-01-08T18:10:26Z+0000");
    }

    #[test]
    fn applies_offsets() {
        let utc = parse("2014-10-06T21:22:17Z");
        assert_eq!(parse("2014-10-06T13:22:17-08:00"), utc);
        assert_eq!(parse("2014-10-06T21:22:17+0000"), utc);
        assert_eq!(parse("2014-10-06T21:22:17.123Z"), utc);
        assert_eq!(parse("not a date"), None);
        assert_eq!(parse("2014-13-06T21:22:17Z"), None);
        assert_eq!(parse("2026-02-31T00:00:00Z"), None);
        assert_eq!(parse("2026-04-31T00:00:00Z"), None);
        assert_eq!(parse("2026-02-29T00:00:00Z"), None, "not a leap year");
        assert!(parse("2024-02-29T00:00:00Z").is_some());
        assert!(parse("2000-02-29T00:00:00Z").is_some());
        assert_eq!(parse("1900-02-29T00:00:00Z"), None);
        assert_eq!(parse("99999999999999999-01-01T00:00:00Z"), None);
        assert_eq!(parse("2014-01-01T99999999999999:00:00Z"), None);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,40}") {
            let _ = parse(&text);
        }

        #[test]
        fn parse_never_panics_on_date_like_text(
            text in "[0-9]{1,20}-[0-9]{1,3}-[0-9]{1,3}T[0-9]{1,20}:[0-9]{1,3}(:[0-9.]{1,6})?(Z|[+-][0-9:]{0,6}|.)?"
        ) {
            let _ = parse(&text);
        }

        #[test]
        fn formatted_times_parse_back(secs in 0_i64..253_402_300_799) {
            proptest::prop_assert_eq!(parse(&lead_db(secs * 1000)), Some(secs * 1000));
            proptest::prop_assert_eq!(parse(&asset(secs * 1000)), Some(secs * 1000));
        }
    }
}
