//! The one place that decides what a Salesforce response means: success, retry, re-authenticate
//! or permanent — for whole responses and for each record of a collection result.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

use crate::connectors::CallError;

/// Error codes that clear up by themselves (lock contention, overload).
const TRANSIENT_CODES: &[&str] = &["UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "QUERY_TIMEOUT"];

/// Back-off when the org's concurrent request limit is reached.
const LIMIT_BACKOFF: Duration = Duration::from_secs(300);
/// How long the side pauses when the org's daily allocation is used up. The allocation is a
/// rolling 24 hours, so calls free up gradually: an hour later one call tries again.
pub const DAILY_LIMIT_PAUSE_MS: i64 = 3_600_000;
/// The least back-off after a 429 (a proxy or gateway throttling us).
pub const THROTTLE_BACKOFF: Duration = Duration::from_secs(10);
/// The least back-off after a success whose body cannot be read: a truncated or proxied answer
/// is a fault of the moment, but coming straight back rarely finds it gone.
pub const MALFORMED_BACKOFF: Duration = Duration::from_secs(30);

/// A 2xx whose body is not what the call returns: retryable, never a reason to give up at once.
pub fn malformed(what: &str, error: impl std::fmt::Display) -> CallError {
    CallError::retry_after(format!("unreadable {what}: {error}"), MALFORMED_BACKOFF)
}

/// `[{"message","errorCode","fields"}]`, the body of every failed REST call.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiError {
    #[serde(default)]
    pub message: String,
    #[serde(rename = "errorCode", default)]
    pub error_code: String,
}

/// One record's result in a collection call; errors use `statusCode`, not `errorCode`.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordResult {
    pub id: Option<String>,
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<RecordError>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RecordError {
    #[serde(rename = "statusCode", default)]
    pub status_code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// What became of one record of a collection call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    Done(Option<String>),
    /// `DUPLICATE_VALUE`: the membership already exists; the caller looks it up.
    AlreadyExists,
    /// The record is gone already (delete of a deleted row).
    AlreadyGone,
    Failed(CallError),
}

/// Classifies a whole response from its status and body.
pub fn classify(status: StatusCode, body: &str) -> Result<(), CallError> {
    if status.is_success() {
        return Ok(());
    }
    let errors: Vec<ApiError> = serde_json::from_str(body).unwrap_or_default();
    let first = errors.first();
    let code = first.map_or("", |e| e.error_code.as_str());
    let text = first.map_or_else(
        || format!("HTTP {status}: {}", truncate(body)),
        |e| format!("{}: {}", e.error_code, e.message),
    );
    Err(match status {
        StatusCode::UNAUTHORIZED => CallError::Reauthenticate(text),
        StatusCode::FORBIDDEN if code == "REQUEST_LIMIT_EXCEEDED" && is_concurrency(&text) => {
            CallError::Retry {
                reason: text,
                after: Some(LIMIT_BACKOFF),
            }
        }
        // Until a whole second, as Marketo's pause (its quota day's end) is.
        StatusCode::FORBIDDEN if code == "REQUEST_LIMIT_EXCEEDED" => CallError::Paused {
            reason: text,
            until_ms: whole_second(crate::store::now_millis() + DAILY_LIMIT_PAUSE_MS),
        },
        // Named by its HTTP status too: Salesforce failing on its side is an outage, whatever
        // its error code (`UNKNOWN_EXCEPTION`, `SERVER_UNAVAILABLE`, …).
        s if s.is_server_error() && first.is_some() => {
            CallError::retry(format!("HTTP {s}: {text}"))
        }
        s if s.is_server_error() => CallError::retry(text),
        StatusCode::TOO_MANY_REQUESTS => CallError::retry_after(text, THROTTLE_BACKOFF),
        StatusCode::REQUEST_TIMEOUT => CallError::retry(text),
        _ if TRANSIENT_CODES.contains(&code) => CallError::retry(text),
        _ => CallError::Permanent(text),
    })
}

/// Whether `error` is Salesforce refusing a request with `code` (`errorCode` of the answer's
/// first error), as [`classify`] words a permanent refusal: `CODE: message`.
pub fn refused_with(error: &CallError, code: &str) -> bool {
    matches!(error, CallError::Permanent(text)
        if text.strip_prefix(code).is_some_and(|rest| rest.starts_with(':')))
}

/// `ConcurrentPerOrgLongTxn Limit exceeded.` is the concurrency limit, which clears in
/// minutes; `TotalRequests Limit exceeded.` is the daily allocation.
fn is_concurrency(text: &str) -> bool {
    text.contains("Concurrent")
}

/// Classifies one record of an sObject Collections answer (HTTP 200 with mixed results).
pub fn classify_record(result: &RecordResult) -> RecordOutcome {
    if result.success {
        return RecordOutcome::Done(result.id.clone());
    }
    let Some(error) = result.errors.first() else {
        return RecordOutcome::Failed(CallError::Permanent(
            "record failed without an error".into(),
        ));
    };
    let text = format!("{}: {}", error.status_code, error.message);
    match error.status_code.as_str() {
        "DUPLICATE_VALUE" => RecordOutcome::AlreadyExists,
        "ENTITY_IS_DELETED" | "INVALID_CROSS_REFERENCE_KEY" | "NOT_FOUND" => {
            RecordOutcome::AlreadyGone
        }
        code if TRANSIENT_CODES.contains(&code) => RecordOutcome::Failed(CallError::retry(text)),
        // Another record's failure rolled this one back; it is fine to send again.
        "ALL_OR_NONE_OPERATION_ROLLED_BACK" | "PROCESSING_HALTED" => {
            RecordOutcome::Failed(CallError::retry(text))
        }
        _ => RecordOutcome::Failed(CallError::Permanent(text)),
    }
}

fn truncate(body: &str) -> &str {
    let end = body.char_indices().nth(200).map_or(body.len(), |(i, _)| i);
    &body[..end]
}

/// Why creating a CampaignMember found a referenced record missing, naming the record from the
/// error's `fields` (`CampaignId`: the campaign; `LeadId`/`ContactId`: the person).
pub fn missing_reference(result: &RecordResult) -> String {
    let Some(error) = result.errors.first() else {
        return "a record the member refers to no longer exists".into();
    };
    let named = |field: &str| error.fields.iter().any(|f| f.eq_ignore_ascii_case(field));
    let what = if named("CampaignId") {
        "the campaign no longer exists"
    } else if named("LeadId") || named("ContactId") {
        "the Lead or Contact no longer exists"
    } else {
        "the campaign or the Lead/Contact no longer exists (Salesforce did not name the field)"
    };
    format!("{what}: {}: {}", error.status_code, error.message)
}

/// The first whole second at or after `ms` (epoch milliseconds).
fn whole_second(ms: i64) -> i64 {
    ms + (1000 - ms.rem_euclid(1000)) % 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_told_by_its_code_alone() {
        let body = r#"[{"message":"Type: bad value for restricted picklist field: Tradeshow","errorCode":"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST","fields":["Type"]}]"#;
        let error = classify(StatusCode::BAD_REQUEST, body).unwrap_err();
        assert!(refused_with(
            &error,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
        ));
        assert!(!refused_with(&error, "INVALID_OR_NULL"));
        let unavailable = classify(StatusCode::SERVICE_UNAVAILABLE, body).unwrap_err();
        assert!(!refused_with(
            &unavailable,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
        ));
    }

    #[test]
    fn statuses_and_codes_map_to_actions() {
        let expired =
            r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
        assert!(matches!(
            classify(StatusCode::UNAUTHORIZED, expired),
            Err(CallError::Reauthenticate(_))
        ));
        let limit =
            r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#;
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, limit),
            Err(CallError::Paused { until_ms, .. }) if until_ms % 1000 == 0
        ));
        let concurrent = r#"[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#;
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, concurrent),
            Err(CallError::Retry { after: Some(_), .. })
        ));
        let lock =
            r#"[{"message":"unable to obtain exclusive access","errorCode":"UNABLE_TO_LOCK_ROW"}]"#;
        assert!(
            classify(StatusCode::BAD_REQUEST, lock)
                .unwrap_err()
                .is_retryable()
        );
        let missing = r#"[{"message":"Required fields are missing: [Company]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Company"]}]"#;
        assert_eq!(
            classify(StatusCode::BAD_REQUEST, missing),
            Err(CallError::Permanent(
                "REQUIRED_FIELD_MISSING: Required fields are missing: [Company]".into()
            ))
        );
        assert!(
            classify(StatusCode::SERVICE_UNAVAILABLE, "")
                .unwrap_err()
                .is_retryable()
        );
        // Failing on Salesforce's side, whatever its code: named by the status, an outage.
        let unknown =
            r#"[{"message":"An unexpected error occurred.","errorCode":"UNKNOWN_EXCEPTION"}]"#;
        assert_eq!(
            classify(StatusCode::INTERNAL_SERVER_ERROR, unknown),
            Err(CallError::retry(
                "HTTP 500 Internal Server Error: UNKNOWN_EXCEPTION: An unexpected error occurred."
            ))
        );
        assert!(classify(StatusCode::NO_CONTENT, "").is_ok());
    }

    #[test]
    fn too_many_requests_is_retried_no_sooner_than_the_throttle_back_off() {
        for body in [
            "",
            "<html>slow down</html>",
            r#"[{"message":"x","errorCode":"X"}]"#,
        ] {
            assert!(
                matches!(
                    classify(StatusCode::TOO_MANY_REQUESTS, body),
                    Err(CallError::Retry { after: Some(d), .. }) if d == THROTTLE_BACKOFF
                ),
                "{body:?}"
            );
        }
    }

    #[test]
    fn an_unreadable_success_is_retryable_with_a_floor() {
        let error = malformed("Salesforce response", "expected value at line 1");
        assert!(matches!(
            error,
            CallError::Retry { after: Some(d), .. } if d == MALFORMED_BACKOFF
        ));
    }

    #[test]
    fn collection_records_are_classified_one_by_one() {
        let results: Vec<RecordResult> = serde_json::from_str(
            r#"[{"id":"00v000000000001AAA","success":true,"errors":[]},
                {"success":false,"errors":[{"statusCode":"DUPLICATE_VALUE","message":"Already a campaign member.","fields":[]}]},
                {"success":false,"errors":[{"statusCode":"UNABLE_TO_LOCK_ROW","message":"locked","fields":[]}]},
                {"success":false,"errors":[{"statusCode":"FIELD_CUSTOM_VALIDATION_EXCEPTION","message":"no","fields":[]}]}]"#,
        )
        .unwrap();
        let outcomes: Vec<_> = results.iter().map(classify_record).collect();
        assert_eq!(
            outcomes[0],
            RecordOutcome::Done(Some("00v000000000001AAA".into()))
        );
        assert_eq!(outcomes[1], RecordOutcome::AlreadyExists);
        assert!(matches!(&outcomes[2], RecordOutcome::Failed(e) if e.is_retryable()));
        assert!(matches!(
            &outcomes[3],
            RecordOutcome::Failed(CallError::Permanent(_))
        ));
    }

    #[test]
    fn a_missing_reference_names_the_campaign_or_the_person_from_the_fields() {
        let result = |fields: &[&str]| RecordResult {
            id: None,
            success: false,
            errors: vec![RecordError {
                status_code: "INVALID_CROSS_REFERENCE_KEY".into(),
                message: "invalid cross reference id".into(),
                fields: fields.iter().map(|f| f.to_string()).collect(),
            }],
        };
        assert!(missing_reference(&result(&["CampaignId"])).starts_with("the campaign no longer"));
        assert!(missing_reference(&result(&["ContactId"])).starts_with("the Lead or Contact"));
        let unnamed = missing_reference(&result(&[]));
        assert!(unnamed.contains("did not name the field"), "{unnamed}");
        assert!(unnamed.ends_with("INVALID_CROSS_REFERENCE_KEY: invalid cross reference id"));
    }
}
