//! Marketo's response envelopes and the one error type of the simulator's HTTP boundary.
//!
//! Errors are HTTP 200 with `success:false` and `errors[{code,message}]`, codes as strings, as
//! Marketo answers them. Lead Database replies leave out empty `errors`/`warnings` (as the
//! documented and recorded examples do); Asset API replies always carry both, and their warnings
//! are plain strings.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::clock;

/// Why a REST call failed as a whole. Each variant is one documented response-level code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MktoError {
    #[error("Access token invalid")]
    TokenInvalid,
    #[error("Access token expired")]
    TokenExpired,
    /// The API user's role lacks the permission the call needs, or its address is not on the
    /// instance's API allowlist.
    #[error("Access denied")]
    AccessDenied,
    #[error("Request time-out")]
    Timeout,
    #[error("HTTP Method not supported")]
    MethodNotSupported,
    #[error("Max rate limit '{limit}' exceeded with in '{window_secs}' secs")]
    RateLimit { limit: u32, window_secs: u64 },
    #[error("Daily quota reached")]
    DailyQuota,
    #[error("API Temporarily Unavailable")]
    Unavailable,
    #[error("Invalid JSON")]
    InvalidJson,
    #[error("Requested resource not found")]
    NotFound,
    #[error("System error")]
    System,
    #[error("Invalid Content Type")]
    ContentType,
    #[error("Concurrent access limit reached")]
    Concurrency,
    #[error("{0} cannot be blank")]
    Blank(&'static str),
    #[error("{0}")]
    NoData(String),
    #[error("{0}")]
    InvalidDate(String),
    #[error("Transient Error")]
    Transient,
    #[error("{0}")]
    InvalidData(String),
    #[error("{0}")]
    ObjectNotFound(String),
    #[error("Max Activity Type Limit")]
    MaxActivityTypes,
    /// More secondary attributes than a custom activity type may have.
    #[error("Max field limit reached: a custom activity type has at most {0} secondary attributes")]
    MaxFields(usize),
    /// A bulk export job refused: "Too many jobs in queue", "Export daily quota exceeded" or
    /// "Job already queued" (one code for the three, as the error-code list gives it).
    #[error("{0}")]
    ExportRefused(&'static str),
    #[error("Unsupported filter type for target subscription")]
    UnsupportedFilter,
    #[error("Field '{0}' not found")]
    FieldNotFound(String),
    /// A lead field that exists but may not be searched on (`filterType`).
    #[error("Field '{0}' not supported")]
    FieldNotSupported(String),
    /// A lead a call names as a whole (a merge's winner or loser) that does not exist.
    #[error("Lead not found: {0}")]
    LeadNotFound(i64),
}

impl MktoError {
    pub fn code(&self) -> &'static str {
        match self {
            MktoError::TokenInvalid => "601",
            MktoError::TokenExpired => "602",
            MktoError::AccessDenied => "603",
            MktoError::Timeout => "604",
            MktoError::MethodNotSupported => "605",
            MktoError::RateLimit { .. } => "606",
            MktoError::DailyQuota => "607",
            MktoError::Unavailable => "608",
            MktoError::InvalidJson => "609",
            MktoError::NotFound => "610",
            MktoError::System => "611",
            MktoError::ContentType => "612",
            MktoError::Concurrency => "615",
            MktoError::Blank(_) => "701",
            MktoError::NoData(_) => "702",
            MktoError::InvalidDate(_) => "704",
            MktoError::Transient => "713",
            MktoError::InvalidData(_) => "1003",
            MktoError::ObjectNotFound(_) => "1013",
            MktoError::MaxActivityTypes => "1027",
            MktoError::MaxFields(_) => "1028",
            MktoError::ExportRefused(_) => "1029",
            MktoError::UnsupportedFilter => "1035",
            MktoError::FieldNotFound(_) => "1006",
            MktoError::FieldNotSupported(_) => "1011",
            MktoError::LeadNotFound(_) => "1004",
        }
    }

    /// The transient failure a fault injection stands for, by code.
    pub fn transient(code: &str) -> Option<MktoError> {
        match code {
            "604" => Some(MktoError::Timeout),
            "608" => Some(MktoError::Unavailable),
            "611" => Some(MktoError::System),
            "713" => Some(MktoError::Transient),
            _ => None,
        }
    }
}

/// Calls answered with the starred codes of Marketo's table (601, 602, 604, 605, 608, 611)
/// do not count against the rate limit or the daily quota.
pub fn counted(code: &str) -> bool {
    !matches!(code, "601" | "602" | "604" | "605" | "608" | "611")
}

impl IntoResponse for MktoError {
    fn into_response(self) -> Response {
        self.answer(false)
    }
}

impl MktoError {
    /// The error as the Asset API answers it: with an empty `warnings`, as its every reply has.
    pub fn asset_response(self) -> Response {
        self.answer(true)
    }

    fn answer(self, asset: bool) -> Response {
        let mut body = json!({
            "requestId": request_id(),
            "success": false,
            "errors": [{ "code": self.code(), "message": self.to_string() }],
        });
        if asset {
            body["warnings"] = json!([]);
        }
        let mut response = Json(body).into_response();
        response.extensions_mut().insert(Outcome {
            code: Some(self.code().to_string()),
            records: 0,
        });
        response
    }
}

/// What the call log records of a reply: the error code, if the call failed, and how many
/// records the reply carried.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub code: Option<String>,
    pub records: usize,
}

/// `<hex counter>#<hex millis>`, the shape of Marketo's `requestId` (e.g. `e42b#14272d07d78`).
pub fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0x1000);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{n:x}#{:x}", clock::now_ms())
}

/// Position paging of a Lead Database reply. `token` is present only when there is more.
pub struct Page {
    pub next_token: Option<String>,
    /// Whether the endpoint reports `moreResult` at all (program members does, lead filters do
    /// only while paging).
    pub report_more: bool,
}

/// A successful Lead Database reply. The records it counts leave out those a write skipped, so
/// a write whose every record was skipped changed nothing and is not logged as a write.
pub fn lead_db(result: Vec<Value>, page: Option<Page>) -> Response {
    let records = result
        .iter()
        .filter(|r| r.get("status").and_then(Value::as_str) != Some("skipped"))
        .count();
    let mut body = json!({ "requestId": request_id(), "result": result, "success": true });
    if let Some(page) = page {
        let more = page.next_token.is_some();
        if let Some(token) = page.next_token {
            body["nextPageToken"] = json!(token);
        }
        if page.report_more || more {
            body["moreResult"] = json!(more);
        }
    }
    with_outcome(Json(body).into_response(), records)
}

/// A successful Asset API reply. An empty result is reported as Marketo does: no `result`, and
/// the warning "No assets found for the given search criteria.".
pub fn asset(result: Vec<Value>) -> Response {
    let records = result.len();
    let body = if result.is_empty() {
        json!({
            "success": true, "errors": [], "requestId": request_id(),
            "warnings": ["No assets found for the given search criteria."],
        })
    } else {
        json!({
            "success": true, "warnings": [], "errors": [], "requestId": request_id(),
            "result": result,
        })
    };
    with_outcome(Json(body).into_response(), records)
}

/// A write answered without `result` (Merge Leads' `ResponseWithoutResult`).
pub fn without_result() -> Response {
    let body = json!({ "requestId": request_id(), "success": true });
    with_outcome(Json(body).into_response(), 1)
}

/// `activities/pagingtoken.json`: only the token.
pub fn paging_token(token: &str) -> Response {
    let body = json!({ "requestId": request_id(), "success": true, "nextPageToken": token });
    with_outcome(Json(body).into_response(), 0)
}

/// An `activities.json` page: the next token always, `result` only when something matched.
pub fn activities(result: Vec<Value>, next_token: &str, more: bool) -> Response {
    let records = result.len();
    let mut body = json!({
        "requestId": request_id(), "success": true,
        "nextPageToken": next_token, "moreResult": more,
    });
    if !result.is_empty() {
        body["result"] = json!(result);
    }
    with_outcome(Json(body).into_response(), records)
}

fn with_outcome(mut response: Response, records: usize) -> Response {
    response.extensions_mut().insert(Outcome {
        code: None,
        records,
    });
    response
}

/// A record-level skip reason, `{"code": "1037", "message": …}`.
pub fn reason(code: &str, message: &str) -> Value {
    json!([{ "code": code, "message": message }])
}
