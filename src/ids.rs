//! Salesforce record ids as a type: validated once on parse, compared in their 15- and
//! 18-character forms without slicing strings that might not be ids.

use std::fmt;

use serde::{Deserialize, Serialize};

const SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// A Salesforce record id: 15 case-sensitive characters of `[0-9A-Za-z]`, optionally followed
/// by the 3-character case-safe suffix. It keeps the form it was given (so it round-trips as
/// sent) and compares by its first 15 characters, which identify the record.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SalesforceId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("a Salesforce id has 15 or 18 characters, not {0}")]
    Length(usize),
    #[error("a Salesforce id holds only the letters A-Z, a-z and digits")]
    Characters,
    #[error("the last 3 characters of an 18-character Salesforce id do not match its first 15")]
    Suffix,
}

impl SalesforceId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let raw = raw.trim();
        if !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(IdError::Characters);
        }
        match raw.len() {
            15 => Ok(SalesforceId(raw.to_string())),
            18 => {
                let (short, suffix) = raw.split_at(15);
                if checksum(short).eq_ignore_ascii_case(suffix) {
                    Ok(SalesforceId(raw.to_string()))
                } else {
                    Err(IdError::Suffix)
                }
            }
            other => Err(IdError::Length(other)),
        }
    }

    /// The 15 characters that identify the record (always ASCII, so this cannot split a char).
    pub fn short(&self) -> &str {
        &self.0[..15]
    }

    /// The 18-character, case-safe form.
    pub fn long(&self) -> String {
        format!("{}{}", self.short(), checksum(self.short()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 3-character key prefix naming the object type (`00Q` Lead, `003` Contact, …).
    pub fn prefix(&self) -> &str {
        &self.0[..3]
    }

    pub fn is_contact(&self) -> bool {
        self.prefix() == "003"
    }

    /// Whether two raw strings name the same record; anything that is not an id matches nothing.
    pub fn same(a: &str, b: &str) -> bool {
        match (SalesforceId::parse(a), SalesforceId::parse(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// The case-safe suffix of a 15-character id: for each 5-character chunk, a bit per upper-case
/// letter, read as an index into `A–Z0–5`.
pub fn checksum(short: &str) -> String {
    short
        .as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, byte)| byte.is_ascii_uppercase())
                .fold(0usize, |acc, (i, _)| acc | (1 << i));
            char::from(SUFFIX[bits])
        })
        .collect()
}

impl PartialEq for SalesforceId {
    fn eq(&self, other: &Self) -> bool {
        self.short() == other.short()
    }
}

impl Eq for SalesforceId {}

impl std::hash::Hash for SalesforceId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.short().hash(state);
    }
}

impl PartialOrd for SalesforceId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SalesforceId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.short().cmp(other.short())
    }
}

impl TryFrom<String> for SalesforceId {
    type Error = IdError;
    fn try_from(raw: String) -> Result<Self, IdError> {
        SalesforceId::parse(&raw)
    }
}

impl From<SalesforceId> for String {
    fn from(id: SalesforceId) -> String {
        id.0
    }
}

impl std::str::FromStr for SalesforceId {
    type Err = IdError;
    fn from_str(raw: &str) -> Result<Self, IdError> {
        SalesforceId::parse(raw)
    }
}

impl fmt::Display for SalesforceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SalesforceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SalesforceId({})", self.0)
    }
}

impl AsRef<str> for SalesforceId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn both_forms_name_one_record() {
        for real in [
            "00D7F00000107XsUAI",
            "0067F000003pmdWQAQ",
            "00vi0000011VMgeAAG",
        ] {
            let long = SalesforceId::parse(real).unwrap();
            let short = SalesforceId::parse(&real[..15]).unwrap();
            assert_eq!(long, short);
            assert_eq!(short.long(), real);
            assert!(SalesforceId::same(real, &real[..15]));
        }
    }

    #[test]
    fn refuses_what_is_not_an_id() {
        let cases = [
            ("701", IdError::Length(3)),
            ("aaaaaaaaaaaaaaé", IdError::Characters),
            ("00Q-not-an-id-00", IdError::Characters),
            ("00Q5g0000000001BBB", IdError::Suffix),
            ("", IdError::Length(0)),
        ];
        for (raw, error) in cases {
            assert_eq!(SalesforceId::parse(raw).unwrap_err(), error, "{raw}");
        }
        assert!(!SalesforceId::same("701", "701"));
    }

    #[test]
    fn case_matters_in_the_short_form() {
        assert!(!SalesforceId::same("00Q5g000000000a", "00Q5g000000000A"));
    }

    proptest! {
        #[test]
        fn same_never_panics(a in "\\PC{0,20}", b in "\\PC{0,20}") {
            let _ = SalesforceId::same(&a, &b);
        }

        #[test]
        fn long_form_parses_back(short in "[0-9A-Za-z]{15}") {
            let id = SalesforceId::parse(&short).unwrap();
            let long = SalesforceId::parse(&id.long()).unwrap();
            prop_assert_eq!(long, id);
        }
    }
}
