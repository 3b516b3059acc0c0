//! Every error answer in its documented shape: `{"error": {...}}` JSON, a SOAP fault on the
//! Salesforce path, or an HTML page under `/console`, whoever produced it (an extractor's
//! rejection, the body limit, the router's 404/405, the request timeout); and the request
//! timeout itself.

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::console;
use super::error::ApiError;
use super::inbound::salesforce;

/// What the shaping middleware needs to word its messages.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub body_limit: usize,
    /// Whether this listener serves the console: without it, `/console/...` is just a path
    /// nothing serves, answered in JSON like any other.
    pub console: bool,
}

/// The most of a plain-text error body kept as the message (axum's rejections are one line).
const MAX_MESSAGE_BYTES: usize = 2048;

/// Ends a request that takes longer than the configured timeout with a 503 in the route's shape
/// (a SOAP `Server` fault tells Salesforce to retry).
pub async fn enforce_timeout(
    State(limits): State<Limits>,
    request: Request,
    next: Next,
) -> Response {
    let shape = Shape::of(&request, limits.console);
    match tokio::time::timeout(limits.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_elapsed) => {
            let error = ApiError::Timeout(limits.timeout.as_secs());
            tracing::warn!(timeout_secs = limits.timeout.as_secs(), "request timed out");
            match shape {
                Shape::Soap => salesforce::fault_response(error.status(), &error.to_string()),
                Shape::Page => console::page_error(error.status(), &error.to_string()),
                Shape::Json => error.into_response(),
            }
        }
    }
}

/// What an error answer looks like on a path: what its callers can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The Salesforce receiver: a SOAP fault (Salesforce retries on a `Server` fault).
    Soap,
    /// The console: an HTML page with a way back, since a browser shows it to a person.
    Page,
    /// Everything else: `{"error": {"code", "message"}}`.
    Json,
}

impl Shape {
    fn of(request: &Request, console: bool) -> Self {
        let path = request.uri().path();
        // A trailing slash (an endpoint URL typed so in Salesforce) is not found, and told so
        // as a fault.
        if path.trim_end_matches('/') == salesforce::PATH {
            Shape::Soap
        } else if console && (path == console::PATH || path.starts_with(console::PAGES)) {
            Shape::Page
        } else {
            Shape::Json
        }
    }

    /// Whether an answer is already in this shape.
    fn fits(self, headers: &HeaderMap) -> bool {
        let Some(media_type) = media_type(headers) else {
            return false;
        };
        match self {
            Shape::Soap => media_type == "text/xml",
            // The console's own error pages (a refused sign-in, a form it cannot use).
            Shape::Page => media_type == "text/html",
            Shape::Json => media_type == "application/json",
        }
    }
}

/// Rewrites an error answer that is not already JSON (or XML on the SOAP path) into the
/// documented shape, keeping its status and, when it had one, its text.
pub async fn error_bodies(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let shape = Shape::of(&request, limits.console);
    let path = request.uri().path().to_string();
    // A form sent (reloading its page gives a fresh one) or an address followed or typed.
    let sent = request.method() == axum::http::Method::POST;
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || shape.fits(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    // axum answers a JSON or form body of the wrong shape with 422; the API documents every
    // request it cannot use as 400.
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let text = message_of(body).await;
    // A JSON error turned into a page or a fault (a panic's 500 under `/console`, no route at
    // a Salesforce URL with a trailing slash) keeps only its words.
    let text = match shape {
        Shape::Page | Shape::Soap => json_message(&text).unwrap_or(text),
        Shape::Json => text,
    };
    // A page is read, not parsed: the framework's Markdown quotes would show as they are.
    let text = match shape {
        Shape::Page => text.replace('`', ""),
        _ => text,
    };
    let message = match status {
        StatusCode::NOT_FOUND if shape == Shape::Page => "There is no such console page.".into(),
        // The exact path not served: a listener that does not receive (the admin one).
        StatusCode::NOT_FOUND if shape == Shape::Soap && path == salesforce::PATH => {
            "this listener does not receive outbound messages: send them to the service's \
             `listen` address, not `admin_listen`"
                .into()
        }
        StatusCode::NOT_FOUND if shape == Shape::Soap => format!(
            "no endpoint here: the outbound message's Endpoint URL must end in {} followed by \
             ?token=…, without a trailing slash",
            salesforce::PATH
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("request body is larger than {} bytes", limits.body_limit)
        }
        // A form, link or address the console cannot read (a field missing or of the wrong
        // kind, a query parameter it does not know).
        StatusCode::BAD_REQUEST if shape == Shape::Page && !text.is_empty() => {
            let (words, _) = named_field(&text);
            let next = if sent {
                "Reload the page and try again."
            } else {
                "Check the address, or go back and follow the console's own links."
            };
            format!("This request could not be used: {words}. {next}")
        }
        _ if !text.is_empty() => text,
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
    };
    let mut shaped = match shape {
        Shape::Soap => salesforce::fault_response(status, &message),
        Shape::Page => console::page_error(status, &message),
        Shape::Json if status == StatusCode::BAD_REQUEST => {
            let (message, field) = named_field(&message);
            ApiError::BadRequest { message, field }.into_response()
        }
        Shape::Json => ApiError::Status { status, message }.into_response(),
    };
    // Keep what the original answer said about the connection or the allowed methods.
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}

/// serde's words for a request type (`expected struct BulkReplay`) in the API's (`expected a
/// JSON object`): the type's name is the code's, not the request's.
fn plain_types(message: &str) -> String {
    let Some(start) = message.find("expected struct ") else {
        return message.to_string();
    };
    let after = &message[start + "expected struct ".len()..];
    let name_end = after
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(after.len());
    format!(
        "{}expected a JSON object{}",
        &message[..start],
        &after[name_end..]
    )
}

/// What axum's JSON, query or form rejection says, without its preamble, and the field it names:
/// `ids: invalid type: …` names `ids`; "unknown field `extra`" and "missing field `url`" name
/// theirs. A message naming no field is kept as it is.
fn named_field(message: &str) -> (String, Option<String>) {
    const PREAMBLES: [&str; 3] = [
        "Failed to deserialize the JSON body into the target type: ",
        "Failed to deserialize query string: ",
        "Failed to deserialize form body: ",
    ];
    let Some(rest) = PREAMBLES.iter().find_map(|p| message.strip_prefix(p)) else {
        return (message.to_string(), None);
    };
    let quoted = quoted_field(rest);
    let path = rest.split_once(": ").map(|(path, _)| path).filter(|path| {
        !path.is_empty()
            && path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
    });
    let field = path.map(str::to_string).or(quoted);
    (plain_types(rest), field)
}

/// The field serde's "unknown field `x`" or "missing field `x`" names.
pub(crate) fn quoted_field(message: &str) -> Option<String> {
    ["unknown field `", "missing field `"]
        .iter()
        .find_map(|marker| {
            let after = &message[message.find(marker)? + marker.len()..];
            Some(after[..after.find('`')?].to_string())
        })
}

/// A message's media type without its parameters (`text/xml; charset=UTF-8` → `text/xml`),
/// lowercased; `None` without a readable `Content-Type`.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

/// The `error.message` of a documented JSON error body.
fn json_message(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    Some(value.get("error")?.get("message")?.as_str()?.to_string())
}

async fn message_of(body: Body) -> String {
    match to_bytes(body, MAX_MESSAGE_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::named_field;

    #[test]
    fn a_rejection_names_its_field() {
        let (message, field) = named_field(
            "Failed to deserialize the JSON body into the target type: ids: invalid type: string \"x\", expected a sequence at line 1 column 10",
        );
        assert_eq!(field.as_deref(), Some("ids"));
        assert!(message.starts_with("ids: invalid type"), "{message}");
        let (_, field) = named_field(
            "Failed to deserialize the JSON body into the target type: unknown field `extra`, expected `url` or `event_types` at line 1 column 9",
        );
        assert_eq!(field.as_deref(), Some("extra"));
        let (_, field) = named_field(
            "Failed to deserialize the JSON body into the target type: missing field `url` at line 1 column 2",
        );
        assert_eq!(field.as_deref(), Some("url"));
        let (message, field) = named_field("expected `,` or `}` at line 1 column 5");
        assert_eq!(
            (message.as_str(), field),
            ("expected `,` or `}` at line 1 column 5", None)
        );
    }

    #[test]
    fn a_rejection_says_object_not_the_codes_type() {
        let (message, field) = named_field(
            "Failed to deserialize the JSON body into the target type: invalid type: null, expected struct BulkReplay at line 1 column 4",
        );
        assert_eq!(
            (message.as_str(), field),
            (
                "invalid type: null, expected a JSON object at line 1 column 4",
                None
            )
        );
    }
}
