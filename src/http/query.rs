//! Query strings and path ids for the JSON API: a `Query` extractor whose 400 names the parameter
//! it could not read (`field`), the page size every listing takes, and the `{id}` of a path.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

use super::error::ApiError;

/// Like axum's `Query`, answering a parameter it cannot read with 400 and `field` naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs = form_urlencoded::parse(query.as_bytes());
        let read = serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs));
        read.map(Query).map_err(|error| {
            let field = error.path().to_string();
            let message = error.inner().to_string();
            if let Some(twice) = duplicated(&message) {
                return ApiError::field(twice, format!("{twice} is given twice: give it once"));
            }
            if field == "." {
                return ApiError::bad_request(format!("query string: {message}"));
            }
            // `?=1`: a parameter without a name.
            if field.is_empty() {
                return ApiError::bad_request("query string: a parameter has no name (`?=…`)");
            }
            if INTEGER_ERRORS.contains(&message.as_str()) {
                let given = form_urlencoded::parse(query.as_bytes())
                    .find(|(key, _)| key == field.as_str())
                    .map(|(_, value)| value.into_owned())
                    .unwrap_or_default();
                return ApiError::field(&field, format!("{field}: a whole number, not {given:?}"));
            }
            ApiError::field(&field, format!("{field}: {message}"))
        })
    }
}

/// What Rust's integer parsing says of a value that is not a whole number (or too large), which
/// is told in words instead.
const INTEGER_ERRORS: [&str; 4] = [
    "invalid digit found in string",
    "cannot parse integer from empty string",
    "number too large to fit in target type",
    "number too small to fit in target type",
];

/// The parameter serde found twice (`duplicate field `limit``).
fn duplicated(message: &str) -> Option<&str> {
    message
        .strip_prefix("duplicate field `")?
        .split('`')
        .next()
        .filter(|name| !name.is_empty())
}

/// A route that takes no query parameters: one given (a misspelt `dryRun`, a stray `x=1`) is
/// refused naming it rather than ignored, as on the routes that take some, so a typo never acts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// The `{id}` of a path as a number; anything else is 400 with `field: "id"`, saying whose.
pub fn path_id(text: &str, whose: &str) -> Result<i64, ApiError> {
    match text.parse::<i64>() {
        Ok(id) if id >= 0 => Ok(id),
        _ => Err(ApiError::field(
            "id",
            format!("a {whose} id is a whole number not below 0, not {text:?}"),
        )),
    }
}

/// Items per page when `limit` is not given, and the most it may ask for.
pub const PAGE: u32 = 100;
pub const MAX_PAGE: u32 = 1000;

/// A listing's `limit`: 1 to [`MAX_PAGE`], [`PAGE`] when absent; anything else is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub u32);

impl Default for Limit {
    fn default() -> Self {
        Limit(PAGE)
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.trim().parse::<u32>() {
            Ok(limit) if (1..=MAX_PAGE).contains(&limit) => Ok(Limit(limit)),
            _ => Err(D::Error::custom(format!(
                "a whole number from 1 to {MAX_PAGE}, not {text:?}"
            ))),
        }
    }
}

/// A cursor id (`after`, `before`): a whole number not below 0; anything else is refused, not
/// read as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub i64);

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        not_below_zero(&text, "an id").map(Cursor)
    }
}

/// A time in epoch milliseconds (`since`, `until`): a whole number not below 0; anything else is
/// refused, not read as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Millis(pub i64);

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        not_below_zero(&text, "a time in epoch milliseconds").map(Millis)
    }
}

/// `text` as a whole number not below 0, or the refusal saying it was to be `what`.
fn not_below_zero<E: serde::de::Error>(text: &str, what: &str) -> Result<i64, E> {
    match text.trim().parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n),
        _ => Err(E::custom(format!(
            "{what}: a whole number not below 0, not {text:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Page {
        after: Option<i64>,
        #[serde(default)]
        limit: Limit,
    }

    async fn read(query: &str) -> Result<Page, ApiError> {
        let request = Request::get(format!("/x?{query}")).body(()).unwrap();
        let (mut parts, ()) = request.into_parts();
        Query::<Page>::from_request_parts(&mut parts, &())
            .await
            .map(|Query(page)| page)
    }

    fn field(error: ApiError) -> Option<String> {
        match error {
            ApiError::BadRequest { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_parameter_it_cannot_read_is_named() {
        let page = read("after=5").await.unwrap();
        assert_eq!((page.after, page.limit), (Some(5), Limit(PAGE)));
        assert_eq!(read("limit=1000").await.unwrap().limit, Limit(1000));
        for (query, named) in [
            ("limit=abc", "limit"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=-1", "limit"),
            ("after=x&limit=5", "after"),
        ] {
            let error = read(query).await.expect_err(query);
            assert!(error.to_string().contains(named), "{query}: {error}");
            assert_eq!(field(error).as_deref(), Some(named), "{query}");
        }
        let error = read("limit=-1").await.unwrap_err().to_string();
        assert!(
            error.contains("a whole number from 1 to 1000, not \"-1\""),
            "{error}"
        );
    }

    #[derive(Debug, Deserialize)]
    struct Cursors {
        before: Option<Cursor>,
    }

    #[tokio::test]
    async fn a_cursor_is_a_whole_number_not_below_zero() {
        let request = |query: &str| {
            Request::get(format!("/x?{query}"))
                .body(())
                .unwrap()
                .into_parts()
                .0
        };
        let Query(read) = Query::<Cursors>::from_request_parts(&mut request("before=7"), &())
            .await
            .unwrap();
        assert_eq!(read.before, Some(Cursor(7)));
        for query in ["before=-5", "before=x", "before=1.5"] {
            let error = Query::<Cursors>::from_request_parts(&mut request(query), &())
                .await
                .expect_err(query);
            assert!(
                error.to_string().contains("not below 0"),
                "{query}: {error}"
            );
            assert_eq!(field(error).as_deref(), Some("before"), "{query}");
        }
    }

    #[derive(Debug, Deserialize)]
    struct Window {
        since: Option<Millis>,
    }

    #[tokio::test]
    async fn a_time_is_epoch_milliseconds_not_below_zero() {
        let read = |query: &str| {
            let (mut parts, ()) = Request::get(format!("/x?{query}"))
                .body(())
                .unwrap()
                .into_parts();
            async move {
                Query::<Window>::from_request_parts(&mut parts, &())
                    .await
                    .map(|Query(w)| w.since)
            }
        };
        assert_eq!(
            read("since=1700000000000").await.unwrap(),
            Some(Millis(1_700_000_000_000))
        );
        for bad in ["-1", "abc", "1.5"] {
            let error = read(&format!("since={bad}")).await.unwrap_err();
            let text = error.to_string();
            assert!(
                text.contains(&format!(
                    "a time in epoch milliseconds: a whole number not below 0, not \"{bad}\""
                )),
                "{text}"
            );
            assert_eq!(field(error).as_deref(), Some("since"));
        }
    }

    #[test]
    fn a_path_id_is_a_whole_number_not_below_zero() {
        assert_eq!(path_id("42", "job").unwrap(), 42);
        for bad in ["-1", "abc", "", "4.2"] {
            let error = path_id(bad, "job").unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("a job id is a whole number not below 0"),
                "{bad}: {error}"
            );
            assert_eq!(field(error).as_deref(), Some("id"));
        }
    }
}
