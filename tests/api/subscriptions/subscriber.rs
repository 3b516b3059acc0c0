//! A test subscriber: records every delivery after checking its signature by the Standard
//! Webhooks rules, and answers with the status the test sets.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

/// One attempt as the subscriber saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub body: Value,
    /// Whether `webhook-signature` held a `v1` entry matching the secret, with a fresh timestamp.
    pub verified: bool,
    /// How many `v1` entries `webhook-signature` held.
    pub signatures: usize,
}

#[derive(Clone)]
struct Shared {
    secret: Arc<Mutex<Option<String>>>,
    status: Arc<AtomicU16>,
    /// A `Retry-After` value sent with every answer, when set.
    retry_after: Arc<Mutex<Option<String>>>,
    received: Arc<Mutex<Vec<Received>>>,
    /// While true, every request is recorded and then left unanswered.
    held: Arc<tokio::sync::watch::Sender<bool>>,
}

pub struct Subscriber {
    pub url: String,
    shared: Shared,
}

impl Subscriber {
    pub async fn spawn() -> Subscriber {
        let shared = Shared {
            secret: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            retry_after: Arc::default(),
            received: Arc::default(),
            held: Arc::new(tokio::sync::watch::Sender::new(false)),
        };
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Subscriber {
            url: format!("http://{address}/hook"),
            shared,
        }
    }

    pub fn set_secret(&self, secret: &str) {
        *self.shared.secret.lock().unwrap() = Some(secret.to_string());
    }

    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Answers `status` with `Retry-After: retry_after` from now on.
    pub fn answer_with_retry_after(&self, status: u16, retry_after: &str) {
        self.answer(status);
        *self.shared.retry_after.lock().unwrap() = Some(retry_after.to_string());
    }

    /// Leaves every request unanswered until [`Self::release`], as a hung subscriber does.
    pub fn hold(&self) {
        self.shared.held.send_replace(true);
    }

    pub fn release(&self) {
        self.shared.held.send_replace(false);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

async fn receive(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (id, timestamp, signatures) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let secret = shared.secret.lock().unwrap().clone();
    let verified = secret.is_some_and(|s| verify(&s, &id, &timestamp, &signatures, &body));
    shared.received.lock().unwrap().push(Received {
        id,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        verified,
        signatures: signatures
            .split(' ')
            .filter(|e| e.starts_with("v1,"))
            .count(),
    });
    let _ = shared.held.subscribe().wait_for(|held| !held).await;
    let status = StatusCode::from_u16(shared.status.load(Ordering::SeqCst)).unwrap();
    match shared.retry_after.lock().unwrap().clone() {
        Some(wait) => (status, [("retry-after", wait)]).into_response(),
        None => status.into_response(),
    }
}

/// The receiving side of the specification: key from the `whsec_` secret, timestamp within
/// five minutes, any space-separated `v1,` entry equal to the HMAC of `id.timestamp.body`.
fn verify(secret: &str, id: &str, timestamp: &str, signatures: &str, body: &[u8]) -> bool {
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|k| STANDARD.decode(k).ok())
    else {
        return false;
    };
    let Ok(sent) = timestamp.parse::<i64>() else {
        return false;
    };
    let now = campaign_sync::store::now_millis() / 1000;
    if (now - sent).abs() > 300 || id.is_empty() {
        return false;
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .any(|candidate| candidate == expected)
}
