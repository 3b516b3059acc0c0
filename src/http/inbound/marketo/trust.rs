//! Who may call the webhook: an optional client-network allowlist (403), then either the static
//! token Marketo sends in a custom header or a Standard Webhooks signature (401 otherwise).
//! Marketo cannot sign, so the token is its way in; the signature is for senders that can.

use std::net::IpAddr;

use axum::http::HeaderMap;
use bytes::Bytes;
use ipnet::IpNet;

use super::signature::{self, Signed};
use crate::config::MarketoConfig;
use crate::http::error::ApiError;

/// A body whose sender has been authenticated. Only this module makes one, so nothing unverified
/// can reach the parser.
pub(super) struct Verified(Bytes);

impl Verified {
    pub(super) fn body(&self) -> &Bytes {
        &self.0
    }
}

/// What the request's headers offer, decided before the body is read so an unauthenticated
/// caller cannot make us buffer a megabyte.
pub(super) enum Gate {
    /// The static token matched.
    Token,
    /// Signature headers are present; the body must be read to verify them.
    Signature,
}

/// An empty allowlist allows every address. IPv4 peers seen through an IPv6 socket
/// (`::ffff:a.b.c.d`) are compared as IPv4.
pub(super) fn check_network(allowed: &[IpNet], peer: IpAddr) -> Result<(), ApiError> {
    let peer = peer.to_canonical();
    if allowed.is_empty() || allowed.iter().any(|net| net.contains(&peer)) {
        Ok(())
    } else {
        tracing::warn!(%peer, "marketo webhook refused: client address not allowed");
        Err(ApiError::Forbidden)
    }
}

impl Gate {
    pub(super) fn open(config: &MarketoConfig, headers: &HeaderMap) -> Result<Gate, ApiError> {
        if token_matches(config, headers) {
            Ok(Gate::Token)
        } else if headers.contains_key("webhook-signature") {
            Ok(Gate::Signature)
        } else {
            tracing::warn!(
                header = %config.webhook_header,
                "marketo webhook refused: missing or wrong token"
            );
            Err(ApiError::Unauthorized)
        }
    }

    /// Checks the signature over the raw bytes (a token needs no further check).
    pub(super) fn verify(
        self,
        config: &MarketoConfig,
        headers: &HeaderMap,
        body: Bytes,
        now_secs: i64,
    ) -> Result<Verified, ApiError> {
        if let Gate::Signature = self {
            let signed = Signed {
                id: header_text(headers, "webhook-id"),
                timestamp: header_text(headers, "webhook-timestamp"),
                signatures: header_text(headers, "webhook-signature"),
            };
            signature::verify(&config.webhook_signing_secrets, &signed, &body, now_secs).map_err(
                |reason| {
                    tracing::warn!(%reason, "marketo webhook refused: bad signature");
                    if reason.tells_the_sender() {
                        ApiError::Status {
                            status: axum::http::StatusCode::UNAUTHORIZED,
                            message: format!("signature refused: {reason}"),
                        }
                    } else {
                        ApiError::Unauthorized
                    }
                },
            )?;
        }
        Ok(Verified(body))
    }
}

/// With the `Authorization` header the value is `Bearer <token>`; any other header carries the
/// bare token. Compared in constant time; an unset token matches nothing.
fn token_matches(config: &MarketoConfig, headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(config.webhook_header.trim()) else {
        return false;
    };
    let value = value.as_bytes().trim_ascii();
    let token = if config
        .webhook_header
        .trim()
        .eq_ignore_ascii_case("authorization")
    {
        match value.split_at_checked(7) {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case(b"bearer ") => rest.trim_ascii(),
            _ => return false,
        }
    } else {
        value
    };
    config.webhook_token.matches(token)
}

/// A header as text; absent or non-ASCII reads as empty, which the signature check refuses.
fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::config::Secret;

    fn config(header: &str) -> MarketoConfig {
        MarketoConfig {
            webhook_token: Secret::new("s3cret"),
            webhook_header: header.into(),
            ..MarketoConfig::default()
        }
    }

    fn headers(name: &'static str, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn bearer_scheme_is_needed_only_on_authorization() {
        let auth = config("Authorization");
        assert!(token_matches(
            &auth,
            &headers("authorization", "Bearer s3cret")
        ));
        assert!(token_matches(
            &auth,
            &headers("authorization", "bearer  s3cret ")
        ));
        assert!(!token_matches(&auth, &headers("authorization", "s3cret")));
        assert!(!token_matches(
            &auth,
            &headers("authorization", "Basic s3cret")
        ));
        assert!(!token_matches(
            &auth,
            &headers("authorization", "Bearer s3cre")
        ));
        let custom = config("X-Marketo-Token");
        assert!(token_matches(
            &custom,
            &headers("x-marketo-token", "s3cret")
        ));
        assert!(!token_matches(
            &custom,
            &headers("authorization", "Bearer s3cret")
        ));
    }

    #[test]
    fn networks_allow_listed_addresses_only() {
        let nets: Vec<IpNet> = vec!["192.28.144.0/20".parse().unwrap()];
        assert!(check_network(&nets, "192.28.150.9".parse().unwrap()).is_ok());
        assert!(check_network(&nets, "::ffff:192.28.150.9".parse().unwrap()).is_ok());
        assert!(check_network(&nets, "10.0.0.1".parse().unwrap()).is_err());
        assert!(check_network(&[], "10.0.0.1".parse().unwrap()).is_ok());
    }
}
