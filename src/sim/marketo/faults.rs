//! Injected trouble: transient failures (604, 608, 611, 713) at a seeded random rate, or queued
//! explicitly by a test so it knows which call fails; and the answers of faults posted to
//! `/__sim/faults` (any response-level code a call can get, or a bare HTTP status).

use std::collections::VecDeque;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::MarketoSimConfig;
use super::envelope::MktoError;

const TRANSIENT: [&str; 4] = ["604", "608", "611", "713"];

pub struct Faults {
    rng: StdRng,
    rate: f64,
    queued: VecDeque<MktoError>,
}

impl Faults {
    /// `rate` outside 0..=1 (or NaN) is clamped; NaN means never.
    pub fn new(rate: f64, seed: u64) -> Faults {
        let rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        Faults {
            rng: StdRng::seed_from_u64(seed),
            rate,
            queued: VecDeque::new(),
        }
    }

    /// Makes the next REST calls fail with these transient codes, in order. Unknown codes are
    /// returned as the error.
    pub fn queue(&mut self, codes: &[&str]) -> Result<(), String> {
        for code in codes {
            let error = MktoError::transient(code).ok_or_else(|| (*code).to_string())?;
            self.queued.push_back(error);
        }
        Ok(())
    }

    /// The failure this call gets, if any.
    pub fn next(&mut self) -> Option<MktoError> {
        if let Some(error) = self.queued.pop_front() {
            return Some(error);
        }
        if self.rate > 0.0 && self.rng.random_bool(self.rate) {
            let code = TRANSIENT[self.rng.random_range(0..TRANSIENT.len())];
            return MktoError::transient(code);
        }
        None
    }
}

/// The response-level error a posted fault's `error_code` stands for.
pub fn by_code(config: &MarketoSimConfig, code: &str) -> Result<MktoError, String> {
    match code {
        "601" => Ok(MktoError::TokenInvalid),
        "602" => Ok(MktoError::TokenExpired),
        "603" => Ok(MktoError::AccessDenied),
        "606" => Ok(MktoError::RateLimit {
            limit: config.rate_limit_calls,
            window_secs: config.rate_limit_window.as_secs(),
        }),
        "607" => Ok(MktoError::DailyQuota),
        "615" => Ok(MktoError::Concurrency),
        other => MktoError::transient(other).ok_or_else(|| {
            format!(
                "error_code {other:?} is not one the simulator can inject \
                 (601, 602, 603, 604, 606, 607, 608, 611, 615, 713)"
            )
        }),
    }
}

/// A bare HTTP error, as a proxy in front of Marketo answers it: plain text, no envelope.
pub fn plain_status(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, format!("simulated HTTP {}", status.as_u16())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_failures() {
        let run = |seed| {
            let mut faults = Faults::new(0.5, seed);
            (0..50).map(|_| faults.next()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert!(run(7).iter().any(Option::is_some));
        assert!(run(7).iter().any(Option::is_none));
    }

    #[test]
    fn queued_codes_come_first_and_unknown_codes_are_refused() {
        let mut faults = Faults::new(0.0, 1);
        faults.queue(&["713", "604"]).expect("known codes");
        assert_eq!(faults.next(), Some(MktoError::Transient));
        assert_eq!(faults.next(), Some(MktoError::Timeout));
        assert_eq!(faults.next(), None);
        assert_eq!(faults.queue(&["601"]), Err("601".to_string()));
    }
}
