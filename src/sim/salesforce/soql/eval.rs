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
        (Value::Bool(b), Literal::Bare(word)) => word
            .to_ascii_lowercase()
            .parse::<bool>()
            .ok()
            .map(|w| b.cmp(&w)),
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

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use crate::sim::salesforce::soql::parse;

    fn row(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn conditions_match_like_soql() {
        let member = row(json!({
            "CampaignId": "7015g0000000001AAA", "Status": "O'Brien's", "HasResponded": false,
            "LeadId": null, "SystemModstamp": "2026-11-28T20:22:01.000Z",
        }));
        let hits = [
            "SELECT Id FROM CampaignMember WHERE CampaignId = '7015g0000000001'",
            r"SELECT Id FROM CampaignMember WHERE Status = 'o\'brien\'s'",
            "SELECT Id FROM CampaignMember WHERE HasResponded = false AND LeadId = null",
            "SELECT Id FROM CampaignMember WHERE Status NOT IN ('Sent', 'Attended')",
            "SELECT Id FROM CampaignMember WHERE SystemModstamp >= 2026-11-28T20:22:01Z",
            "SELECT Id FROM CampaignMember WHERE SystemModstamp < 2026-11-28T21:22:02+01:00",
        ];
        for soql in hits {
            assert!(parse(soql).expect(soql).matches(&member), "{soql}");
        }
        let misses = [
            "SELECT Id FROM CampaignMember WHERE LeadId != null",
            "SELECT Id FROM CampaignMember WHERE SystemModstamp > 2026-11-28T20:22:01Z",
            "SELECT Id FROM CampaignMember WHERE Status IN ('Sent') AND HasResponded = false",
        ];
        for soql in misses {
            assert!(!parse(soql).expect(soql).matches(&member), "{soql}");
        }
    }

    #[test]
    fn an_id_field_compared_with_text_that_is_no_id_fails_the_query() {
        for soql in [
            "SELECT Id FROM CampaignMember WHERE CampaignId = '701-bad'",
            "SELECT Id FROM CampaignMember WHERE CampaignId IN ('7010000000000001AAA', 'x')",
            "SELECT Id FROM Lead WHERE Id = '00Q000000000001AAB'",
        ] {
            let error = parse(soql).expect_err(soql);
            assert_eq!(error.code, "INVALID_QUERY_FILTER_OPERATOR", "{soql}");
            assert!(error.message.starts_with("invalid ID field: "), "{soql}");
        }
        for soql in [
            "SELECT Id FROM CampaignMember WHERE CampaignId = '701000000000001'",
            "SELECT Id FROM CampaignMember WHERE ContactId = null",
            "SELECT Id FROM Lead WHERE Email = 'not-an-id'",
        ] {
            assert!(parse(soql).is_ok(), "{soql}");
        }
    }

    #[test]
    fn literals_must_have_their_fields_type() {
        let quoted = [
            (
                "SELECT Id FROM CampaignMember WHERE SystemModstamp > '2026-11-28T20:22:01Z'",
                "dateTime",
            ),
            (
                "SELECT Id FROM CampaignMember WHERE HasResponded = 'false'",
                "boolean",
            ),
            ("SELECT Id FROM Campaign WHERE ActualCost > '10'", "double"),
            (
                "SELECT Id FROM Campaign WHERE StartDate = '2026-11-28'",
                "date",
            ),
        ];
        for (soql, type_name) in quoted {
            let error = parse(soql).expect_err(soql);
            assert_eq!(error.code, "INVALID_FIELD", "{soql}");
            assert!(
                error.message.contains(&format!(
                    "must be of type {type_name} and should not be enclosed in quotes"
                )),
                "{soql}: {}",
                error.message
            );
        }
        for soql in [
            "SELECT Id FROM CampaignMember WHERE HasResponded = maybe",
            "SELECT Id FROM Campaign WHERE ActualCost > ten",
            "SELECT Id FROM CampaignMember WHERE SystemModstamp > TODAY",
            "SELECT Id FROM Campaign WHERE StartDate = 2026-13-01",
        ] {
            assert_eq!(parse(soql).expect_err(soql).code, "INVALID_FIELD", "{soql}");
        }
        let bare_text = "SELECT Id FROM CampaignMember WHERE Status = Sent";
        assert_eq!(
            parse(bare_text).expect_err(bare_text).code,
            "MALFORMED_QUERY"
        );
        let member = row(json!({ "HasResponded": true, "Status": null }));
        for soql in [
            "SELECT Id FROM CampaignMember WHERE HasResponded = TRUE",
            "SELECT Id FROM CampaignMember WHERE Status = NULL",
        ] {
            assert!(parse(soql).expect(soql).matches(&member), "{soql}");
        }
    }

    #[test]
    fn unsupported_syntax_is_a_malformed_query() {
        for soql in [
            "SELECT Id FROM Lead WHERE Email = 'a' OR Email = 'b'",
            "SELECT Id FROM Lead WHERE Email = 'unterminated",
            "SELECT Id FROM Lead LIMIT many",
        ] {
            let error = parse(soql).expect_err(soql);
            assert_eq!(error.code, "MALFORMED_QUERY", "{soql}");
        }
    }
}
