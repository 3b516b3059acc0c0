//! Marketo's Request Token Encoding: how the receiver reads a body whose token values were
//! escaped as JSON (the default), or URL-encoded by the `Form/Url` setting. A form body
//! (`Content-Type: application/x-www-form-urlencoded` and not a JSON object: Marketo may send
//! that Content-Type with a JSON template) is decoded as a form; a JSON template
//! with URL-encoded tokens is declared on the webhook's URL with `?encoding=url` (`%XX` only) or
//! `?encoding=form` (`%XX` and `+` for a space), and each string value is decoded.

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use crate::http::error::ApiError;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A field given twice names two values for one thing (two leads, two statuses): refused
/// rather than acting on whichever came last.
fn twice(name: &str) -> ApiError {
    ApiError::field(
        name,
        format!("`{name}` is given twice: send each field once"),
    )
}

/// Reads a JSON object's fields, or the name of the first one given twice (the rest of the
/// object is still read, so the body is checked to its end).
struct Unique;

impl<'de> serde::de::Visitor<'de> for Unique {
    type Value = Result<Map<String, Value>, String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Map::new();
        let mut repeated = None;
        while let Some((name, value)) = map.next_entry::<String, Value>()? {
            if fields.contains_key(&name) {
                repeated.get_or_insert(name);
            } else {
                fields.insert(name, value);
            }
        }
        Ok(match repeated {
            Some(name) => Err(name),
            None => Ok(fields),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    /// Values percent-encoded, `+` kept as is.
    Url,
    /// Values percent-encoded, `+` a space.
    Form,
}

/// The encoding from the `encoding` query parameter (absent: JSON).
pub fn from_query(query: Option<&str>) -> Result<Encoding, ApiError> {
    let given: Vec<(String, String)> = query
        .into_iter()
        .flat_map(|q| form_urlencoded::parse(q.as_bytes()))
        .filter(|(k, _)| k.eq_ignore_ascii_case("encoding"))
        .map(|(k, v)| (k.into_owned(), v.to_ascii_lowercase()))
        .collect();
    // A name in another case (`Encoding=url`) would leave the body read as JSON unseen.
    if let Some((name, _)) = given.iter().find(|(k, _)| k != "encoding") {
        return Err(ApiError::field(
            "encoding",
            format!("`{name}` is not a parameter here: the name is `encoding`, in lower case"),
        ));
    }
    // Two would leave which one decoded the body to a guess, as a field given twice would.
    if given.len() > 1 {
        return Err(ApiError::field(
            "encoding",
            "`encoding` is given twice in the URL: give it once",
        ));
    }
    match given.first().map(|(_, v)| v.as_str()) {
        None | Some("json") => Ok(Encoding::Json),
        Some("url") => Ok(Encoding::Url),
        Some("form") => Ok(Encoding::Form),
        Some(other) => Err(ApiError::field(
            "encoding",
            format!(
                "`encoding` must be json, url or form (Marketo's Request Token Encoding), got {other:?}"
            ),
        )),
    }
}

/// The body's fields as a JSON object, token values decoded.
pub fn fields(headers: &HeaderMap, body: &[u8], encoding: Encoding) -> Result<Value, ApiError> {
    let body = body.strip_prefix(BOM).unwrap_or(body);
    let form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let json_object = body.trim_ascii_start().starts_with(b"{");
    if form && !json_object {
        // Decoded pair by pair, so a value that is not UTF-8 is refused as in the JSON
        // encodings rather than turned into replacement characters.
        let mut fields = Map::new();
        for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let pair = std::str::from_utf8(pair)
                .map_err(|_| ApiError::bad_request("form body is not UTF-8"))?;
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name, Encoding::Form).map_err(|reason| {
                ApiError::bad_request(format!("a form field name is not {reason}"))
            })?;
            let value = decode(value, Encoding::Form)
                .map_err(|reason| ApiError::field(&name, format!("`{name}` is not {reason}")))?;
            if fields.insert(name.clone(), Value::String(value)).is_some() {
                return Err(twice(&name));
            }
        }
        return Ok(Value::Object(fields));
    }
    let not_json = |e: serde_json::Error| {
        // serde_json tells a lone surrogate (`"\ud800"`) as the end of the escape it expected
        // to pair it with.
        let hint = if e.to_string().contains("hex escape") {
            " (a \\u escape must be a character: a surrogate comes in a pair, \\ud83d\\ude00)"
        } else {
            ""
        };
        ApiError::bad_request(format!("body is not valid JSON: {e}{hint}"))
    };
    let mut value = if json_object {
        let mut read = serde_json::Deserializer::from_slice(body);
        let fields = serde::Deserializer::deserialize_map(&mut read, Unique).map_err(not_json)?;
        read.end().map_err(not_json)?;
        Value::Object(fields.map_err(|name| twice(&name))?)
    } else {
        serde_json::from_slice(body).map_err(not_json)?
    };
    if let (Value::Object(fields), true) = (&mut value, encoding != Encoding::Json) {
        for (name, field) in fields.iter_mut() {
            if let Value::String(text) = field {
                *text = decode(text, encoding)
                    .map_err(|reason| ApiError::field(name, format!("`{name}` is not {reason}")))?;
            }
        }
    }
    Ok(value)
}

fn decode(text: &str, encoding: Encoding) -> Result<String, &'static str> {
    let spaced;
    let text = if encoding == Encoding::Form {
        spaced = text.replace('+', " ");
        spaced.as_str()
    } else {
        text
    };
    // A `%` is only ever sent as the start of an escape (a literal one as `%25`): one that is
    // not followed by two hex digits means the value was not encoded as declared.
    let bytes = text.as_bytes();
    let stray = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if stray {
        return Err("URL-encoded: a `%` not followed by two hex digits");
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|t| t.into_owned())
        .map_err(|_| "UTF-8 once URL-decoded")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_the_encoding() {
        assert_eq!(from_query(None).unwrap(), Encoding::Json);
        assert_eq!(from_query(Some("x=1&encoding=URL")).unwrap(), Encoding::Url);
        assert_eq!(from_query(Some("encoding=form")).unwrap(), Encoding::Form);
        assert!(from_query(Some("encoding=base64")).is_err());
    }

    #[test]
    fn a_stray_percent_is_refused_naming_the_field() {
        let json = HeaderMap::new();
        for body in [
            br#"{"email": "a%ZZb@example.com"}"#.as_slice(),
            br#"{"email": "ada@example.com%"}"#,
            br#"{"email": "ada@example.com%4"}"#,
        ] {
            for encoding in [Encoding::Url, Encoding::Form] {
                let refused = fields(&json, body, encoding).unwrap_err().to_string();
                assert!(
                    refused.contains("`email`") && refused.contains("two hex digits"),
                    "{refused}"
                );
            }
            // Declared JSON, the value is taken as it is.
            assert!(fields(&json, body, Encoding::Json).is_ok());
        }
        let decoded = fields(&json, br#"{"email": "100%25@example.com"}"#, Encoding::Url);
        assert_eq!(decoded.unwrap()["email"], "100%@example.com");
    }

    #[test]
    fn url_and_form_values_are_decoded() {
        let json = HeaderMap::new();
        let body = br#"{"email": "a%2Bb%40example.com", "trigger": "Status+is%20Changed"}"#;
        let url = fields(&json, body, Encoding::Url).unwrap();
        assert_eq!(url["email"], "a+b@example.com");
        assert_eq!(url["trigger"], "Status+is Changed");
        let form = fields(&json, body, Encoding::Form).unwrap();
        assert_eq!(form["trigger"], "Status is Changed");
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let posted = fields(
            &headers,
            b"leadId=5&email=a%40b.com&trigger=x+y",
            Encoding::Json,
        )
        .unwrap();
        assert_eq!(posted["email"], "a@b.com");
        assert_eq!(posted["leadId"], "5");
        assert_eq!(posted["trigger"], "x y");
        let json_as_form = fields(&headers, br#"{"email": "a@b.com"}"#, Encoding::Json).unwrap();
        assert_eq!(json_as_form["email"], "a@b.com", "a JSON object stays JSON");
        let error = fields(&headers, b"leadId=5&trigger=%FF%FE", Encoding::Json).unwrap_err();
        assert!(
            error.to_string().contains("`trigger` is not UTF-8"),
            "{error}"
        );
    }

    #[test]
    fn a_field_given_twice_is_refused_naming_it() {
        let json = HeaderMap::new();
        let body = br#"{"leadId": "1001", "email": "a@b.com", "leadId": "1002"}"#;
        let error = fields(&json, body, Encoding::Json).unwrap_err();
        assert!(
            error.to_string().contains("`leadId` is given twice"),
            "{error}"
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let error = fields(&headers, b"leadId=1&status=A&leadId=2", Encoding::Json).unwrap_err();
        assert!(
            error.to_string().contains("`leadId` is given twice"),
            "{error}"
        );
        // Still read to its end: a broken object after the repeat is refused as JSON.
        let error = fields(&json, br#"{"a": 1, "a": 2, "b": }"#, Encoding::Json).unwrap_err();
        assert!(error.to_string().contains("not valid JSON"), "{error}");
        let lone = fields(
            &HeaderMap::new(),
            br#"{"leadId": "1", "trigger": "\ud800"}"#,
            Encoding::Json,
        )
        .unwrap_err()
        .to_string();
        assert!(lone.contains("a surrogate comes in a pair"), "{lone}");
        let trailing = fields(&json, br#"{"a": 1} x"#, Encoding::Json).unwrap_err();
        assert!(
            trailing.to_string().contains("not valid JSON"),
            "{trailing}"
        );
        // Nested objects are values, not fields: their keys are not looked at.
        assert!(fields(&json, br#"{"a": {"b": 1}, "c": {"b": 2}}"#, Encoding::Json).is_ok());
    }
}
