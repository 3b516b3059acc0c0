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
/// malformed. `identity` is no coding. The error quotes the header.
pub fn check_content_coding(headers: &HeaderMap) -> Result<(), String> {
    let mut codings = headers.get_all(CONTENT_ENCODING).iter();
    match codings.find(|value| {
        !value
            .as_bytes()
            .split(|&b| b == b',')
            .all(|coding| coding.trim_ascii().eq_ignore_ascii_case(b"identity"))
    }) {
        None => Ok(()),
        Some(value) => Err(String::from_utf8_lossy(value.as_bytes())
            .chars()
            .take(40)
            .collect()),
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
