//! Reads one field of a webhook body the way Marketo renders tokens: with Request Token Encoding
//! JSON every token value arrives as a quoted string (`"leadId": "42"`), an empty token as `""`,
//! and a hand-written template may send numbers. Absent, `null` and blank all mean "not given".

use serde_json::{Map, Value};

use crate::http::error::ApiError;
use crate::ids::SalesforceId;

/// The JSON object of one webhook body.
pub(super) type Fields = Map<String, Value>;

/// A text field, trimmed; `None` when absent, null or blank. Non-text values are refused rather
/// than guessed at, naming the field.
pub(super) fn text(fields: &Fields, name: &str) -> Result<Option<String>, ApiError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let trimmed = s.trim();
            // No Marketo field holds a control character (a NUL, an escape): a token that
            // renders one is a broken template, not a name or an address.
            if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
                return Err(ApiError::field(
                    name,
                    format!(
                        "`{name}` holds the control character U+{:04X}",
                        u32::from(c)
                    ),
                ));
            }
            Ok((!trimmed.is_empty()).then(|| trimmed.to_string()))
        }
        Some(other) => Err(ApiError::field(
            name,
            format!("`{name}` must be a string, got {}", kind_of(other)),
        )),
    }
}

/// A text field no longer than `max` characters (the size of the field it will be written to).
pub(super) fn text_max(
    fields: &Fields,
    name: &str,
    max: usize,
) -> Result<Option<String>, ApiError> {
    let value = text(fields, name)?;
    let length = value.as_deref().map_or(0, |v| v.chars().count());
    if length > max {
        return Err(ApiError::field(
            name,
            format!("`{name}` is {length} characters long; at most {max} are allowed"),
        ));
    }
    Ok(value)
}

/// A text field that must be given.
pub(super) fn required_text(fields: &Fields, name: &str) -> Result<String, ApiError> {
    text(fields, name)?.ok_or_else(|| missing(name))
}

/// A Marketo id (lead, program): a positive integer sent as a JSON number or as a string of
/// digits. Floats, signs and anything else are refused, naming the field.
pub(super) fn required_id(fields: &Fields, name: &str) -> Result<i64, ApiError> {
    let invalid = |shown: &dyn std::fmt::Display| {
        ApiError::field(
            name,
            format!("`{name}` must be a positive integer id, got {shown}"),
        )
    };
    let id = match fields.get(name) {
        None | Some(Value::Null) => return Err(missing(name)),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| invalid(n))?,
        Some(Value::String(s)) => {
            let digits = s.trim();
            if digits.is_empty() {
                return Err(missing(name));
            }
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(&format!("{s:?}")));
            }
            digits
                .parse::<i64>()
                .map_err(|_| invalid(&format!("{s:?}")))?
        }
        Some(other) => return Err(invalid(&kind_of(other))),
    };
    if id <= 0 {
        return Err(invalid(&id));
    }
    Ok(id)
}

/// A Salesforce Campaign id: 15 or 18 alphanumeric characters with the Campaign key prefix
/// `701`, kept in its 18-character form (the one Salesforce's API answers with, and trigger
/// events and activities name), whichever was sent. Any campaign is accepted here, mapped or
/// not; the worker decides what to do with it.
pub(super) fn required_campaign_id(fields: &Fields, name: &str) -> Result<String, ApiError> {
    let id = required_text(fields, name)?;
    match SalesforceId::parse(&id) {
        Ok(parsed) if parsed.prefix() == "701" => Ok(parsed.long()),
        _ => Err(ApiError::field(
            name,
            format!(
                "`{name}` must be a Salesforce Campaign id (15 or 18 characters, prefix 701), got {id:?}"
            ),
        )),
    }
}

pub(super) fn missing(name: &str) -> ApiError {
    ApiError::field(name, format!("`{name}` is required"))
}

fn kind_of(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(value: Value) -> Fields {
        match value {
            Value::Object(map) => map,
            _ => panic!("test fields must be an object"),
        }
    }

    fn field_of(error: ApiError) -> Option<String> {
        match error {
            ApiError::BadRequest { field, .. } => field,
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn ids_arrive_as_quoted_strings_or_numbers() {
        let f = fields(json!({"a": "42", "b": 42, "c": " 7 "}));
        assert_eq!(required_id(&f, "a").unwrap(), 42);
        assert_eq!(required_id(&f, "b").unwrap(), 42);
        assert_eq!(required_id(&f, "c").unwrap(), 7);
    }

    #[test]
    fn bad_ids_name_their_field() {
        let f = fields(json!({
            "empty": "", "word": "abc", "neg": -3, "zero": "0", "float": 4.5,
            "huge": "99999999999999999999", "signed": "+4", "list": [1]
        }));
        for name in [
            "missing", "empty", "word", "neg", "zero", "float", "huge", "signed", "list",
        ] {
            let error = required_id(&f, name).unwrap_err();
            assert_eq!(field_of(error).as_deref(), Some(name));
        }
    }

    #[test]
    fn blank_and_null_text_is_absent_and_other_types_are_refused() {
        let f = fields(json!({"blank": "  ", "null": null, "ok": " a@b.c ", "num": 5}));
        assert_eq!(text(&f, "blank").unwrap(), None);
        assert_eq!(text(&f, "null").unwrap(), None);
        assert_eq!(text(&f, "absent").unwrap(), None);
        assert_eq!(text(&f, "ok").unwrap().as_deref(), Some("a@b.c"));
        assert_eq!(
            field_of(text(&f, "num").unwrap_err()).as_deref(),
            Some("num")
        );
        assert_eq!(
            field_of(required_text(&f, "blank").unwrap_err()).as_deref(),
            Some("blank")
        );
    }

    #[test]
    fn text_with_a_control_character_is_refused_by_name() {
        let f = fields(json!({"email": "a\u{0}b@example.com", "trigger": "x\u{1b}y"}));
        for name in ["email", "trigger"] {
            let error = text(&f, name).unwrap_err();
            assert!(error.to_string().contains("control character"), "{error}");
            assert_eq!(field_of(error).as_deref(), Some(name));
        }
        let tabbed = fields(json!({"status": "\tRegistered\n"}));
        assert_eq!(
            text(&tabbed, "status").unwrap().as_deref(),
            Some("Registered")
        );
    }

    #[test]
    fn text_longer_than_its_field_is_refused_by_name() {
        let f = fields(json!({"email": "é".repeat(255), "long": "x".repeat(256)}));
        assert_eq!(
            text_max(&f, "email", 255).unwrap().unwrap().chars().count(),
            255
        );
        let error = text_max(&f, "long", 255).unwrap_err();
        assert_eq!(field_of(error).as_deref(), Some("long"));
    }

    #[test]
    fn campaign_ids_need_the_campaign_prefix_and_length() {
        let f = fields(json!({
            "c15": "701000000000001", "c18": "701000000000001AAA",
            "lead": "00Q000000000001EAA", "short": "701abc", "dash": "701000000000-01",
            "suffix": "701000000000001AAB"
        }));
        assert_eq!(
            required_campaign_id(&f, "c15").unwrap(),
            "701000000000001AAA",
            "kept in the 18-character form"
        );
        assert_eq!(
            required_campaign_id(&f, "c18").unwrap(),
            "701000000000001AAA"
        );
        for name in ["lead", "short", "dash", "suffix", "absent"] {
            let error = required_campaign_id(&f, name).unwrap_err();
            assert_eq!(field_of(error).as_deref(), Some(name));
        }
    }
}
