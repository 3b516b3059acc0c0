//! The org's clock as its answers' `Date` headers show it. A `Date` is cut to the second and
//! read after the answer left the server, so the offset it gives never runs ahead of the
//! server: what it yields is a lower bound of the server's time, safe for saying "any change
//! stamped before this was made before our write".

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

#[derive(Debug, Default)]
pub struct ServerClock {
    offset_ms: AtomicI64,
    known: AtomicBool,
}

impl ServerClock {
    /// Notes the server's `Date` header of an answer received at `local_ms`.
    pub fn note(&self, date: Option<&str>, local_ms: i64) {
        let Some(server_ms) = date.and_then(parse_http_date) else {
            return;
        };
        self.offset_ms
            .store(server_ms - local_ms, Ordering::Relaxed);
        self.known.store(true, Ordering::Relaxed);
    }

    /// The server's time at `local_ms`, never later than it, once an answer showed it.
    pub fn at(&self, local_ms: i64) -> Option<i64> {
        self.known
            .load(Ordering::Relaxed)
            .then(|| local_ms + self.offset_ms.load(Ordering::Relaxed))
    }
}

/// `Tue, 01 Dec 2026 10:00:00 GMT` as epoch milliseconds.
fn parse_http_date(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(text.trim())
        .ok()
        .map(|at| at.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_comes_from_the_last_date_seen() {
        let clock = ServerClock::default();
        assert_eq!(clock.at(1_000), None, "no answer yet");
        clock.note(Some("garbage"), 1_000);
        assert_eq!(clock.at(1_000), None);
        // 2026-12-01T10:00:00Z, received 2.5 s later by a local clock that runs 60 s behind.
        let server = 1_796_119_200_000;
        clock.note(
            Some("Tue, 01 Dec 2026 10:00:00 GMT"),
            server - 60_000 + 2_500,
        );
        assert_eq!(clock.at(server - 60_000 + 2_500), Some(server));
        assert_eq!(clock.at(server - 60_000 + 12_500), Some(server + 10_000));
    }
}
