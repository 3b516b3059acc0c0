//! Faults injected over HTTP with `POST /__sim/faults`, on either simulator: answer with an HTTP
//! status, answer with one of the system's error codes, or add latency — for the next N calls,
//! for S seconds, or until `DELETE /__sim/faults`, each call hit with a given probability.

use std::time::{Duration, Instant};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Deserialize;
use serde_json::{Value, json};

/// The body of `POST /__sim/faults`: exactly one of `http_status`, `error_code`, `latency_ms`;
/// optionally `calls`, `seconds` (whichever ends first) and `rate` (default 1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    pub http_status: Option<u16>,
    pub error_code: Option<String>,
    pub latency_ms: Option<u64>,
    pub calls: Option<u32>,
    pub seconds: Option<f64>,
    pub rate: Option<f64>,
}

/// What a rule does to a call it hits. `C` is the simulator's own error type.
#[derive(Debug, Clone)]
pub enum Effect<C> {
    Status(u16),
    Code(C),
    Latency(Duration),
}

struct Rule<C> {
    effect: Effect<C>,
    rate: f64,
    calls_left: Option<u32>,
    until: Option<Instant>,
    request: FaultRequest,
}

/// What one call gets: extra latency, and an answer that replaces the handler's.
#[derive(Debug)]
pub struct Injected<C> {
    pub latency: Duration,
    pub answer: Option<Effect<C>>,
}

impl<C> Injected<C> {
    /// Nothing injected: no added latency, the handler answers.
    pub fn none() -> Self {
        Injected {
            latency: Duration::ZERO,
            answer: None,
        }
    }
}

/// The active rules, in the order they were added; the first hit answer wins.
pub struct FaultRules<C> {
    rules: Vec<Rule<C>>,
    rng: StdRng,
}

const MAX_LATENCY_MS: u64 = 120_000;

impl<C: Clone> FaultRules<C> {
    pub fn new(seed: u64) -> FaultRules<C> {
        FaultRules {
            rules: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Adds a rule; `code` turns an `error_code` into the simulator's error or says why not.
    pub fn add(
        &mut self,
        request: FaultRequest,
        code: impl Fn(&str) -> Result<C, String>,
        now: Instant,
    ) -> Result<(), String> {
        let effect = match (
            &request.http_status,
            &request.error_code,
            request.latency_ms,
        ) {
            (Some(status), None, None) => {
                if !(400..=599).contains(status) {
                    return Err(format!("http_status {status} is not within 400..=599"));
                }
                Effect::Status(*status)
            }
            (None, Some(name), None) => Effect::Code(code(name)?),
            (None, None, Some(ms)) if ms <= MAX_LATENCY_MS => {
                Effect::Latency(Duration::from_millis(ms))
            }
            (None, None, Some(ms)) => {
                return Err(format!("latency_ms {ms} is over {MAX_LATENCY_MS}"));
            }
            _ => {
                return Err(
                    "give exactly one of http_status, error_code and latency_ms".to_string()
                );
            }
        };
        let rate = request.rate.unwrap_or(1.0);
        if !(rate > 0.0 && rate <= 1.0) {
            return Err(format!("rate {rate} is not within (0, 1]"));
        }
        if request.calls == Some(0) {
            return Err("calls must be at least 1".to_string());
        }
        let until = match request.seconds {
            None => None,
            Some(s) if s.is_finite() && s > 0.0 => Some(now + Duration::from_secs_f64(s)),
            Some(s) => return Err(format!("seconds {s} must be a positive number")),
        };
        self.rules.push(Rule {
            effect,
            rate,
            calls_left: request.calls,
            until,
            request,
        });
        Ok(())
    }

    /// Removes every rule; returns how many were active at `now` (not those used up or past
    /// their time, which `GET /__sim/faults` no longer lists either).
    pub fn clear(&mut self, now: Instant) -> usize {
        std::mem::take(&mut self.rules)
            .iter()
            .filter(|r| r.live(now))
            .count()
    }

    /// The faults for one call. `applies` says whether an answer fits this call (a per-record
    /// error does not fit a read); a rule that does not fit is neither rolled nor used up.
    pub fn next(&mut self, now: Instant, applies: impl Fn(&Effect<C>) -> bool) -> Injected<C> {
        self.rules.retain(|r| r.live(now));
        let mut injected = Injected::none();
        for rule in &mut self.rules {
            let fits = match rule.effect {
                Effect::Latency(_) => true,
                _ => injected.answer.is_none() && applies(&rule.effect),
            };
            if !fits || (rule.rate < 1.0 && !self.rng.random_bool(rule.rate)) {
                continue;
            }
            if let Some(left) = rule.calls_left.as_mut() {
                *left -= 1;
            }
            match &rule.effect {
                Effect::Latency(extra) => injected.latency += *extra,
                answer => injected.answer = Some(answer.clone()),
            }
        }
        injected
    }

    /// The active rules as they were posted, with what is left of them.
    pub fn describe(&self, now: Instant) -> Vec<Value> {
        self.rules
            .iter()
            .filter(|r| r.live(now))
            .map(|r| {
                let q = &r.request;
                json!({
                    "http_status": q.http_status, "error_code": q.error_code,
                    "latency_ms": q.latency_ms, "rate": r.rate, "calls_left": r.calls_left,
                    "seconds_left": r.until.map(|u| u.saturating_duration_since(now).as_secs_f64()),
                })
            })
            .collect()
    }
}

impl<C> Rule<C> {
    fn live(&self, now: Instant) -> bool {
        self.calls_left != Some(0) && self.until.is_none_or(|u| now < u)
    }
}

/// Parses the body of `POST /__sim/faults`, or says why it is not one.
pub fn parse(body: &[u8]) -> Result<FaultRequest, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid fault: {e}"))
}

/// The control endpoints' error answer.
pub fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: Value) -> FaultRequest {
        serde_json::from_value(json).expect("a fault request")
    }

    fn code(name: &str) -> Result<String, String> {
        if name == "X" {
            Ok(name.to_string())
        } else {
            Err(format!("unknown {name}"))
        }
    }

    #[test]
    fn a_counted_rule_hits_exactly_that_many_calls() {
        let mut rules = FaultRules::new(1);
        let now = Instant::now();
        rules
            .add(request(json!({"http_status": 503, "calls": 2})), code, now)
            .expect("valid");
        let hits: Vec<bool> = (0..4)
            .map(|_| rules.next(now, |_| true).answer.is_some())
            .collect();
        assert_eq!(hits, [true, true, false, false]);
    }

    #[test]
    fn a_timed_rule_ends_and_latency_adds_up_beside_an_answer() {
        let mut rules = FaultRules::new(1);
        let now = Instant::now();
        rules
            .add(
                request(json!({"latency_ms": 200, "seconds": 30})),
                code,
                now,
            )
            .expect("valid");
        rules
            .add(request(json!({"error_code": "X"})), code, now)
            .expect("valid");
        let hit = rules.next(now, |_| true);
        assert_eq!(hit.latency, Duration::from_millis(200));
        assert!(matches!(hit.answer, Some(Effect::Code(ref c)) if c == "X"));
        let later = rules.next(now + Duration::from_secs(31), |_| false);
        assert_eq!(later.latency, Duration::ZERO);
        assert!(later.answer.is_none());
        assert_eq!(rules.clear(now + Duration::from_secs(31)), 1);
    }

    #[test]
    fn clearing_counts_only_the_rules_still_active() {
        let mut rules = FaultRules::new(1);
        let now = Instant::now();
        rules
            .add(request(json!({"http_status": 503, "calls": 1})), code, now)
            .expect("valid");
        rules
            .add(request(json!({"latency_ms": 10, "seconds": 5})), code, now)
            .expect("valid");
        // The one-call fault is used up; the timed one runs out later.
        assert!(rules.next(now, |_| true).answer.is_some());
        assert_eq!(rules.clear(now + Duration::from_secs(1)), 1);
        assert_eq!(rules.clear(now + Duration::from_secs(1)), 0);
    }

    #[test]
    fn a_rate_hits_some_calls_and_not_others() {
        let mut rules = FaultRules::new(7);
        let now = Instant::now();
        rules
            .add(request(json!({"http_status": 500, "rate": 0.2})), code, now)
            .expect("valid");
        let hits = (0..1000)
            .filter(|_| rules.next(now, |_| true).answer.is_some())
            .count();
        assert!((100..300).contains(&hits), "{hits} of 1000");
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        let mut rules: FaultRules<String> = FaultRules::new(1);
        let now = Instant::now();
        for (body, reason) in [
            (json!({"http_status": 200}), "within 400..=599"),
            (json!({"error_code": "Y"}), "unknown Y"),
            (json!({"http_status": 503, "latency_ms": 5}), "exactly one"),
            (json!({"calls": 5}), "exactly one"),
            (json!({"http_status": 503, "rate": 1.5}), "rate 1.5"),
            (json!({"http_status": 503, "calls": 0}), "at least 1"),
            (json!({"http_status": 503, "seconds": -1.0}), "positive"),
        ] {
            let error = rules.add(request(body.clone()), code, now).unwrap_err();
            assert!(error.contains(reason), "{body}: {error}");
        }
        assert!(parse(br#"{"http_status": 503, "unknown": 1}"#).is_err());
    }
}
