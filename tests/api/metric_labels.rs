//! Label values a sender chooses stay bounded: every method HTTP does not define counts as
//! `other`, so a client cannot add series to `/metrics` (they are kept for good).

use std::io::{Read, Write};

use crate::test_app::TestApp;

#[tokio::test]
async fn a_made_up_method_is_counted_as_other() {
    let app = TestApp::spawn().await;
    let address = app.address;
    tokio::task::spawn_blocking(move || {
        for method in ["QWERTYMETHOD", "ZXCVBMETHOD"] {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            let request = format!(
                "{method} /v1/marketo/webhooks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).unwrap();
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
        }
    })
    .await
    .unwrap();
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(!text.contains("METHOD\""), "{text}");
    assert!(
        text.contains("method=\"other\",route=\"/v1/marketo/webhooks\",status=\"405\""),
        "{text}"
    );
}
