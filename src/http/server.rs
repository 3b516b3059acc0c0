//! The HTTP/1.1 server: an accept loop over hyper so every connection is bounded — a header-read
//! timeout, an idle timeout, a cap on connections served at once — and a graceful stop that lets
//! in-flight requests finish. (`axum::serve` has no header timeout, so a silent or trickling
//! client held a socket for ever.)

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::config::HttpConfig;

/// Pause after a failed `accept` (out of file descriptors, say) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// File descriptors kept for the store, the API clients and logs when the cap is derived.
const RESERVED_DESCRIPTORS: usize = 128;
/// The cap when the open-file limit cannot be read.
const DEFAULT_CONNECTIONS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl ConnectionLimits {
    pub fn from_config(http: &HttpConfig) -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(http.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(http.idle_timeout_secs),
            max_connections: match http.max_connections {
                0 => connection_cap(open_file_limit()),
                set => set,
            },
        }
    }
}

/// The derived cap: the open-file limit less what the rest of the process needs, so accepting
/// never runs the process out of descriptors (which is what stopped `/healthz` answering).
pub fn connection_cap(open_file_limit: Option<usize>) -> usize {
    match open_file_limit {
        Some(limit) => limit.saturating_sub(RESERVED_DESCRIPTORS).max(64),
        None => DEFAULT_CONNECTIONS,
    }
}

/// The soft "Max open files" of this process (Linux), read without `unsafe`.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Serves `router` on `listener` until `stop` resolves; then stops accepting, asks every
/// connection to close after its in-flight request, and returns once they all have. `name`
/// (`public`, `admin`) tells the listeners apart in the log.
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let closing = CancellationToken::new();
    let mut connections = JoinSet::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let address = listener
        .local_addr()
        .map_or_else(|_| "unknown".to_string(), |a| a.to_string());
    tracing::info!(
        listener = name,
        address,
        max_connections = limits.max_connections,
        header_read_timeout_secs = limits.header_read_timeout.as_secs(),
        idle_timeout_secs = limits.idle_timeout.as_secs(),
        "serving HTTP/1.1 on the {name} listener"
    );
    tokio::pin!(stop);
    loop {
        // At the cap, new connections wait in the listen backlog until one closes.
        let permit = tokio::select! {
            biased;
            () = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed; backing off");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service =
            router
                .clone()
                .map_request(move |mut request: axum::http::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                });
        let activity = Activity::new();
        let io = TokioIo::new(Watched {
            stream,
            activity: activity.clone(),
        });
        let conn = http.serve_connection(io, TowerToHyperService::new(service));
        let closing = closing.clone();
        let idle = limits.idle_timeout;
        connections.spawn(async move {
            let _permit = permit;
            let _open = OpenConnection::count();
            tokio::pin!(conn);
            let mut asked_to_close = false;
            let ended = loop {
                tokio::select! {
                    result = conn.as_mut() => break ending(result, peer),
                    () = closing.cancelled(), if !asked_to_close => {
                        conn.as_mut().graceful_shutdown();
                        asked_to_close = true;
                    }
                    () = activity.idle_for(idle) => {
                        tracing::debug!(%peer, idle_secs = idle.as_secs(), "closing an idle connection");
                        break "idle";
                    }
                }
            };
            metrics::counter!("http_connections_closed_total", "reason" => ended).increment(1);
        });
    }
    drop(listener);
    closing.cancel();
    while connections.join_next().await.is_some() {}
}

/// Why a connection ended, as the `reason` label of `http_connections_closed_total`.
fn ending(result: Result<(), hyper::Error>, peer: std::net::SocketAddr) -> &'static str {
    let Err(error) = result else {
        return "closed";
    };
    tracing::debug!(%error, %peer, "connection ended with an error");
    if error.is_timeout() {
        "header_timeout"
    } else if error.is_parse() || error.is_parse_too_large() {
        "bad_request"
    } else {
        "error"
    }
}

/// Keeps the `http_open_connections` gauge while a connection is served.
struct OpenConnection;

impl OpenConnection {
    fn count() -> Self {
        metrics::gauge!("http_open_connections").increment(1.0);
        OpenConnection
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!("http_open_connections").decrement(1.0);
    }
}

/// When a connection last moved a byte either way.
#[derive(Clone)]
struct Activity {
    opened: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let elapsed = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(elapsed, Ordering::Relaxed);
    }

    /// Resolves once nothing has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A TCP stream that notes every byte read or written.
struct Watched {
    stream: TcpStream,
    activity: Activity,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_cap_leaves_room_for_the_rest_of_the_process() {
        assert_eq!(connection_cap(Some(1024)), 896);
        assert_eq!(connection_cap(Some(100)), 64);
        assert_eq!(connection_cap(None), DEFAULT_CONNECTIONS);
    }

    #[tokio::test(start_paused = true)]
    async fn idleness_is_measured_from_the_last_byte() {
        let activity = Activity::new();
        tokio::time::advance(Duration::from_secs(5)).await;
        activity.touch();
        let started = Instant::now();
        activity.idle_for(Duration::from_secs(10)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }
}
