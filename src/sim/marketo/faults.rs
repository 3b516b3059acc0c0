//! Injected trouble: transient failures (604, 608, 611, 713) at a seeded random rate, or queued
//! explicitly by a test so it knows which call fails.

use std::collections::VecDeque;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

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
