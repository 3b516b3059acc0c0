//! Bad bodies: 400 naming the field, 413 over the limit, and nothing stored either way.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{PATH, TOKEN, json, post, spawn, spawn_with, stored};
use crate::test_app::TestDb;

#[tokio::test]
async fn each_bad_body_is_400_naming_the_field_and_nothing_is_stored() {
    let app = spawn().await;
    let campaign = "701000000000001AAA";
    let cases: Vec<(String, Value)> = vec![
        ("{\"leadId\": ".into(), Value::Null),
        ("".into(), Value::Null),
        ("[\"leadId\", 1]".into(), Value::Null),
        (r#"{"programId": "1001"}"#.into(), "leadId".into()),
        (r#"{"leadId": "", "programId": "1001"}"#.into(), "leadId".into()),
        (r#"{"leadId": "4x", "programId": "1001"}"#.into(), "leadId".into()),
        (r#"{"leadId": "42"}"#.into(), "programId".into()),
        (r#"{"leadId": "42", "programId": -1}"#.into(), "programId".into()),
        (r#"{"action": "unsubscribe", "leadId": "42"}"#.into(), "action".into()),
        (r#"{"action": 3, "leadId": "42"}"#.into(), "action".into()),
        (r#"{"action": "remove_from_campaign", "leadId": "42"}"#.into(), "campaignId".into()),
        (
            r#"{"action": "remove_from_campaign", "leadId": "42", "campaignId": "00Q000000000001AAA"}"#.into(),
            "campaignId".into(),
        ),
        (
            format!(r#"{{"action": "add_to_campaign", "leadId": "42", "campaignId": "{campaign}"}}"#),
            "status".into(),
        ),
        (
            format!(r#"{{"action": "change_campaign_status", "leadId": "42", "campaignId": "{campaign}", "status": ""}}"#),
            "status".into(),
        ),
        (
            format!(r#"{{"action": "add_to_campaign", "campaignId": "{campaign}", "status": "Sent"}}"#),
            "leadId".into(),
        ),
        // One field given twice names two people (or two statuses): refused, not the last.
        (r#"{"leadId": "42", "programId": "1001", "leadId": "43"}"#.into(), "leadId".into()),
        (
            format!(r#"{{"action": "", "leadId": "42", "campaignId": "{campaign}", "status": "Sent"}}"#),
            "action".into(),
        ),
    ];
    for (body, field) in cases {
        let response = post(&app, body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        let error = json(response).await;
        assert_eq!(error["error"]["code"], "bad_request", "{body}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    assert!(stored(&app).await.is_empty());
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_413() {
    let app = spawn_with(TestDb::sqlite(), |c| c.http.body_limit_bytes = 1024).await;
    let body = format!(
        r#"{{"leadId": "1", "programId": "2", "pad": "{}"}}"#,
        "x".repeat(2000)
    );
    let response = post(&app, body).await;
    assert_eq!(response.status(), 413);
    assert!(stored(&app).await.is_empty());
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_with_a_json_error() {
    let app = spawn_with(TestDb::sqlite(), |c| c.http.body_limit_bytes = 1024).await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {TOKEN}\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("200\r\n{}\r\n", "x".repeat(0x200));
    for _ in 0..4 {
        // The server may answer and close before the last chunk; that is the point.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("answer in time")
        .ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":"too_large""#), "{answer}");
    assert!(stored(&app).await.is_empty());
}

#[tokio::test]
async fn a_store_failure_answers_503_and_acknowledges_nothing() {
    for db in crate::test_app::TestDb::all().await {
        let app = super::spawn_with(db, |_| {}).await;
        app.store.execute_raw("DROP TABLE signals").await.unwrap();
        let response = super::post(&app, r#"{"leadId": "7", "programId": "1001"}"#).await;
        assert_eq!(response.status(), 503);
        let body = super::json(response).await;
        assert_eq!(body["error"]["code"], "unavailable");
    }
}

/// Marketo's webhooks are not compressed: a compressed body is 415 naming the coding, not 400
/// "not valid JSON", and nothing is stored.
#[tokio::test]
async fn a_compressed_body_is_415_naming_its_coding() {
    let app = spawn().await;
    let response = app
        .client
        .post(app.url(PATH))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-encoding", "gzip")
        .body(r#"{"leadId": "42", "programId": "1001"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 415);
    let body = json(response).await;
    assert_eq!(body["error"]["code"], "unsupported_media_type", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("\"gzip\"") && message.contains("uncompressed"),
        "{message}"
    );
    assert!(stored(&app).await.is_empty());
}

/// `encoding` given twice in the webhook's URL, or in another case (`Encoding=url`), is refused
/// naming it, as a field given twice is: which one decoded the body was a guess, and a name in
/// another case was read as none, the body taken as JSON and its URL-encoded values stored
/// undecoded.
#[tokio::test]
async fn an_encoding_given_twice_or_in_another_case_is_refused() {
    let app = spawn().await;
    for query in ["encoding=url&encoding=json", "Encoding=url"] {
        let response = app
            .client
            .post(app.url(&format!("{PATH}?{query}")))
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(r#"{"leadId": "42", "programId": "1001"}"#)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 400, "{query}");
        let body = json(response).await;
        assert_eq!(body["error"]["field"], "encoding", "{query}: {body}");
    }
    assert!(stored(&app).await.is_empty());
}

/// An address still URL-encoded after the decoding the URL asks for was encoded twice: the
/// refusal says so, rather than to add the `?encoding` the URL has.
#[tokio::test]
async fn an_address_encoded_twice_is_named_as_such() {
    let app = spawn().await;
    let send = |query: &'static str, body: &'static str| {
        app.client
            .post(app.url(&format!("{PATH}{query}")))
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(body)
            .send()
    };
    let plain = send(
        "",
        r#"{"leadId": "42", "programId": "1001", "email": "a%40b.com"}"#,
    );
    let body = json(plain.await.unwrap()).await;
    let message = body["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("add ?encoding=url"), "{message}");
    let twice = send(
        "?encoding=url",
        r#"{"leadId": "42", "programId": "1001", "email": "a%2540b.com"}"#,
    );
    let twice = twice.await.unwrap();
    assert_eq!(twice.status(), 400);
    let body = json(twice).await;
    let message = body["error"]["message"].as_str().unwrap();
    assert_eq!(body["error"]["field"], "email", "{body}");
    assert!(
        message.contains("encoded twice") && !message.contains("add ?encoding"),
        "{message}"
    );
    assert!(stored(&app).await.is_empty());
}

/// A `Content-Encoding` header set to nothing names no coding: the body is read as it is.
#[tokio::test]
async fn an_empty_content_encoding_is_no_coding() {
    let app = spawn().await;
    let response = app
        .client
        .post(app.url(PATH))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-encoding", "")
        .body(r#"{"leadId": "42", "programId": "1001"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 202);
    assert_eq!(stored(&app).await.len(), 1);
}
