//! Matching rows against a parsed query's conditions, and ordering them.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::{Literal, Op, Query};
use crate::sim::salesforce::{clock, ids};

impl Query {
    pub fn matches(&self, row: &Map<String, Value>) -> bool {
        self.conditions.iter().all(|c| {
            let value = row.get(c.field).unwrap_or(&Value::Null);
            let hit = |literal: &Literal| compare(value, literal);
            match c.op {
                Op::Eq | Op::In => c.values.iter().any(|l| hit(l) == Some(Ordering::Equal)),
                Op::Ne | Op::NotIn => c.values.iter().all(|l| hit(l) != Some(Ordering::Equal)),
                Op::Lt => c.values.iter().any(|l| hit(l) == Some(Ordering::Less)),
                Op::Gt => c.values.iter().any(|l| hit(l) == Some(Ordering::Greater)),
                Op::Le => c
                    .values
                    .iter()
                    .any(|l| matches!(hit(l), Some(Ordering::Less | Ordering::Equal))),
                Op::Ge => c
                    .values
                    .iter()
                    .any(|l| matches!(hit(l), Some(Ordering::Greater | Ordering::Equal))),
            }
        })
    }

    pub fn order_rows(&self, rows: &mut [Map<String, Value>]) {
        if let Some((field, descending)) = self.order {
            rows.sort_by(|a, b| {
                let (a, b) = (
                    a.get(field).unwrap_or(&Value::Null),
                    b.get(field).unwrap_or(&Value::Null),
                );
                let order = compare_values(a, b);
                if descending { order.reverse() } else { order }
            });
        }
    }
}

/// `value` against a literal; `None` when they cannot be compared. Text compares
/// case-insensitively and ids in their 18-character form, as SOQL does.
fn compare(value: &Value, literal: &Literal) -> Option<Ordering> {
    match (value, literal) {
        (Value::Null, Literal::Bare(word)) if word.eq_ignore_ascii_case("null") => {
            Some(Ordering::Equal)
        }
        (Value::Null, _) => None,
        (Value::Bool(b), Literal::Bare(word)) => word.parse::<bool>().ok().map(|w| b.cmp(&w)),
        (Value::Number(n), Literal::Bare(word)) => {
            n.as_f64()?.partial_cmp(&word.parse::<f64>().ok()?)
        }
        (Value::String(text), Literal::Bare(word)) => {
            Some(clock::parse(text)?.cmp(&clock::parse(word)?))
        }
        (Value::String(text), Literal::Text(literal)) => {
            if let (Some(a), Some(b)) = (ids::normalize(text), ids::normalize(literal)) {
                return Some(a.cmp(&b));
            }
            Some(text.to_lowercase().cmp(&literal.to_lowercase()))
        }
        _ => None,
    }
}

fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => a.to_string().cmp(&b.to_string()),
    }
}
