//! The JSON type of each written value, checked before anything is stored: Salesforce's parser
//! refuses a value its field cannot hold (`JSON_PARSER_ERROR`, 400, on a single-record call; the
//! record's error in a collection) and a number too large for the field
//! (`NUMBER_OUTSIDE_VALID_RANGE`). Text that reads as the field's type (digits for a number,
//! `true`/`false` for a checkbox) is taken as that value, as the parser coerces it.

use serde_json::{Map, Value};

use crate::sim::salesforce::error::SfError;
use crate::sim::salesforce::schema::{FieldType, Kind};

/// `currency(18,0)`: at most 18 whole digits.
const CURRENCY_LIMIT: f64 = 1e18;

/// Checks every value of `fields` (canonical names) against its field's type and writes back
/// the value as stored (numeric text as a number, `"true"` as `true`). `null` clears a field
/// of any type; whether the field may be empty is the required-field check's business.
pub(super) fn check_types(kind: Kind, fields: &mut Map<String, Value>) -> Result<(), SfError> {
    for (name, value) in fields.iter_mut() {
        if value.is_null() {
            continue;
        }
        *value = typed(kind, name, value)?;
    }
    Ok(())
}

fn typed(kind: Kind, field: &str, value: &Value) -> Result<Value, SfError> {
    let field_type = kind.field_type(field);
    let refused = || parser_error(type_name(field_type), value);
    match field_type {
        FieldType::Text(_) => value.is_string().then(|| value.clone()).ok_or_else(refused),
        FieldType::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(refused()),
        },
        FieldType::Date => match value.as_str() {
            Some(text) if is_date(text) => Ok(value.clone()),
            _ => Err(refused()),
        },
        FieldType::Currency | FieldType::Int => {
            let amount = number(value).ok_or_else(refused)?;
            within_range(kind, field, field_type, amount, value)
        }
    }
}

/// A JSON number, or text that reads as one.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

fn within_range(
    kind: Kind,
    field: &str,
    field_type: FieldType,
    amount: f64,
    raw: &Value,
) -> Result<Value, SfError> {
    let fits = match field_type {
        FieldType::Int => {
            if amount.fract() != 0.0 {
                return Err(parser_error("int", raw));
            }
            (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&amount)
        }
        _ => amount.round().abs() < CURRENCY_LIMIT,
    };
    if !fits {
        return Err(SfError::bad_request(
            "NUMBER_OUTSIDE_VALID_RANGE",
            format!(
                "{}: value outside of valid range on numeric field: {}",
                label(kind, field),
                shown(raw)
            ),
        )
        .with_fields(&[field]));
    }
    Ok(match field_type {
        FieldType::Int => Value::from(amount as i64),
        _ => serde_json::Number::from_f64(amount).map_or(Value::Null, Value::Number),
    })
}

/// The parser's complaint: the field's type and the JSON token it met instead.
fn parser_error(type_name: &str, value: &Value) -> SfError {
    let token = match value {
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::String(_) => "VALUE_STRING",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Number(n) if n.is_f64() => "VALUE_NUMBER_FLOAT",
        Value::Number(_) => "VALUE_NUMBER_INT",
        Value::Null => "VALUE_NULL",
    };
    let message = if value.is_array() || value.is_object() {
        format!("Cannot deserialize instance of {type_name} from {token} value")
    } else {
        format!(
            "Cannot deserialize instance of {type_name} from {token} value {} or request may be \
             missing a required field",
            shown(value)
        )
    };
    SfError::bad_request("JSON_PARSER_ERROR", message)
}

fn type_name(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Text(name) => name,
        FieldType::Boolean => "boolean",
        FieldType::Currency => "currency",
        FieldType::Int => "int",
        FieldType::Date => "date",
    }
}

fn label(kind: Kind, field: &str) -> &str {
    match (kind, field) {
        (Kind::Campaign, "ActualCost") => "Actual Cost",
        (Kind::Campaign, "BudgetedCost") => "Budgeted Cost",
        (Kind::CampaignMemberStatus, "SortOrder") => "Sort Order",
        _ => field,
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `YYYY-MM-DD`, a day the calendar has.
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return false;
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return false;
    }
    let (year, month, day): (u32, u32, u32) = (
        year.parse().unwrap_or(0),
        month.parse().unwrap_or(0),
        day.parse().unwrap_or(0),
    );
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{Kind, typed};

    fn code(kind: Kind, field: &str, value: Value) -> Result<Value, &'static str> {
        typed(kind, field, &value).map_err(|e| e.code)
    }

    const PARSER: Result<Value, &str> = Err("JSON_PARSER_ERROR");
    const RANGE: Result<Value, &str> = Err("NUMBER_OUTSIDE_VALID_RANGE");

    #[test]
    fn values_by_field_type() {
        let cases = [
            (Kind::Lead, "LastName", json!("Arr"), Ok(json!("Arr"))),
            (Kind::Lead, "LastName", json!(["Arr"]), PARSER),
            (Kind::Lead, "Company", json!({"x": 1}), PARSER),
            (Kind::Lead, "Email", json!(5), PARSER),
            (Kind::CampaignMember, "Status", json!(7), PARSER),
            (
                Kind::Campaign,
                "ActualCost",
                json!(1234.5),
                Ok(json!(1234.5)),
            ),
            (Kind::Campaign, "ActualCost", json!("12.5"), Ok(json!(12.5))),
            (Kind::Campaign, "ActualCost", json!("abc"), PARSER),
            (Kind::Campaign, "ActualCost", json!(true), PARSER),
            (Kind::Campaign, "ActualCost", json!(1e20), RANGE),
            (Kind::Campaign, "BudgetedCost", json!(-1e18), RANGE),
            (Kind::Campaign, "IsActive", json!("maybe"), PARSER),
            (Kind::Campaign, "IsActive", json!("TRUE"), Ok(json!(true))),
            (Kind::Campaign, "StartDate", json!("not a date"), PARSER),
            (Kind::Campaign, "StartDate", json!("2025-02-29"), PARSER),
            (
                Kind::Campaign,
                "StartDate",
                json!("2024-02-29"),
                Ok(json!("2024-02-29")),
            ),
            (Kind::CampaignMemberStatus, "SortOrder", json!(2.5), PARSER),
            (
                Kind::CampaignMemberStatus,
                "SortOrder",
                json!(3_000_000_000_i64),
                RANGE,
            ),
        ];
        for (kind, field, value, expected) in cases {
            assert_eq!(
                code(kind, field, value.clone()),
                expected,
                "{field} = {value}"
            );
        }
    }
}
