//! Renders Marketo tokens (`{{lead.Id}}`, `{{program.Name}}`, `{{trigger.Trigger Name}}`, …) in a
//! webhook's URL, template and headers. With JSON token encoding a value becomes a quoted,
//! escaped JSON string ("Marketo automatically encloses string-type tokens in double quotes").

use serde::{Deserialize, Serialize};

use super::clock;
use super::world::{Lead, Program};

/// The trigger's display name, the value of `{{trigger.Trigger Name}}`.
pub const TRIGGER_NAME: &str = "Program Status is Changed";

/// The webhook's "Request Token Encoding".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenEncoding {
    /// Values are emitted as JSON strings, quotes included.
    #[default]
    Json,
    /// Values are emitted as they are.
    None,
    /// "Form/Url": values URL-encoded (a space as `+`), without quotes.
    FormUrl,
}

/// What tokens can refer to when a status change fires.
pub struct TokenContext<'a> {
    pub lead: &'a Lead,
    pub program: &'a Program,
    pub now: i64,
}

/// Replaces every `{{token}}` (or `{{token:default=value}}`) in `text`. Unknown tokens render as
/// an empty value, like a lead field that is empty. An unclosed `{{` is kept as literal text.
pub fn render(text: &str, context: &TokenContext<'_>, encoding: TokenEncoding) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let inner = &rest[start + 2..start + 2 + len];
        let (name, default) = match inner.split_once(":default=") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        let value = resolve(name.trim(), context)
            .filter(|v| !v.is_empty())
            .or_else(|| default.map(str::to_string))
            .unwrap_or_default();
        out.push_str(&encode(&value, encoding));
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    out
}

fn encode(value: &str, encoding: TokenEncoding) -> String {
    match encoding {
        TokenEncoding::Json => serde_json::Value::from(value).to_string(),
        TokenEncoding::None => value.to_string(),
        TokenEncoding::FormUrl => form_urlencoded::byte_serialize(value.as_bytes()).collect(),
    }
}

fn resolve(name: &str, context: &TokenContext<'_>) -> Option<String> {
    let (scope, field) = name.split_once('.')?;
    match scope {
        "lead" => lead_token(context.lead, field),
        "program" => match field {
            "id" => Some(context.program.id.to_string()),
            "Name" => Some(context.program.name.clone()),
            "Description" => Some(context.program.description.clone()),
            _ => None,
        },
        "trigger" => match field {
            "Trigger Name" => Some(TRIGGER_NAME.to_string()),
            "Name" => Some(context.program.name.clone()),
            _ => None,
        },
        "system" => match field {
            "dateTime" => Some(clock::lead_db(context.now)),
            "date" => clock::lead_db(context.now).get(..10).map(str::to_string),
            _ => None,
        },
        _ => None,
    }
}

/// Lead tokens use display names; a few are mapped, others are tried as REST API names.
fn lead_token(lead: &Lead, field: &str) -> Option<String> {
    let api_name = match field {
        "Id" => return Some(lead.id.to_string()),
        "Email Address" => "email",
        "First Name" => "firstName",
        "Last Name" => "lastName",
        "Updated At" => "updatedAt",
        "Created At" => "createdAt",
        other => other,
    };
    match lead.field(api_name) {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;

    fn fixtures() -> (Lead, Program) {
        let mut fields = Map::new();
        fields.insert("email".into(), json!("ann \"the\" o@x.com"));
        let lead = Lead {
            id: 42,
            fields,
            created_at: 0,
            updated_at: 0,
            acquisition_program_id: None,
        };
        let program = Program {
            id: 1044,
            name: "Webinar".into(),
            description: String::new(),
            channel: "Webinar".into(),
            costs: Vec::new(),
            sfdc_id: None,
            sfdc_name: None,
            created_at: 0,
            updated_at: 0,
        };
        (lead, program)
    }

    #[test]
    fn json_encoding_quotes_and_escapes_values() {
        let (lead, program) = fixtures();
        let context = TokenContext {
            lead: &lead,
            program: &program,
            now: 0,
        };
        let template = r#"{"leadId": {{lead.Id}}, "email": {{lead.Email Address}}, "t": {{trigger.Trigger Name}}, "x": {{lead.First Name:default=none}}, "y": {{lead.Nope}}}"#;
        let rendered = render(template, &context, TokenEncoding::Json);
        let parsed: serde_json::Value = serde_json::from_str(&rendered).expect("valid JSON");
        assert_eq!(parsed["leadId"], json!("42"));
        assert_eq!(parsed["email"], json!("ann \"the\" o@x.com"));
        assert_eq!(parsed["t"], json!("Program Status is Changed"));
        assert_eq!(parsed["x"], json!("none"));
        assert_eq!(parsed["y"], json!(""));
    }

    #[test]
    fn no_encoding_and_unclosed_braces_stay_literal() {
        let (lead, program) = fixtures();
        let context = TokenContext {
            lead: &lead,
            program: &program,
            now: 0,
        };
        let rendered = render("p={{program.id}}&{{oops", &context, TokenEncoding::None);
        assert_eq!(rendered, "p=1044&{{oops");
    }

    proptest::proptest! {
        /// Whatever a lead's e-mail holds, the documented template renders to valid JSON that
        /// carries it unchanged.
        #[test]
        fn json_encoding_always_yields_valid_json(email in "\\PC{0,30}", text in "\\PC{0,30}") {
            let (mut lead, program) = fixtures();
            lead.fields.insert("email".into(), json!(email));
            let context = TokenContext { lead: &lead, program: &program, now: 0 };
            let template = r#"{"leadId": {{lead.Id}}, "email": {{lead.Email Address}}}"#;
            let rendered = render(template, &context, TokenEncoding::Json);
            let parsed: serde_json::Value = serde_json::from_str(&rendered).expect("valid JSON");
            proptest::prop_assert_eq!(&parsed["email"], &json!(email));
            let _ = render(&text, &context, TokenEncoding::Json);
        }
    }
}
