//! Standard Webhooks signatures (standardwebhooks.com) for senders that can sign: HMAC-SHA256,
//! keyed by a `whsec_<base64>` secret, over `webhook-id.webhook-timestamp.body`, sent as
//! space-separated `v1,<base64>` entries in `webhook-signature`. Several entries and several
//! configured secrets let either side rotate keys without downtime.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::Secret;

/// A signed request older or newer than this is refused, which bounds replays of a captured one.
pub(super) const TOLERANCE_SECS: i64 = 5 * 60;

/// The three signature headers of one request, as received.
pub(super) struct Signed<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    pub signatures: &'a str,
}

/// Why a signature was refused; logged. The caller is told only what its own headers or clock
/// got wrong ([`SignatureError::tells_the_sender`]), never whether a signature or secret was
/// close.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum SignatureError {
    #[error("no signing secret is configured")]
    NoSecrets,
    #[error("webhook-id is empty")]
    EmptyId,
    #[error("webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is more than {TOLERANCE_SECS} s away from now")]
    OutsideTolerance,
    #[error("no v1 signature matches any signing secret")]
    NoMatch,
}

impl SignatureError {
    /// Whether the reason is about the sender's own headers or clock, which it can fix and
    /// which says nothing about the secrets.
    pub(super) fn tells_the_sender(&self) -> bool {
        matches!(
            self,
            SignatureError::EmptyId
                | SignatureError::BadTimestamp
                | SignatureError::OutsideTolerance
        )
    }
}

/// Accepts when any `v1` entry equals the HMAC under any configured secret and the timestamp is
/// within the tolerance of `now_secs`. Comparisons are constant-time.
pub(super) fn verify(
    secrets: &[Secret],
    signed: &Signed<'_>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    if secrets.is_empty() {
        return Err(SignatureError::NoSecrets);
    }
    if signed.id.trim().is_empty() {
        return Err(SignatureError::EmptyId);
    }
    let timestamp: i64 = signed
        .timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if now_secs.abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::OutsideTolerance);
    }
    let offered: Vec<Vec<u8>> = signed
        .signatures
        .split_ascii_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .collect();
    for key in secrets.iter().filter_map(Secret::signing_key) {
        let expected = mac(&key, signed, body);
        if offered
            .iter()
            .any(|candidate| bool::from(candidate.as_slice().ct_eq(&expected)))
        {
            return Ok(());
        }
    }
    Err(SignatureError::NoMatch)
}

fn mac(key: &[u8], signed: &Signed<'_>, body: &[u8]) -> Vec<u8> {
    // Any key length is valid for HMAC, so construction cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(signed.id.as_bytes());
    mac.update(b".");
    mac.update(signed.timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference test suite.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: &str = "1614265330";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn signed(signatures: &str) -> Signed<'_> {
        Signed {
            id: ID,
            timestamp: TIMESTAMP,
            signatures,
        }
    }

    #[test]
    fn accepts_the_specification_example() {
        let secrets = [Secret::new(SECRET)];
        assert_eq!(
            verify(&secrets, &signed(SIGNATURE), BODY, 1614265330),
            Ok(())
        );
    }

    #[test]
    fn any_entry_and_any_secret_may_match() {
        let secrets = [Secret::new("whsec_b2xkIGtleQ=="), Secret::new(SECRET)];
        let header = format!("v1,AAAA v2,zzz {SIGNATURE}");
        assert_eq!(verify(&secrets, &signed(&header), BODY, 1614265330), Ok(()));
    }

    #[test]
    fn refuses_tampering_staleness_and_no_secrets() {
        let secrets = [Secret::new(SECRET)];
        let now = 1614265330;
        assert_eq!(
            verify(&secrets, &signed(SIGNATURE), b"{}", now),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(&secrets, &signed(SIGNATURE), BODY, now + TOLERANCE_SECS + 1),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(
            verify(&secrets, &signed(SIGNATURE), BODY, now - TOLERANCE_SECS - 1),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(
            verify(&[], &signed(SIGNATURE), BODY, now),
            Err(SignatureError::NoSecrets)
        );
    }
}
