//! The org's clock and Salesforce's timestamp formats. Time is wall-clock milliseconds plus an
//! offset tests can advance; a write's timestamp is whole seconds, as Salesforce's are, so
//! writes within one second share a `SystemModstamp`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    last_ms: i64,
    offset_ms: i64,
}

impl Clock {
    /// The current time, without claiming it for a write.
    pub fn now(&self) -> i64 {
        (wall_ms() + self.offset_ms).max(self.last_ms)
    }

    /// A write's timestamp: the current second, as Salesforce keeps datetimes (`….000Z`), never
    /// earlier than one handed out before. Writes within a second share it.
    pub fn tick(&mut self) -> i64 {
        let second = (wall_ms() + self.offset_ms).div_euclid(1000) * 1000;
        self.last_ms = second.max(self.last_ms);
        self.last_ms
    }

    pub fn advance(&mut self, by: Duration) {
        self.offset_ms += i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
    }
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0))
}

/// `2026-11-28T20:22:01.000Z`, the outbound-message format (and how records keep it).
pub fn format_z(ms: i64) -> String {
    let (date, h, m, s, milli) = split(ms);
    format!("{date}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// `2026-11-28T20:22:01.000+0000`, the REST format (records, SOQL rows, getDeleted dates).
pub fn format_offset(ms: i64) -> String {
    let (date, h, m, s, milli) = split(ms);
    format!("{date}T{h:02}:{m:02}:{s:02}.{milli:03}+0000")
}

pub fn truncate_to_minute(ms: i64) -> i64 {
    ms - ms.rem_euclid(60_000)
}

fn split(ms: i64) -> (String, i64, i64, i64, i64) {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, mo, d) = civil_from_days(days);
    (
        format!("{y:04}-{mo:02}-{d:02}"),
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    )
}

/// Parses `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM|±HHMM)`.
pub fn parse(text: &str) -> Option<i64> {
    let date = text.get(..10)?;
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let mo: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || date.as_bytes().get(4) != Some(&b'-') {
        return None;
    }
    let day_ms = days_from_civil(y, mo, d) * 86_400_000;
    let Some(rest) = text.get(10..).filter(|r| !r.is_empty()) else {
        return Some(day_ms);
    };
    let time = rest.strip_prefix('T')?;
    let zone_at = time.find(['Z', '+', '-'])?;
    let (clock, zone) = time.split_at(zone_at);
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, "0"));
    let mut fields = hms.split(':').map(|f| f.parse::<i64>().ok());
    let (h, m, s) = (fields.next()??, fields.next()??, fields.next()??);
    let milli: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    let offset_min = match zone {
        "Z" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            sign * (digits[..2].parse::<i64>().ok()? * 60 + digits[2..].parse::<i64>().ok()?)
        }
    };
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(day_ms + ((h * 60 + m - offset_min) * 60 + s) * 1000 + milli)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let ms = parse("2026-11-28T20:22:01.000Z").expect("parses");
        assert_eq!(format_z(ms), "2026-11-28T20:22:01.000Z");
        assert_eq!(format_offset(ms), "2026-11-28T20:22:01.000+0000");
        assert_eq!(parse("2026-11-28T21:22:01+01:00"), Some(ms));
        assert_eq!(parse("2026-11-28T20:22:01.000+0000"), Some(ms));
        assert_eq!(parse("2024-02-29"), Some(1_709_164_800_000));
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse("2026-11-28T20:22:01+1é2"), None);
    }

    #[test]
    fn ticks_are_whole_seconds_that_never_go_back() {
        let mut clock = Clock::default();
        let first = clock.tick();
        assert_eq!(first % 1000, 0);
        let second = clock.tick();
        assert!(second >= first && second % 1000 == 0);
        clock.advance(Duration::from_secs(60));
        assert!(clock.tick() >= first + 60_000);
        assert!(clock.now() >= first + 60_000);
    }
}
