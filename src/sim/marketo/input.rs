//! Reading request input the way Marketo does: query parameters, JSON bodies (612 without the
//! JSON content type, 609 when malformed), comma-separated lists, the 300-record batch limit and
//! position paging with opaque `nextPageToken`s.

use std::collections::HashMap;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, FromRequest, Query, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::envelope::MktoError;

/// Lead Database batch limit: records per call and per page.
pub const MAX_BATCH: usize = 300;

pub type Params = HashMap<String, String>;

/// Whether a `POST` stands for a read: `?_method=GET` (Marketo's way around the 8 KB URI limit).
pub fn read_as_post(query: &Result<Query<Params>, QueryRejection>) -> bool {
    query
        .as_ref()
        .is_ok_and(|Query(q)| q.get("_method").is_some_and(|m| m == "GET"))
}

/// The parameters of a read sent as `POST …?_method=GET`, from its form-encoded body (612
/// without the form content type).
pub async fn form_params(request: Request) -> Result<Params, MktoError> {
    match Form::<Params>::from_request(request, &()).await {
        Ok(Form(params)) => Ok(params),
        Err(FormRejection::InvalidFormContentType(_)) => Err(MktoError::ContentType),
        Err(other) => Err(MktoError::InvalidData(other.body_text())),
    }
}

pub fn params(query: Result<Query<Params>, QueryRejection>) -> Result<Params, MktoError> {
    query
        .map(|Query(params)| params)
        .map_err(|e| MktoError::InvalidData(format!("Invalid query: {e}")))
}

/// A required, non-empty parameter.
pub fn required<'a>(params: &'a Params, name: &'static str) -> Result<&'a str, MktoError> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
        .ok_or(MktoError::Blank(name))
}

/// `a,b,c` → `["a","b","c"]`, blanks dropped.
pub fn csv(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// Refuses more than 300 records (or filter values) in one call.
pub fn within_batch(count: usize, what: &str) -> Result<(), MktoError> {
    if count > MAX_BATCH {
        return Err(MktoError::InvalidData(format!(
            "Too many {what}: {count} exceeds the limit of {MAX_BATCH}"
        )));
    }
    Ok(())
}

pub fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, MktoError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !is_json {
        return Err(MktoError::ContentType);
    }
    serde_json::from_slice(body).map_err(|_| MktoError::InvalidJson)
}

/// The slice of `total` results this call returns and the token for the next one.
pub struct Window {
    pub start: usize,
    pub end: usize,
    pub next_token: Option<String>,
}

/// `batchSize`: 1 to 300, 300 when not given.
pub fn batch_size(params: &Params) -> Result<usize, MktoError> {
    match params.get("batchSize") {
        None => Ok(MAX_BATCH),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_BATCH).contains(n))
            .ok_or_else(|| MktoError::InvalidData(format!("Invalid batchSize '{v}'"))),
    }
}

/// Reads `batchSize` (default and maximum 300) and `nextPageToken`.
pub fn window(params: &Params, total: usize) -> Result<Window, MktoError> {
    let size = batch_size(params)?;
    let start = match params.get("nextPageToken") {
        None => 0,
        Some(token) => decode_token(token)
            .ok_or_else(|| MktoError::InvalidData("Invalid nextPageToken".to_string()))?,
    };
    let start = start.min(total);
    let end = start.saturating_add(size).min(total);
    let next_token = (end < total).then(|| encode_token(end));
    Ok(Window {
        start,
        end,
        next_token,
    })
}

fn encode_token(offset: usize) -> String {
    format!("{}==", hex::encode_upper(format!("simpage:{offset}")))
}

fn decode_token(token: &str) -> Option<usize> {
    let bytes = hex::decode(token.trim().trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("simpage:")?.parse().ok()
}

/// The Asset API's largest page (`maxReturn`) and the one it gives without asking.
const MAX_RETURN: usize = 200;
const DEFAULT_RETURN: usize = 20;

/// An Asset API browse's page: `maxReturn` (1 to 200, default 20) and `offset` (default 0);
/// anything else is 1003.
pub fn asset_page(params: &Params) -> Result<(usize, usize), MktoError> {
    let number = |name: &str, default: usize| -> Result<usize, MktoError> {
        params.get(name).map_or(Ok(default), |v| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| MktoError::InvalidData(format!("Invalid {name} '{v}'")))
        })
    };
    let max = number("maxReturn", DEFAULT_RETURN)?;
    if !(1..=MAX_RETURN).contains(&max) {
        return Err(MktoError::InvalidData(format!(
            "maxReturn must be 1 to {MAX_RETURN}"
        )));
    }
    Ok((max, number("offset", 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_through_results_with_tokens() {
        let mut params = Params::new();
        params.insert("batchSize".into(), "2".into());
        let first = window(&params, 5).expect("first page");
        assert_eq!((first.start, first.end), (0, 2));
        params.insert("nextPageToken".into(), first.next_token.expect("more"));
        let second = window(&params, 5).expect("second page");
        assert_eq!((second.start, second.end), (2, 4));
        params.insert("nextPageToken".into(), second.next_token.expect("more"));
        let last = window(&params, 5).expect("last page");
        assert_eq!((last.start, last.end, last.next_token), (4, 5, None));
    }

    #[test]
    fn refuses_bad_tokens_and_sizes() {
        let mut params = Params::new();
        params.insert("nextPageToken".into(), "garbage".into());
        assert!(window(&params, 5).is_err());
        let mut params = Params::new();
        params.insert("batchSize".into(), "301".into());
        assert!(window(&params, 5).is_err());
    }
}
