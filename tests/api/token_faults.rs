//! Token endpoints that misbehave: a 200 without `access_token` and a 429 are retryable with a
//! floor under the back-off, for both connectors, never the end of a change.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use campaign_sync::config::{MarketoConfig, SalesforceConfig};
use campaign_sync::connectors::CallError;
use campaign_sync::connectors::marketo::MarketoClient;
use campaign_sync::connectors::salesforce::SalesforceClient;

/// A server whose token endpoints answer `status` with `body`.
async fn token_server(status: StatusCode, body: &'static str) -> String {
    let answer = move || async move { (status, body) };
    let app = Router::new()
        .route("/services/oauth2/token", post(answer))
        .route("/identity/oauth/token", get(answer).post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn retried_with_a_floor(result: Result<impl std::fmt::Debug, CallError>) {
    match result {
        Err(CallError::Retry {
            after: Some(after), ..
        }) => assert!(after >= Duration::from_secs(10), "{after:?}"),
        other => panic!("expected a retry with a back-off floor, got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_answer_without_a_token_or_a_429_is_retried_for_both_connectors() {
    let cases = [
        (
            StatusCode::OK,
            r#"{"token_type":"bearer","expires_in":3599}"#,
        ),
        (StatusCode::OK, "<html>maintenance</html>"),
        (StatusCode::TOO_MANY_REQUESTS, r#"{"error":"rate"}"#),
    ];
    for (status, body) in cases {
        let url = token_server(status, body).await;
        let marketo = MarketoClient::new(&MarketoConfig {
            base_url: url.clone(),
            ..MarketoConfig::default()
        })
        .expect("client");
        retried_with_a_floor(marketo.program(1001).await);
        let salesforce = SalesforceClient::new(&SalesforceConfig {
            login_url: url,
            ..SalesforceConfig::default()
        })
        .expect("client");
        retried_with_a_floor(salesforce.query("SELECT Id FROM Campaign").await);
    }
}
