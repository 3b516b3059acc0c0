//! The call log both simulators keep (`GET /__sim/requests`): one entry shape for Salesforce and
//! Marketo, so a test can count the calls and writes a deployment made on either side.

use serde::Serialize;

/// One call the simulator answered (or, for `kind` `webhook`/`outbound`, made).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    /// Position in the log, from 0.
    pub seq: u64,
    /// When it was logged, in the system's own timestamp format.
    pub at: String,
    /// `token` (Salesforce) or `identity` (Marketo), `rest`, `webhook` (a call Marketo sent) or
    /// `outbound` (an outbound message Salesforce sent).
    pub kind: String,
    pub method: String,
    /// The path without the query string (for a webhook, its URL's).
    pub path: String,
    /// The raw query string, `None` when there was none; `access_token` and `client_secret`
    /// values are replaced by `***`. Token requests record none.
    pub query: Option<String>,
    /// The client id behind the token; the one asked for on a token request; `None` when the
    /// token was not valid, and for webhooks.
    pub client: Option<String>,
    /// HTTP status answered (or received, for a webhook); `None` when a webhook got no answer.
    pub status: Option<u16>,
    /// The system's error code: Marketo's `errors[0].code`, Salesforce's `errorCode` (the first
    /// failed record's `statusCode` in a collection), OAuth's `error`.
    pub error_code: Option<String>,
    /// The call changed state: an accepted create, update or delete (even when some of its
    /// records were refused or skipped). Token requests and reads — including Marketo reads
    /// sent as `POST` with `_method=GET` — are not writes.
    pub write: bool,
    /// Records in the reply (Marketo `result`) or touched by the call (Salesforce).
    pub records: usize,
    /// Salesforce: the ids the call created, changed, deleted or returned.
    pub ids: Vec<String>,
    /// The request body as text (lossy UTF-8), `None` when empty; never kept for token requests.
    pub body: Option<String>,
    /// Transport error of a webhook call.
    pub error: Option<String>,
    /// `generic_login` for a token request to Salesforce's generic login host stand-in (which
    /// refuses the client-credentials flow); `None` for the simulator's own host.
    pub host: Option<String>,
}

impl CallRecord {
    /// A REST call refused before anything was read (a URI or body too large): no client, since
    /// no token was looked at.
    pub fn refused(request: &axum::extract::Request, status: axum::http::StatusCode) -> Self {
        CallRecord {
            kind: "rest".to_string(),
            method: request.method().to_string(),
            path: request.uri().path().to_string(),
            query: redacted_query(request.uri().query()),
            status: Some(status.as_u16()),
            ..CallRecord::default()
        }
    }
}

/// The query string with secrets masked (`access_token`, `client_secret`, and the `token` a
/// receiver's URL carries), `None` when empty.
pub fn redacted_query(query: Option<&str>) -> Option<String> {
    let query = query.filter(|q| !q.is_empty())?;
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_name(name) => format!("{name}=***"),
            _ => pair.to_string(),
        })
        .collect();
    Some(masked.join("&"))
}

/// Whether a query parameter's name (percent-encoded or not) is a secret's.
pub fn is_secret_name(name: &str) -> bool {
    let decoded: String = form_urlencoded::parse(name.as_bytes())
        .next()
        .map(|(key, _)| key.into_owned())
        .unwrap_or_default();
    ["access_token", "client_secret", "token"].contains(&decoded.as_str())
}

/// A transport error of a call a simulator made (an outbound message, a webhook), for its log:
/// what went wrong, told apart (no answer in time, no connection), without the URL, whose
/// query may hold the receiver's token (the path is logged beside it, the query masked).
pub fn transport_error(error: reqwest::Error, timeout: Option<std::time::Duration>) -> String {
    let kind = if error.is_timeout() {
        match timeout {
            Some(limit) if limit.as_millis() % 1000 == 0 => {
                format!("timeout: no answer within {} s", limit.as_secs())
            }
            Some(limit) => format!("timeout: no answer within {} ms", limit.as_millis()),
            None => "timeout: no answer in time".to_string(),
        }
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        "the request failed".to_string()
    };
    let error = error.without_url();
    let mut cause: &dyn std::error::Error = &error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    format!("{kind}: {cause}")
}

/// A request body worth keeping in the log.
pub fn body_text(bytes: &[u8]) -> Option<String> {
    (!bytes.is_empty()).then(|| String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_the_query_are_masked() {
        assert_eq!(
            redacted_query(Some("a=1&access_token=abc&client_secret=s&b=2")).as_deref(),
            Some("a=1&access_token=***&client_secret=***&b=2")
        );
        assert_eq!(
            redacted_query(Some("token=hunter2&nextPageToken=x")).as_deref(),
            Some("token=***&nextPageToken=x")
        );
        assert_eq!(redacted_query(Some("")), None);
        assert_eq!(redacted_query(None), None);
    }
}
