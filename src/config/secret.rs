//! A string that never prints: `Debug` and `Display` show a placeholder, only `expose` reveals it.

use std::fmt;

use serde::{Deserialize, Deserializer};
use subtle::ConstantTimeEq;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The HMAC key of a Standard Webhooks `whsec_<base64>` secret (the prefix is optional, as
    /// in the reference libraries). `None` when the rest is not base64 or is empty.
    pub fn signing_key(&self) -> Option<Vec<u8>> {
        use base64::Engine as _;
        let encoded = self.0.strip_prefix("whsec_").unwrap_or(&self.0);
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .filter(|key| !key.is_empty())
    }

    /// Compares in time independent of where the first difference is. An empty (or blank)
    /// secret matches nothing, so an unset token never lets an empty credential through.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        // A secret of blanks is no secret: configuration counts it as missing, so nothing
        // may match it.
        !self.0.trim().is_empty() && bool::from(self.0.as_bytes().ct_eq(candidate))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("\"<redacted>\"")
        }
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Read without the whitespace around it: a secret kept in a file (`echo … > file`, `kubectl
/// create secret --from-file`) ends with a newline no sender sends, so every call would be
/// refused; no token, password or URL begins or ends with a blank.
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|value| match value.trim() {
            trimmed if trimmed.len() == value.len() => Secret(value),
            trimmed => Secret(trimmed.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_read_without_the_blanks_around_it() {
        let read: Secret = serde_json::from_str("\"  admin-token-0123456789\\n\"").unwrap();
        assert_eq!(read.expose(), "admin-token-0123456789");
        assert!(read.matches(b"admin-token-0123456789"));
    }

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "\"<redacted>\"");
        assert_eq!(format!("{secret}"), "\"<redacted>\"");
    }

    #[test]
    fn signing_keys_decode_with_or_without_prefix() {
        assert_eq!(
            Secret::new("whsec_YWJj").signing_key().as_deref(),
            Some(&b"abc"[..])
        );
        assert_eq!(
            Secret::new("YWJj").signing_key().as_deref(),
            Some(&b"abc"[..])
        );
        assert_eq!(Secret::new("whsec_not base64!").signing_key(), None);
        assert_eq!(Secret::new("whsec_").signing_key(), None);
    }

    #[test]
    fn empty_secret_matches_nothing() {
        assert!(!Secret::default().matches(b""));
        assert!(!Secret::new(" ").matches(b" "), "blanks are no secret");
        assert!(Secret::new("abc").matches(b"abc"));
        assert!(!Secret::new("abc").matches(b"abd"));
        assert!(!Secret::new("abc").matches(b"ab"));
    }
}
