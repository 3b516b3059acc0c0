//! Whether a request may come from the configured Salesforce org: client network, the shared
//! token of the endpoint URL, and the message's organization id. Every comparison of a secret
//! or an id runs in constant time.

use std::net::IpAddr;

use ipnet::IpNet;
use subtle::{Choice, ConstantTimeEq};

use crate::config::Secret;

/// An empty allowlist admits every address.
pub fn network_allowed(allowed: &[IpNet], client: IpAddr) -> bool {
    let client = match client {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
        v4 => v4,
    };
    allowed.is_empty() || allowed.iter().any(|net| net.contains(&client))
}

/// An unset token admits nobody (see [`Secret::matches`]).
pub fn token_matches(expected: &Secret, given: Option<&str>) -> bool {
    given.is_some_and(|token| expected.matches(token.as_bytes()))
}

/// Whether `organization_id` is one of `configured`, in either id form. Every configured id is
/// compared, so the time does not tell which one (or none) matched.
pub fn organization_allowed(configured: &[String], organization_id: &str) -> bool {
    let Some(given) = case_sensitive_form(organization_id) else {
        return false;
    };
    let mut matched = Choice::from(0);
    for id in configured {
        if let Some(expected) = case_sensitive_form(id) {
            matched |= expected.as_bytes().ct_eq(given.as_bytes());
        }
    }
    matched.into()
}

/// The 15-character, case-sensitive form of a Salesforce id. The 18-character form only adds
/// three characters derived from the letter case of the first fifteen, so the first fifteen
/// decide identity.
fn case_sensitive_form(id: &str) -> Option<&str> {
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    match id.len() {
        15 | 18 => id.get(..15),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_form_matches_either_form() {
        let configured = vec!["00D7F00000107Xs".to_string()];
        assert!(organization_allowed(&configured, "00D7F00000107XsUAI"));
        assert!(organization_allowed(&configured, "00D7F00000107Xs"));
        let configured = vec!["00Dxx0000001gPFEAY".to_string()];
        assert!(organization_allowed(&configured, "00Dxx0000001gPF"));
        assert!(organization_allowed(&configured, "00Dxx0000001gPFEAY"));
    }

    #[test]
    fn other_orgs_and_case_changes_do_not_match() {
        let configured = vec!["00D7F00000107XsUAI".to_string()];
        assert!(!organization_allowed(&configured, "00D7F00000107XS"));
        assert!(!organization_allowed(&configured, "00D7F00000107XsUA"));
        assert!(!organization_allowed(&configured, "00D7F00000107Xt"));
        assert!(!organization_allowed(&configured, ""));
        assert!(!organization_allowed(&[], "00D7F00000107Xs"));
    }

    #[test]
    fn networks_and_tokens() {
        let nets: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert!(network_allowed(&nets, "10.1.2.3".parse().unwrap()));
        assert!(network_allowed(&nets, "::ffff:10.1.2.3".parse().unwrap()));
        assert!(!network_allowed(&nets, "192.168.1.1".parse().unwrap()));
        assert!(network_allowed(&[], "192.168.1.1".parse().unwrap()));
        let token = Secret::new("s3cret");
        assert!(token_matches(&token, Some("s3cret")));
        assert!(!token_matches(&token, Some("s3cret2")));
        assert!(!token_matches(&token, None));
        assert!(!token_matches(&Secret::default(), Some("")));
    }
}
