//! Console sessions: a signed cookie (HMAC-SHA256 keyed by a hash of the admin token, so every
//! replica accepts it and changing the token signs everyone out) carrying its expiry and a
//! random id; the CSRF token of a session is derived from that id with the same key. Signing
//! out records the id in the store, so the same cookie is refused afterwards on every replica.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::super::AppState;
use crate::store::{StoreError, now_millis};

pub const COOKIE: &str = "campaign_sync_console";
/// How long a sign-in lasts.
pub const LIFETIME_MS: i64 = 8 * 3_600_000;

/// A signed-in operator: taking it as an argument protects a page (others go to sign-in).
pub struct Session {
    id: String,
    expires: i64,
    key: [u8; 32],
}

fn key(state: &AppState) -> Option<[u8; 32]> {
    let token = state.config().admin.token.expose();
    if token.is_empty() {
        return None;
    }
    let mut hash = Sha256::new();
    hash.update(b"campaign-sync console session\0");
    hash.update(token.as_bytes());
    Some(hash.finalize().into())
}

fn sign(key: &[u8; 32], text: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A new session's cookie header value, or None while no admin token is set.
pub fn new_cookie(state: &AppState, secure: bool) -> Option<String> {
    let key = key(state)?;
    let id = hex::encode(rand::random::<[u8; 16]>());
    let expires = now_millis() + LIFETIME_MS;
    let body = format!("{expires}.{id}");
    let value = format!("{body}.{}", sign(&key, &body));
    let secure = if secure { "; Secure" } else { "" };
    Some(format!(
        "{COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        LIFETIME_MS / 1000
    ))
}

/// The header value that removes the cookie.
pub fn cleared_cookie() -> String {
    format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0")
}

fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The session a cookie proves, if it is signed with the current key and not expired.
pub fn verify(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let key = key(state)?;
    let value = cookie_value(headers)?;
    let (body, signature) = value.rsplit_once('.')?;
    let (expires, id) = body.split_once('.')?;
    let signature = hex::decode(signature).ok()?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(body.as_bytes());
    mac.verify_slice(&signature).ok()?;
    let expires = expires.parse::<i64>().ok()?;
    if expires <= now_millis() {
        return None;
    }
    Some(Session {
        id: id.to_string(),
        expires,
        key,
    })
}

impl Session {
    /// Ends this session everywhere: its cookie is refused from now on, even if kept.
    pub async fn sign_out(&self, state: &AppState) -> Result<(), StoreError> {
        state
            .store()
            .sign_out_session(&self.id, self.expires, now_millis())
            .await
    }

    /// The token every state-changing form of this session carries.
    pub fn csrf(&self) -> String {
        sign(&self.key, &format!("csrf.{}", self.id))
    }

    /// `url`, a console page whose query reports what this session just did, with a seal
    /// only this session can make: the page shows the report only when the seal is its own, so
    /// a link cannot make the console say that something happened.
    pub fn sealed(&self, url: &str) -> String {
        format!("{url}&seal={}", self.seal_of(url))
    }

    /// Whether the page asked for carries this session's seal of its query (see [`sealed`]).
    ///
    /// [`sealed`]: Session::sealed
    pub fn sealed_here(&self, uri: &axum::http::Uri) -> bool {
        use subtle::ConstantTimeEq;
        let Some((query, seal)) = uri.query().and_then(|q| q.rsplit_once("&seal=")) else {
            return false;
        };
        let expected = self.seal_of(&format!("{}?{query}", uri.path()));
        expected.len() == seal.len() && bool::from(expected.as_bytes().ct_eq(seal.as_bytes()))
    }

    fn seal_of(&self, url: &str) -> String {
        sign(&self.key, &format!("notice.{}.{url}", self.id))
    }

    /// Whether a form's token is this session's (compared in constant time).
    pub fn check_csrf(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.csrf();
        expected.len() == presented.len()
            && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// Why a page was refused: not signed in (go to the sign-in page), or the store could not say
/// whether the session signed out (answered as every console store failure is).
pub enum SignIn {
    /// With the page asked for (a `GET`), to open once signed in.
    Needed(Option<String>),
    Unavailable(StoreError),
}

/// A console page to send a browser to: a path under `/console` (its query kept), not the
/// sign-in page, and nothing that could lead off this site.
pub fn console_path(asked: &str) -> Option<String> {
    let path = asked.split('?').next().unwrap_or_default();
    let inside = path == "/console" || path.starts_with("/console/");
    // No step out of `/console` (`..`, also percent-encoded: a console path never needs `%`).
    let stays = !path.contains('%') && !path.split('/').any(|step| step == "." || step == "..");
    let safe = stays
        && !asked.contains("//")
        && !asked.contains('\\')
        && !asked.chars().any(char::is_control);
    (inside && safe && !path.starts_with("/console/sign-")).then(|| asked.to_string())
}

impl IntoResponse for SignIn {
    fn into_response(self) -> Response {
        match self {
            // The overview is where signing in leads anyway.
            SignIn::Needed(next) => match next
                .as_deref()
                .and_then(console_path)
                .filter(|n| n != "/console")
            {
                Some(next) => {
                    let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                    Redirect::to(&format!("/console/sign-in?next={next}")).into_response()
                }
                None => Redirect::to("/console/sign-in").into_response(),
            },
            SignIn::Unavailable(error) => super::unavailable(error),
        }
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = SignIn;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, SignIn> {
        let asked = (parts.method == axum::http::Method::GET)
            .then(|| parts.uri.path_and_query().map(|p| p.as_str().to_string()))
            .flatten();
        let Some(session) = verify(state, &parts.headers) else {
            return Err(SignIn::Needed(asked));
        };
        match state.store().session_signed_out(&session.id).await {
            Ok(false) => Ok(session),
            Ok(true) => Err(SignIn::Needed(asked)),
            Err(error) => Err(SignIn::Unavailable(error)),
        }
    }
}
