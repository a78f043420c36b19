//! The server: accepts TCP connections and serves HTTP/1.1 and HTTP/2 (h2c with prior
//! knowledge) on the same port with hyper-util's auto builder, with graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use std::sync::Arc;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::app::AppService;
use crate::body::Body;
use crate::conn::{self, SendTimeout};
use crate::limits::Limits;

/// Why serving failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The routes are invalid.
    Build(crate::BuildError),
    /// Binding or accepting failed.
    Io(std::io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Build(err) => write!(f, "invalid app: {err}"),
            Error::Io(err) => write!(f, "server I/O error: {err}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Build(err) => Some(err),
            Error::Io(err) => Some(err),
        }
    }
}

impl From<crate::BuildError> for Error {
    fn from(err: crate::BuildError) -> Self {
        Error::Build(err)
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::Io(err)
    }
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM: pass it to
/// [`App::serve_with_shutdown`](crate::App::serve_with_shutdown).
///
/// If a signal handler cannot be installed, that signal is ignored (and logged) rather
/// than shutting the server down at once.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

/// Serves `service` on `listener` until `signal` completes, then shuts down gracefully.
pub(crate) async fn serve(
    service: AppService,
    listener: TcpListener,
    signal: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let limits = service.limits().clone();
    let builder = connection_builder(&limits);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving HTTP/1.1 and HTTP/2");
    }
    tokio::pin!(signal);

    loop {
        tokio::select! {
            () = &mut signal => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors and the like: wait, never spin or exit.
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                    tracing::warn!(%peer, max = limits.max_connections, "connection limit reached, answering 503");
                    connections.spawn(refuse(stream));
                    continue;
                };
                conn::configure(&stream, &limits);
                let service = service.clone();
                let hyper_service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let service = service.clone();
                    async move {
                        let req = req.map(Body::new);
                        Ok::<_, Infallible>(service.handle(req).await)
                    }
                });
                let conn = builder
                    .serve_connection_with_upgrades(
                        TokioIo::new(SendTimeout::new(stream, limits.send_timeout)),
                        hyper_service,
                    )
                    .into_owned();
                let conn = graceful.watch(conn);
                connections.spawn(async move {
                    let _slot = slot;
                    if let Err(err) = conn.await {
                        tracing::debug!(%peer, error = %err, "connection ended with an error");
                    }
                });
            }
        }
    }

    drop(listener);
    tracing::info!(
        open_connections = connections.len(),
        "shutting down: no longer accepting, ending open streams"
    );
    service.shutdown_streams();
    let grace = service.shutdown_grace();
    let drained = tokio::time::timeout(grace, async {
        graceful.shutdown().await;
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = connections.len(),
            "shutdown grace elapsed, dropping the remaining connections"
        );
    }
    connections.shutdown().await;
    Ok(())
}

/// hyper-util's auto builder (HTTP/1.1 and h2c on one port) with `limits` applied.
fn connection_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_headers(limits.max_headers);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.h2_max_concurrent_streams)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_pending_accept_reset_streams(Some(20))
        .max_local_error_reset_streams(Some(1024));
    builder
}

/// Answers a connection over the limit with 503 and closes it, without reading it.
async fn refuse(mut stream: TcpStream) {
    const BODY: &str = r#"{"detail":"Service Unavailable: too many connections"}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
