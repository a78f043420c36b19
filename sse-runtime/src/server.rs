//! The server: accepts TCP connections and serves HTTP/1.1 and HTTP/2 (h2c with prior
//! knowledge) on the same port with hyper-util's auto builder, with graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::app::AppService;
use crate::body::Body;

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
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
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
                let _ = stream.set_nodelay(true);
                let service = service.clone();
                let hyper_service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let service = service.clone();
                    async move {
                        let req = req.map(Body::new);
                        Ok::<_, Infallible>(service.handle(req).await)
                    }
                });
                let conn = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), hyper_service)
                    .into_owned();
                let conn = graceful.watch(conn);
                connections.spawn(async move {
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
