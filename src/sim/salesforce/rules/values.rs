//! Field values Salesforce refuses whatever the record: text longer than the field
//! (`STRING_TOO_LONG`, API 15.0 and later), an Email that is not an address
//! (`INVALID_EMAIL_ADDRESS`) and, when the org restricts it, a Campaign `Type` outside its
//! picklist (`INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`). Lengths are the standard fields' in
//! a new org. Campaign costs are kept in whole units.

use serde_json::{Map, Value};

use crate::sim::salesforce::error::SfError;
use crate::sim::salesforce::org::Org;
use crate::sim::salesforce::schema::Kind;

/// (field, label, length) of the text fields the simulator checks.
fn limits(kind: Kind) -> &'static [(&'static str, &'static str, usize)] {
    match kind {
        Kind::Lead => &[
            ("FirstName", "First Name", 40),
            ("LastName", "Last Name", 80),
            ("Company", "Company", 255),
            ("Email", "Email", 80),
            ("Title", "Title", 128),
            ("Phone", "Phone", 40),
        ],
        Kind::Contact => &[
            ("FirstName", "First Name", 40),
            ("LastName", "Last Name", 80),
            ("Email", "Email", 80),
            ("Title", "Title", 128),
            ("Phone", "Phone", 40),
        ],
        Kind::Campaign => &[("Name", "Name", 80)],
        Kind::CampaignMemberStatus | Kind::CampaignMember => &[],
    }
}

pub(super) fn check_values(
    org: &Org,
    kind: Kind,
    fields: &mut Map<String, Value>,
) -> Result<(), SfError> {
    if kind == Kind::Campaign {
        round_currency(fields);
        if let (Some(allowed), Some(value)) = (
            &org.campaign_types,
            fields.get("Type").and_then(Value::as_str),
        ) && !allowed.iter().any(|a| a == value)
        {
            return Err(SfError::bad_request(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                format!("Type: bad value for restricted picklist field: {value}"),
            )
            .with_fields(&["Type"]));
        }
    }
    for (field, label, max) in limits(kind) {
        let Some(text) = fields.get(*field).and_then(Value::as_str) else {
            continue;
        };
        if text.chars().count() > *max {
            return Err(SfError::bad_request(
                "STRING_TOO_LONG",
                format!("{label}: data value too large: {text} (max length={max})"),
            )
            .with_fields(&[field]));
        }
    }
    if matches!(kind, Kind::Lead | Kind::Contact) {
        let email = fields.get("Email").and_then(Value::as_str);
        let refused = |e: &&str| !e.is_empty() && !is_address(e, org.international_email);
        if let Some(email) = email.filter(refused) {
            return Err(SfError::bad_request(
                "INVALID_EMAIL_ADDRESS",
                format!("Email: invalid email address: {email}"),
            )
            .with_fields(&["Email"]));
        }
    }
    Ok(())
}

/// Campaign costs are `currency(18,0)`: Salesforce keeps whole units, rounding half away from
/// zero, so what is read back may differ from what was sent.
fn round_currency(fields: &mut Map<String, Value>) {
    for field in ["ActualCost", "BudgetedCost"] {
        if let Some(value) = fields.get_mut(field)
            && let Some(amount) = value.as_f64()
        {
            *value = Value::from(amount.round() as i64);
        }
    }
}

/// `local@domain.tld`: one `@`, no spaces or control characters, a dotted domain whose labels
/// are not empty, ASCII unless the org has Email Address Internationalization on. Salesforce's
/// exact grammar is not published; this refuses what it refuses in practice (no `@`,
/// percent-encoded `%40`, a bare host, spaces).
fn is_address(email: &str, international: bool) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let clean = |s: &str| {
        !s.is_empty()
            && (international || s.is_ascii())
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "@<>(),;:\"[]\\".contains(c))
    };
    clean(local)
        && clean(domain)
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
}

#[cfg(test)]
mod tests {
    use super::is_address;

    #[test]
    fn addresses_and_not() {
        for good in ["a@x.com", "first.last+tag@sub.example.co.uk", "o'neil@x.io"] {
            assert!(is_address(good, false), "{good}");
        }
        for bad in [
            "ada",
            "a%40b.com",
            "a@b",
            "a @x.com",
            "@x.com",
            "a@x..com",
            "a@@x.com",
        ] {
            assert!(!is_address(bad, false), "{bad}");
            assert!(!is_address(bad, true), "{bad}");
        }
        assert!(!is_address("peña@example.com", false), "ASCII unless EAI");
        assert!(is_address("peña@example.com", true), "EAI on");
    }
}
