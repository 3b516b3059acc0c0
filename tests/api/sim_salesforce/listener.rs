//! A tiny outbound-message listener for the tests: scripted replies, every request kept.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;

pub const ACK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Body>
    <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">
      <Ack>true</Ack>
    </notificationsResponse>
  </soapenv:Body>
</soapenv:Envelope>"#;

/// A listener that answers its scripted replies in turn (the last one forever) and keeps every
/// request it got.
#[derive(Clone, Default)]
pub struct Listener {
    replies: Arc<Mutex<Vec<String>>>,
    pub received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

impl Listener {
    pub async fn start(replies: &[&str]) -> (Listener, String) {
        let listener = Listener {
            replies: Arc::new(Mutex::new(
                replies.iter().rev().map(|r| (*r).to_owned()).collect(),
            )),
            ..Listener::default()
        };
        let app = Router::new()
            .route("/om", post(reply))
            .with_state(listener.clone());
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "http://{}/om?token=secret",
            socket.local_addr().expect("addr")
        );
        tokio::spawn(async move { axum::serve(socket, app).await });
        (listener, url)
    }

    pub fn bodies(&self) -> Vec<String> {
        self.received
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, body)| body.clone())
            .collect()
    }
}

async fn reply(State(listener): State<Listener>, headers: HeaderMap, body: String) -> String {
    listener
        .received
        .lock()
        .expect("lock")
        .push((headers, body));
    let mut replies = listener.replies.lock().expect("lock");
    if replies.len() > 1 {
        replies.pop().unwrap_or_default()
    } else {
        replies.last().cloned().unwrap_or_default()
    }
}
