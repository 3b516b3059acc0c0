//! Receivers: one file per source, each verify → parse → record → acknowledge. They never call
//! Salesforce or Marketo; the store is the only thing between them and the worker.

pub mod marketo;
pub mod salesforce;

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use futures::StreamExt;

/// The receivers' paths: they read their bodies themselves, after checking who is calling.
pub const RECEIVERS: [&str; 2] = [salesforce::PATH, marketo::PATH];

/// Refuses a body sent with a content coding (gzip, br, …): neither sender compresses its
/// requests, and a receiver reading the compressed bytes as text would only call them
/// malformed. `identity` is no coding, nor is an empty header. The error quotes the header.
pub fn check_content_coding(headers: &HeaderMap) -> Result<(), String> {
    let mut codings = headers.get_all(CONTENT_ENCODING).iter();
    match codings.find(|value| {
        !value
            .as_bytes()
            .split(|&b| b == b',')
            .map(<[u8]>::trim_ascii)
            // An empty list element is no coding (RFC 9110 §5.6.1), so is a header set empty.
            .all(|coding| coding.is_empty() || coding.eq_ignore_ascii_case(b"identity"))
    }) {
        None => Ok(()),
        Some(value) => Err(String::from_utf8_lossy(value.as_bytes())
            .chars()
            .take(40)
            .collect()),
    }
}

/// The 415 of a body sent with a content coding, quoting it.
pub fn coded_body(coding: &str) -> crate::http::error::ApiError {
    crate::http::error::ApiError::Status {
        status: axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        message: format!("content encoding {coding:?} is not accepted; send the body uncompressed"),
    }
}

/// Every route but the receivers (which check it themselves, after the caller): a body sent
/// with a content coding is refused with 415 before the handler reads it as JSON or a form,
/// which would only call the compressed bytes malformed. A `GET` or `HEAD` carries no body.
pub async fn refuse_coded_body(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let reads_body = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    match check_content_coding(request.headers()) {
        Err(coding) if reads_body => coded_body(&coding).into_response(),
        _ => next.run(request).await,
    }
}

/// Why a receiver could not read a body.
#[derive(Debug)]
pub enum BodyError {
    /// Over the limit, by its `Content-Length` or as it arrived.
    TooLarge,
    /// The connection failed while the body arrived.
    Unreadable(String),
}

/// Reads a body of at most `limit` bytes: one that announces more is refused before a byte is
/// read, one that sends more is refused as soon as it passes the limit.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let announced = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    // A body that arrives in one chunk (the usual webhook) is kept as it came, not copied.
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut read = 0;
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| BodyError::Unreadable(e.to_string()))?;
        read += chunk.len();
        if read > limit {
            return Err(BodyError::TooLarge);
        }
        match first.take() {
            None if joined.is_empty() => first = Some(chunk),
            held => {
                joined.extend_from_slice(held.as_deref().unwrap_or_default());
                joined.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(joined)))
}
