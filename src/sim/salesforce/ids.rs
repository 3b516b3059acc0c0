//! Salesforce-shaped record ids: a 3-character key prefix, a base-62 body, and the 3-character
//! case-safe suffix that turns the case-sensitive 15-character id into the 18-character one.

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Key prefixes of the objects the simulator knows, plus the ids that only appear in messages.
pub mod prefix {
    pub const ORGANIZATION: &str = "00D";
    pub const USER: &str = "005";
    pub const LEAD: &str = "00Q";
    pub const CONTACT: &str = "003";
    pub const CAMPAIGN: &str = "701";
    pub const CAMPAIGN_MEMBER: &str = "00v";
    pub const CAMPAIGN_MEMBER_STATUS: &str = "01Y";
    pub const OUTBOUND_ACTION: &str = "04k";
    pub const OUTBOUND_NOTIFICATION: &str = "04l";
    pub const QUERY_LOCATOR: &str = "01g";
}

/// The 18-character id for `prefix` and a sequence number. The body is zero-padded base 62 in
/// ASCII order, so ids of one prefix sort in creation order.
pub fn make(prefix: &str, sequence: u64) -> String {
    let mut body = [b'0'; 10];
    let mut rest = sequence;
    for slot in body.iter_mut().rev() {
        *slot = BASE62[(rest % 62) as usize];
        rest /= 62;
    }
    let short = format!("{prefix}5g{}", String::from_utf8_lossy(&body));
    let suffix = checksum(&short);
    format!("{short}{suffix}")
}

use crate::ids::checksum;

/// The 18-character form of a 15- or 18-character id, or `None` when `id` is not shaped like
/// one. An 18-character id must carry the suffix its first 15 characters imply.
pub fn normalize(id: &str) -> Option<String> {
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    match id.len() {
        15 => Some(format!("{id}{}", checksum(id))),
        18 => {
            let (short, suffix) = id.split_at(15);
            (checksum(short).eq_ignore_ascii_case(suffix))
                .then(|| format!("{short}{}", checksum(short)))
        }
        _ => None,
    }
}

/// The first 15 characters, as Salesforce writes the org id in `EnterpriseUrl`.
pub fn short(id: &str) -> &str {
    id.get(..15).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_matches_real_ids() {
        // Ids from public Salesforce payloads: the suffix follows from the first 15 characters.
        for real in [
            "00D7F00000107XsUAI",
            "0067F000003pmdWQAQ",
            "00vi0000011VMgeAAG",
        ] {
            assert_eq!(normalize(&real[..15]).as_deref(), Some(real));
            assert_eq!(normalize(real).as_deref(), Some(real));
        }
    }

    #[test]
    fn made_ids_are_18_chars_with_prefix_and_sort_in_order() {
        let first = make(prefix::LEAD, 61);
        let second = make(prefix::LEAD, 62);
        assert_eq!(first.len(), 18);
        assert!(first.starts_with("00Q"));
        assert!(first < second);
        assert_eq!(normalize(&first).as_deref(), Some(first.as_str()));
    }

    #[test]
    fn rejects_what_is_not_an_id() {
        assert_eq!(normalize("00Q-not-an-id"), None);
        assert_eq!(normalize("00Q5g0000000001BBB"), None);
    }
}
