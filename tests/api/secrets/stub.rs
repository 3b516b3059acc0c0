//! What the secrets test breaks the connectors with, and how it hears what the service says: a
//! stub API host that refuses, hangs, answers 5xx or answers something that is not JSON, and a
//! log capture in the service's two formats (text and JSON).

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tracing_subscriber::layer::SubscriberExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    ConnectionRefused,
    Timeout,
    Unauthorized,
    ServerError,
    BadJson,
}

impl Failure {
    pub const ALL: [Failure; 5] = [
        Failure::ConnectionRefused,
        Failure::Timeout,
        Failure::Unauthorized,
        Failure::ServerError,
        Failure::BadJson,
    ];
}

/// A base URL that fails every call the way `failure` says (`Unauthorized` is played by the
/// real simulators with the wrong secret, so it has no stub).
pub async fn broken_host(failure: Failure) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let address = listener.local_addr().expect("address");
    if failure == Failure::ConnectionRefused {
        drop(listener);
        return format!("http://{address}");
    }
    let app = Router::new().fallback(move || answer(failure));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

async fn answer(failure: Failure) -> Response {
    match failure {
        Failure::Timeout => std::future::pending::<Response>().await,
        Failure::ServerError => (StatusCode::SERVICE_UNAVAILABLE, "upstream down").into_response(),
        _ => (StatusCode::OK, "<html>this is not JSON</html>").into_response(),
    }
}

/// Everything logged while the guard lives, in the service's text and JSON formats, at the
/// most talkative level for the service's own targets.
#[derive(Clone, Default)]
pub struct Logs {
    text: Arc<Mutex<Vec<u8>>>,
    json: Arc<Mutex<Vec<u8>>>,
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Captures on this thread (a `#[tokio::test]` runs every task on it).
    pub fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let (text, json) = (self.text.clone(), self.json.clone());
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(
                "campaign_sync=trace,info",
            ))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || Sink(text.clone())),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(move || Sink(json.clone())),
            );
        tracing::subscriber::set_default(subscriber)
    }

    /// (text, json) captured so far.
    pub fn read(&self) -> (String, String) {
        let read = |b: &Arc<Mutex<Vec<u8>>>| {
            String::from_utf8_lossy(&b.lock().expect("logs")).into_owned()
        };
        (read(&self.text), read(&self.json))
    }
}
