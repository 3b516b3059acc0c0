//! The one place that decides what a Marketo response means. Marketo answers almost every error
//! with HTTP 200 and `success:false`, so the envelope's codes decide, not the status.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use crate::connectors::CallError;

/// Codes that pass by themselves: time-out, rate (606), unavailable, system, concurrency (615),
/// transient (713), invalid subscription "usually temporary" (614).
const RETRY_CODES: &[&str] = &["604", "606", "608", "611", "614", "615", "713"];
/// The token was invalid (601) or expired (602).
const REAUTH_CODES: &[&str] = &["601", "602"];
/// A 606 clears when the 20-second window has passed.
const RATE_BACKOFF: Duration = Duration::from_secs(20);
/// A 615 clears as soon as another integration's call finishes.
const CONCURRENCY_BACKOFF: Duration = Duration::from_secs(1);
/// The least back-off after an HTTP 429 (a gateway in front of Marketo throttling us).
pub const THROTTLE_BACKOFF: Duration = Duration::from_secs(20);
/// The least back-off after a success whose body cannot be read.
pub const MALFORMED_BACKOFF: Duration = Duration::from_secs(30);

/// A 2xx whose body is not what the call returns: retryable, never a reason to give up at once.
pub fn malformed(what: &str, error: impl std::fmt::Display) -> CallError {
    CallError::retry_after(format!("unreadable {what}: {error}"), MALFORMED_BACKOFF)
}

#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub result: Vec<Value>,
    #[serde(default)]
    pub errors: Vec<CodeMessage>,
    #[serde(rename = "nextPageToken")]
    pub next_page_token: Option<String>,
    #[serde(rename = "moreResult", default)]
    pub more_result: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CodeMessage {
    /// Documented as a string; tolerated as a number.
    #[serde(deserialize_with = "code_as_string")]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

fn code_as_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// Classifies a REST response into its envelope or what to do instead.
pub fn classify(status: StatusCode, body: &str) -> Result<Envelope, CallError> {
    if !status.is_success() {
        let reason = format!("Marketo HTTP {status}");
        return Err(match status {
            s if s.is_server_error() => CallError::retry(reason),
            StatusCode::TOO_MANY_REQUESTS => CallError::retry_after(reason, THROTTLE_BACKOFF),
            // The client sends long reads as `POST ?_method=GET`; should one still pass 8 KB,
            // the change is not at fault and must not go dead with it.
            StatusCode::URI_TOO_LONG => CallError::retry(format!(
                "{reason}: a request URI passed Marketo's 8 KB limit"
            )),
            StatusCode::UNAUTHORIZED => CallError::Reauthenticate(reason),
            _ => CallError::Permanent(reason),
        });
    }
    let envelope: Envelope =
        serde_json::from_str(body).map_err(|e| malformed("Marketo response", e))?;
    if envelope.success {
        return Ok(envelope);
    }
    let Some(first) = envelope.errors.first() else {
        return Err(malformed(
            "Marketo response",
            "success:false without errors",
        ));
    };
    let reason = format!("Marketo {}: {}", first.code, first.message);
    let code = first.code.as_str();
    Err(if REAUTH_CODES.contains(&code) {
        CallError::Reauthenticate(reason)
    } else if code == "607" {
        // The daily quota resets at 12:00 AM CST; until then every call would fail the same.
        CallError::Paused {
            reason,
            until_ms: crate::quota::next_marketo_reset(crate::store::now_millis()),
        }
    } else if code == "606" {
        let window = rate_window(&first.message).unwrap_or(RATE_BACKOFF);
        CallError::Retry {
            reason,
            after: Some(window),
        }
    } else if code == "615" {
        CallError::Retry {
            reason,
            after: Some(CONCURRENCY_BACKOFF),
        }
    } else if RETRY_CODES.contains(&code) {
        CallError::retry(reason)
    } else {
        CallError::Permanent(reason)
    })
}

/// The Marketo code of a refused call, from the reason `classify` wrote ("Marketo 1029: …").
pub fn code_of(error: &CallError) -> Option<&str> {
    let reason = match error {
        CallError::Permanent(reason) | CallError::Retry { reason, .. } => reason,
        _ => return None,
    };
    let (code, _) = reason.strip_prefix("Marketo ")?.split_once(':')?;
    code.bytes().all(|b| b.is_ascii_digit()).then_some(code)
}

/// A member query by status refused because the program has more than 100,000 members
/// ("1003, Total membership size: … exceeds the limit allowed …" or "Matching membership size"):
/// such a program is read by bulk extract.
pub fn is_membership_cap(error: &CallError) -> bool {
    code_of(error) == Some("1003") && error.to_string().contains("membership size")
}

/// Marketo names its window: "Max rate limit '100' exceeded with in '20' secs".
fn rate_window(message: &str) -> Option<Duration> {
    let (_, rest) = message.split_once("with in '")?;
    let (secs, _) = rest.split_once('\'')?;
    secs.trim().parse().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: &str) -> CallError {
        let body = format!(
            r#"{{"requestId":"a#1","success":false,"errors":[{{"code":"{code}","message":"m"}}]}}"#
        );
        classify(StatusCode::OK, &body).unwrap_err()
    }

    #[test]
    fn http_200_failures_are_read_from_the_envelope() {
        assert!(matches!(failure("601"), CallError::Reauthenticate(_)));
        assert!(matches!(failure("602"), CallError::Reauthenticate(_)));
        assert!(matches!(
            failure("606"),
            CallError::Retry { after: Some(_), .. }
        ));
        let now = crate::store::now_millis();
        assert!(matches!(
            failure("607"),
            CallError::Paused { until_ms, .. } if until_ms > now && until_ms <= now + 86_400_000
        ));
        assert!(matches!(
            failure("615"),
            CallError::Retry { after: Some(_), .. }
        ));
        assert!(matches!(failure("713"), CallError::Retry { .. }));
        assert!(matches!(failure("603"), CallError::Permanent(_)));
        assert!(matches!(failure("1003"), CallError::Permanent(_)));
    }

    #[test]
    fn throttling_unreadable_bodies_and_long_uris_are_never_permanent() {
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, ""),
            Err(CallError::Retry { after: Some(d), .. }) if d == THROTTLE_BACKOFF
        ));
        for body in ["", "<html>gateway</html>", "{\"success\":", "[]"] {
            assert!(
                matches!(
                    classify(StatusCode::OK, body),
                    Err(CallError::Retry { after: Some(d), .. }) if d == MALFORMED_BACKOFF
                ),
                "{body:?}"
            );
        }
        assert!(matches!(
            classify(StatusCode::URI_TOO_LONG, ""),
            Err(CallError::Retry { .. })
        ));
    }

    #[test]
    fn codes_are_read_back_and_the_membership_cap_is_recognised() {
        let cap = failure_with(
            "1003",
            "Total membership size: 100001 exceeds the limit allowed 100000 for the filter",
        );
        assert_eq!(code_of(&cap), Some("1003"));
        assert!(is_membership_cap(&cap));
        let matching = failure_with(
            "1003",
            "Matching membership size: 250000 exceeds the limit allowed (100,000) for this api",
        );
        assert!(is_membership_cap(&matching));
        assert!(!is_membership_cap(&failure_with("1003", "Invalid field")));
        assert_eq!(
            code_of(&failure_with("1029", "Too many jobs in queue")),
            Some("1029")
        );
        assert_eq!(code_of(&CallError::retry("transport error")), None);
    }

    fn failure_with(code: &str, message: &str) -> CallError {
        let body = format!(
            r#"{{"requestId":"a#1","success":false,"errors":[{{"code":"{code}","message":"{message}"}}]}}"#
        );
        classify(StatusCode::OK, &body).unwrap_err()
    }

    #[test]
    fn a_rate_refusal_names_the_window_to_wait() {
        let body = r#"{"success":false,"errors":[{"code":"606","message":"Max rate limit '100' exceeded with in '20' secs"}]}"#;
        let error = classify(StatusCode::OK, body).unwrap_err();
        assert!(
            matches!(error, CallError::Retry { after: Some(d), .. } if d == Duration::from_secs(20))
        );
        assert_eq!(
            rate_window("Max rate limit '3' exceeded with in '1' secs"),
            Some(Duration::from_secs(1))
        );
        assert_eq!(rate_window("something else"), None);
    }

    #[test]
    fn successes_and_transport_statuses() {
        let ok = classify(
            StatusCode::OK,
            r#"{"requestId":"x","success":true,"result":[{"id":1}]}"#,
        )
        .unwrap();
        assert_eq!(ok.result.len(), 1);
        assert!(
            classify(StatusCode::BAD_GATEWAY, "")
                .unwrap_err()
                .is_retryable()
        );
        assert!(matches!(
            classify(StatusCode::PAYLOAD_TOO_LARGE, ""),
            Err(CallError::Permanent(_))
        ));
        assert!(
            classify(StatusCode::URI_TOO_LONG, "")
                .unwrap_err()
                .is_retryable(),
            "a 414 is never permanent"
        );
        let numeric = r#"{"success":false,"errors":[{"code":606,"message":"Max rate limit '100' exceeded with in '20' secs"}]}"#;
        assert!(
            classify(StatusCode::OK, numeric)
                .unwrap_err()
                .is_retryable()
        );
    }
}
