//! Connections are bounded: silent, trickling and idle keep-alive sockets are closed after the
//! header-read timeout, the connection cap keeps the process within its descriptors, `/healthz`
//! keeps answering through all of it, and answers say `Connection: close` while draining.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::test_app::{TestApp, TestDb};

/// Well past every timeout in the test configuration; reaching it fails the test.
const BOUND: Duration = Duration::from_secs(15);

async fn spawn() -> TestApp {
    TestApp::spawn_with(TestDb::sqlite(), |c| {
        c.http.header_read_timeout_secs = 1;
        c.http.idle_timeout_secs = 2;
        c.http.max_connections = 40;
    })
    .await
}

/// Reads until the server closes the socket; how long that took from `opened`.
async fn closed_after(mut socket: TcpStream, opened: Instant) -> Duration {
    let mut sink = Vec::new();
    match tokio::time::timeout(BOUND, socket.read_to_end(&mut sink)).await {
        Ok(_eof_or_reset) => opened.elapsed(),
        Err(_) => panic!("the server kept a socket open for {BOUND:?}"),
    }
}

/// A client that sends a request head one byte at a time and never finishes it.
async fn trickle(app: &TestApp) -> tokio::task::JoinHandle<Duration> {
    let socket = TcpStream::connect(app.address).await.unwrap();
    let opened = Instant::now();
    tokio::spawn(async move {
        let (mut reader, mut writer) = socket.into_split();
        let writing = tokio::spawn(async move {
            for byte in b"GET /healthz HTTP/1.1\r\nHost: trickle\r\nX-Slow: "
                .iter()
                .cycle()
            {
                if writer.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let mut sink = Vec::new();
        let read = tokio::time::timeout(BOUND, reader.read_to_end(&mut sink)).await;
        writing.abort();
        assert!(
            read.is_ok(),
            "a trickling socket was still open after {BOUND:?}"
        );
        opened.elapsed()
    })
}

#[tokio::test]
async fn silent_trickling_and_idle_sockets_are_closed_and_healthz_still_answers() {
    let app = spawn().await;
    let mut silent = Vec::new();
    for _ in 0..40 {
        silent.push((
            TcpStream::connect(app.address).await.unwrap(),
            Instant::now(),
        ));
    }
    let mut trickling = Vec::new();
    for _ in 0..20 {
        trickling.push(trickle(&app).await);
    }
    // 60 sockets against a cap of 40: /healthz waits at most for the first header timeouts.
    let started = Instant::now();
    let health = tokio::time::timeout(BOUND, app.get("/healthz"))
        .await
        .expect("/healthz answers while slow sockets are open");
    assert_eq!(health.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A keep-alive connection that goes quiet after one request.
    let mut idle = TcpStream::connect(app.address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: idle\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 512];
    let n = tokio::time::timeout(BOUND, idle.read(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    let idle_since = Instant::now();

    for (socket, opened) in silent {
        let after = closed_after(socket, opened).await;
        assert!(
            after >= Duration::from_millis(900),
            "closed too early: {after:?}"
        );
    }
    for task in trickling {
        let after = task.await.unwrap();
        assert!(
            after >= Duration::from_millis(900),
            "closed too early: {after:?}"
        );
    }
    let after = closed_after(idle, idle_since).await;
    assert!(
        after < Duration::from_secs(5),
        "idle keep-alive closed after {after:?}"
    );
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_connection_stalled_in_its_body_is_closed_after_the_idle_timeout() {
    let app = TestApp::spawn_with(TestDb::sqlite(), |c| {
        c.http.header_read_timeout_secs = 1;
        c.http.idle_timeout_secs = 1;
        c.http.request_timeout_secs = 30;
        c.salesforce.inbound_token = campaign_sync::config::Secret::new("t");
    })
    .await;
    let mut socket = TcpStream::connect(app.address).await.unwrap();
    socket
        .write_all(
            b"POST /v1/salesforce/outbound-messages?token=t HTTP/1.1\r\nHost: stall\r\n\
              Content-Type: text/xml\r\nContent-Length: 100\r\n\r\n<",
        )
        .await
        .unwrap();
    // With the right token the receiver reads the whole body, so only the idle timeout (not
    // the 30 s request timeout) can end this.
    let after = closed_after(socket, Instant::now()).await;
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(10),
        "closed after {after:?}, not after the idle 1 s"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn answers_say_connection_close_while_draining() {
    let app = TestApp::spawn_with(TestDb::sqlite(), |c| c.http.drain_delay_secs = 3).await;
    let before = app.get("/healthz").await;
    assert!(before.headers().get("connection").is_none());
    app.shutdown.cancel();
    let deadline = Instant::now() + BOUND;
    loop {
        let response = app.get("/healthz").await;
        if response.headers().get("connection").map(|v| v.as_bytes()) == Some(b"close") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no Connection: close during the drain"
        );
        tokio::task::yield_now().await;
    }
    app.stop().await.unwrap();
}
