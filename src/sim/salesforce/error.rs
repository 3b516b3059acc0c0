//! Salesforce's error shapes. One `SfError` carries status, code, message and fields; it renders
//! as the REST body `[{"message","errorCode","fields"}]` or as a collection entry
//! `{"statusCode","message","fields"}`, the two places the same error appears.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::state::ErrorCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct SfError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<String>,
}

impl SfError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> SfError {
        SfError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> SfError {
        SfError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn with_fields(mut self, fields: &[&str]) -> SfError {
        self.fields = fields.iter().map(|f| (*f).to_owned()).collect();
        self
    }

    pub fn not_found() -> SfError {
        SfError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    pub fn entity_is_deleted() -> SfError {
        SfError::new(
            StatusCode::NOT_FOUND,
            "ENTITY_IS_DELETED",
            "entity is deleted",
        )
    }

    pub fn required_missing(fields: &[&str]) -> SfError {
        SfError::bad_request(
            "REQUIRED_FIELD_MISSING",
            format!("Required fields are missing: [{}]", fields.join(", ")),
        )
        .with_fields(fields)
    }

    pub fn session_invalid() -> SfError {
        SfError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
    }

    pub fn invalid_field(name: &str, kind: &str) -> SfError {
        SfError::bad_request(
            "INVALID_FIELD",
            format!("No such column '{name}' on sobject of type {kind}"),
        )
    }

    pub fn not_writable(fields: &[&str]) -> SfError {
        SfError::bad_request(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            format!(
                "Unable to create/update fields: {}. Please check the security settings of this \
                 field and verify that it is read/write for your profile or permission set.",
                fields.join(", ")
            ),
        )
        .with_fields(fields)
    }

    /// The REST body; `fields` appears only when the error names some, as in Salesforce's
    /// `INVALID_SESSION_ID` and `DUPLICATE_VALUE` bodies.
    pub fn rest_body(&self) -> Value {
        let mut entry = json!({"message": self.message, "errorCode": self.code});
        if !self.fields.is_empty() {
            entry["fields"] = json!(self.fields);
        }
        json!([entry])
    }

    /// One entry of a collection result's `errors`, which always carries `fields`.
    pub fn collection_entry(&self) -> Value {
        json!({"statusCode": self.code, "message": self.message, "fields": self.fields})
    }
}

impl IntoResponse for SfError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.rest_body())).into_response();
        response
            .extensions_mut()
            .insert(ErrorCode(self.code.to_owned()));
        response
    }
}
