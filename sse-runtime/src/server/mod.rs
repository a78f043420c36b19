//! The server: accepts TCP connections and serves HTTP/1.1 and HTTP/2 (h2c with prior
//! knowledge) on the same port, told apart by peeking at a connection's first bytes, with
//! graceful shutdown.

mod coalesce;
pub(crate) mod conn;
mod graceful;
pub(crate) mod idle;

#[cfg(feature = "tls")]
pub(crate) mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::app::limits::Limits;
use crate::app::{App, AppService};
use crate::error::BoxError;
use crate::observability::{OpenConnection, SendTimedOut};
use crate::server::coalesce::Coalesce;
use crate::server::idle::{Activity, TrackedBody};
use crate::stream::body::Body;
use conn::SendTimeout;
use graceful::until_stopped;

/// Why serving failed: the app is misconfigured ([`BuildError`](crate::BuildError)), or
/// binding or accepting failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// The routes are invalid.
    Build(crate::BuildError),
    /// Binding or accepting failed.
    Io(std::io::Error),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Build(err) => write!(f, "invalid app: {err}"),
            ServeError::Io(err) => write!(f, "server I/O error: {err}"),
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServeError::Build(err) => Some(err),
            ServeError::Io(err) => Some(err),
        }
    }
}

impl From<crate::BuildError> for ServeError {
    fn from(err: crate::BuildError) -> Self {
        ServeError::Build(err)
    }
}

impl From<std::io::Error> for ServeError {
    fn from(err: std::io::Error) -> Self {
        ServeError::Io(err)
    }
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM: pass it to
/// [`App::serve_with_shutdown`](crate::App::serve_with_shutdown).
///
/// The signal handlers are installed when this function is called, not when the future
/// is first polled, so a signal that arrives right after start-up (say, right after an
/// app printed its address) already shuts down gracefully. Call it inside the Tokio
/// runtime. If a handler cannot be installed, that signal is ignored (and logged) rather
/// than shutting the server down at once.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let install = |kind: SignalKind, name: &'static str| {
            signal(kind)
                .map_err(|err| tracing::warn!(error = %err, "cannot listen for {name}"))
                .ok()
        };
        let mut interrupt = install(SignalKind::interrupt(), "Ctrl-C");
        let mut terminate = install(SignalKind::terminate(), "SIGTERM");
        async move {
            tokio::select! {
                () = recv(interrupt.as_mut()) => tracing::info!("Ctrl-C received, shutting down"),
                () = recv(terminate.as_mut()) => tracing::info!("SIGTERM received, shutting down"),
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            match tokio::signal::ctrl_c().await {
                Ok(()) => tracing::info!("Ctrl-C received, shutting down"),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for Ctrl-C");
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

/// Waits for `signal`, or forever when it could not be installed.
#[cfg(unix)]
async fn recv(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

// Serving is what an `App` is built for: these `App` methods start the server.
impl App {
    /// Builds the app and serves it on `addr` until Ctrl-C or SIGTERM, then shuts down
    /// gracefully (see [`serve_with_shutdown`](Self::serve_with_shutdown)).
    ///
    /// A misconfigured app fails here, before anything is bound. Once bound, it logs
    /// `listening on http://HOST:PORT` (`tracing`, level `info`).
    ///
    /// ```no_run
    /// use sse_runtime::{get, App};
    ///
    /// #[get("/health")]
    /// async fn health() -> &'static str {
    ///     "ok"
    /// }
    ///
    /// #[tokio::main]
    /// async fn main() -> Result<(), sse_runtime::ServeError> {
    ///     App::new().route(health).serve("127.0.0.1:8000").await
    /// }
    /// ```
    pub async fn serve(self, addr: impl tokio::net::ToSocketAddrs) -> Result<(), ServeError> {
        let service = self.build()?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        serve(service, listener, shutdown_signal()).await?;
        Ok(())
    }

    /// Builds the app and serves it on `listener` until Ctrl-C or SIGTERM, then shuts
    /// down gracefully. Bind the listener yourself to learn the port first (bind port
    /// `0` for a free one):
    ///
    /// ```no_run
    /// # async fn run(app: sse_runtime::App) -> Result<(), Box<dyn std::error::Error>> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// println!("listening on http://{}", listener.local_addr()?);
    /// app.serve_with_listener(listener).await?;
    /// # Ok(()) }
    /// ```
    pub async fn serve_with_listener(
        self,
        listener: tokio::net::TcpListener,
    ) -> Result<(), ServeError> {
        self.serve_with_shutdown(listener, shutdown_signal()).await
    }

    /// Builds the app and serves it on `listener` until `signal` completes, then shuts
    /// down gracefully: stop accepting, end every open stream (its cleanup runs), wait
    /// up to the shutdown grace for connections to finish, drop the rest.
    ///
    /// Pass [`shutdown_signal()`](crate::shutdown_signal) for Ctrl-C and SIGTERM.
    pub async fn serve_with_shutdown(
        self,
        listener: tokio::net::TcpListener,
        signal: impl Future<Output = ()> + Send,
    ) -> Result<(), ServeError> {
        let service = self.build()?;
        serve(service, listener, signal).await?;
        Ok(())
    }

    /// Like [`serve_with_shutdown`](Self::serve_with_shutdown), over TLS: HTTPS with
    /// HTTP/2 and HTTP/1.1 negotiated by ALPN, so browsers multiplex every
    /// `EventSource` of a page over one connection.
    #[cfg(feature = "tls")]
    pub async fn serve_tls(
        self,
        listener: tokio::net::TcpListener,
        tls: crate::server::tls::TlsConfig,
        signal: impl Future<Output = ()> + Send,
    ) -> Result<(), ServeError> {
        let service = self.build()?;
        serve_tls(service, listener, &tls, signal).await?;
        Ok(())
    }
}

/// Serves `service` on `listener` until `signal` completes, then shuts down gracefully.
pub(crate) async fn serve(
    service: AppService,
    listener: TcpListener,
    signal: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_with(service, listener, None, signal).await
}

/// Serves HTTPS: every connection's TLS handshake (bounded by the header read timeout)
/// negotiates `h2` or `http/1.1` by ALPN.
#[cfg(feature = "tls")]
pub(crate) async fn serve_tls(
    service: AppService,
    listener: TcpListener,
    tls: &crate::server::tls::TlsConfig,
    signal: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_with(service, listener, Some(Arc::new(tls.acceptor())), signal).await
}

#[cfg(feature = "tls")]
type Acceptor = tokio_rustls::TlsAcceptor;
#[cfg(not(feature = "tls"))]
type Acceptor = std::convert::Infallible;

async fn serve_with(
    service: AppService,
    listener: TcpListener,
    tls: Option<Arc<Acceptor>>,
    signal: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let limits = service.limits().clone();
    let builders = Arc::new(Builders::new(&limits));
    // Tells every connection to finish what is in flight and close.
    let stopping = CancellationToken::new();
    let mut connections = JoinSet::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    if let Ok(addr) = listener.local_addr() {
        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!("listening on {scheme}://{addr} (HTTP/1.1 and HTTP/2)");
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
                let open = OpenConnection::new();
                let io = SendTimeout::new(stream, limits.send_timeout, limits.min_send_rate);
                let timed_out = io.timed_out();
                let service = service.clone();
                let builders = Arc::clone(&builders);
                let stopping = stopping.clone();
                let handshake_timeout = limits.header_read_timeout;
                match tls.clone() {
                    None => {
                        // The task is this future itself: an `async` block awaiting it (or
                        // taking its arguments) would keep a second copy of it (of them)
                        // for the connection's lifetime.
                        connections.spawn(serve_plain(
                            (slot, open), peer, builders, io, service, stopping, handshake_timeout, timed_out,
                        ));
                    }
                    #[cfg(feature = "tls")]
                    Some(acceptor) => {
                        connections.spawn(async move {
                            let _slot = slot;
                            let _open = open;
                            let result = match tokio::time::timeout(handshake_timeout, acceptor.accept(io)).await {
                                Ok(Ok(io)) => serve_tls_connection(&builders, io, service, stopping, timed_out).await,
                                Ok(Err(err)) => {
                                    tracing::debug!(%peer, error = %err, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!(%peer, "TLS handshake timed out");
                                    return;
                                }
                            };
                            if let Err(err) = result {
                                tracing::debug!(%peer, error = %err, "connection ended with an error");
                            }
                        });
                    }
                    #[cfg(not(feature = "tls"))]
                    Some(never) => {
                        let _ = (slot, open, io, service, stopping, builders, handshake_timeout, timed_out);
                        match *never {}
                    }
                }
            }
        }
    }

    drop(listener);
    tracing::info!(
        open_connections = connections.len(),
        "shutting down: no longer accepting, ending open streams"
    );
    service.shutdown_streams();
    stopping.cancel();
    let grace = service.shutdown_grace();
    let drained = tokio::time::timeout(grace, async {
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

/// Serves one TLS connection with the protocol ALPN chose (`h2`, else HTTP/1.1) until it
/// ends, or until graceful shutdown closes it.
#[cfg(feature = "tls")]
async fn serve_tls_connection(
    builders: &Builders,
    io: tokio_rustls::server::TlsStream<SendTimeout<TcpStream>>,
    service: AppService,
    stopping: CancellationToken,
    timed_out: SendTimedOut,
) -> Result<(), BoxError> {
    let h2 = io.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    if h2 {
        Box::pin(serve_h2(builders, io, service, stopping, timed_out)).await
    } else {
        let conn = builders
            .http1
            .serve_connection(TokioIo::new(io), hyper_service(service, timed_out));
        Ok(until_stopped(conn, stopping, |conn| conn.graceful_shutdown()).await?)
    }
}

/// Serves one plain-TCP connection until it ends, or until graceful shutdown closes it.
/// A client that has not sent enough to tell its protocol within `sniff_timeout` (the
/// header read timeout) is disconnected: one that sends nothing, and one that stops
/// inside the HTTP/2 preface.
#[allow(clippy::too_many_arguments)]
async fn serve_plain(
    _guards: (tokio::sync::OwnedSemaphorePermit, OpenConnection),
    peer: std::net::SocketAddr,
    builders: Arc<Builders>,
    io: SendTimeout<TcpStream>,
    service: AppService,
    stopping: CancellationToken,
    sniff_timeout: Duration,
    timed_out: SendTimedOut,
) {
    let result: Result<(), BoxError> = 'serve: {
        let protocol = match tokio::time::timeout(sniff_timeout, sniff(io.get_ref())).await {
            Ok(Ok(Some(protocol))) => protocol,
            // Closed before sending anything.
            Ok(Ok(None)) => break 'serve Ok(()),
            Ok(Err(err)) => break 'serve Err(err.into()),
            Err(_) => {
                tracing::debug!(
                    timeout = ?sniff_timeout,
                    "client sent no request within the header read timeout"
                );
                break 'serve Ok(());
            }
        };
        // Only HTTP/1.1 is served inline: HTTP/2 is boxed, so that every connection's task
        // is sized for HTTP/1.1's state, not for the larger HTTP/2 one.
        match protocol {
            Protocol::Http1 => {
                let conn = builders
                    .http1
                    .serve_connection(TokioIo::new(io), hyper_service(service, timed_out));
                until_stopped(conn, stopping, |conn| conn.graceful_shutdown())
                    .await
                    .map_err(Into::into)
            }
            Protocol::Http2 => {
                Box::pin(serve_h2(&builders, io, service, stopping, timed_out)).await
            }
        }
    };
    if let Err(err) = result {
        tracing::debug!(%peer, error = %err, "connection ended with an error");
    }
}

/// Serves one HTTP/2 connection until it ends. It is closed gracefully (`GOAWAY`, open
/// streams finish) on shutdown, or once no request has been open on it for the idle
/// timeout: hyper would keep an idle HTTP/2 connection forever, and each one holds a
/// connection slot.
async fn serve_h2<IO>(
    builders: &Builders,
    io: IO,
    service: AppService,
    stopping: CancellationToken,
    timed_out: SendTimedOut,
) -> Result<(), BoxError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::default());
    let conn = builders.http2.serve_connection(
        TokioIo::new(Coalesce::new(io)),
        tracked_service(service, Arc::clone(&activity), timed_out.clone()),
    );
    tokio::pin!(conn);
    let idle_timeout = builders.idle_timeout;
    let idle = tokio::select! {
        result = conn.as_mut() => return Ok(result?),
        () = stopping.cancelled() => false,
        () = activity.idle_for(idle_timeout) => true,
        () = activity.stalled_for(builders.send_timeout) => {
            // The send timeout, for HTTP/2 flow control: a stream's window stayed closed.
            tracing::info!(
                timeout = ?builders.send_timeout,
                "client kept an HTTP/2 flow-control window closed: send timeout"
            );
            timed_out.set();
            return Ok(());
        }
    };
    conn.as_mut().graceful_shutdown();
    if !idle {
        // Shutdown: open streams finish; the server's grace period bounds the wait.
        return Ok(conn.await?);
    }
    tracing::debug!(timeout = ?idle_timeout, "closing an idle HTTP/2 connection");
    // After the GOAWAY, hyper waits for the client's answer to a PING before it closes:
    // a client that never answers is dropped once idle for another timeout.
    tokio::select! {
        result = conn.as_mut() => Ok(result?),
        () = activity.idle_for(idle_timeout) => Ok(()),
    }
}

/// The HTTP/2 connection preface (RFC 9113, section 3.4).
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum Protocol {
    Http1,
    Http2,
}

/// Tells HTTP/1.1 from HTTP/2 with prior knowledge by peeking at the first bytes, which
/// stay in the socket: hyper then reads the request itself into its usual 8 KiB buffer.
/// (hyper-util's auto builder reads them out and replays them, which makes hyper grow
/// that buffer to 16 KiB on every connection, about 8 KiB more resident memory per open
/// stream; and it waits for the rest of a partial preface without any timeout.)
///
/// `None`: the client closed without sending anything. While the bytes so far are a
/// proper prefix of the preface (a client that splits it, rare; or one that stalls), it
/// peeks again after a growing pause (1 ms up to 100 ms: a peek returns at once while
/// any byte is there, so waiting for readiness would spin). The caller bounds the whole
/// wait with the header read timeout.
async fn sniff(stream: &TcpStream) -> std::io::Result<Option<Protocol>> {
    let mut first = [0u8; H2_PREFACE.len()];
    let mut pause = Duration::from_millis(1);
    loop {
        let n = stream.peek(&mut first).await?;
        if n == 0 {
            return Ok(None);
        }
        if first[..n] != H2_PREFACE[..n] {
            return Ok(Some(Protocol::Http1));
        }
        if n == H2_PREFACE.len() {
            return Ok(Some(Protocol::Http2));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// The app as a hyper service; its streams end as `send_timeout` once `timed_out` is set.
fn hyper_service(
    service: AppService,
    timed_out: SendTimedOut,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = crate::Response,
    Error = Infallible,
    Future = impl Future<Output = Result<crate::Response, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let response = handle_boxed(&service, req, &timed_out);
        async move { Ok::<_, Infallible>(response.await) }
    })
}

/// The app's answer to `req`, boxed: hyper keeps the allocation of a connection's
/// in-flight request future for as long as the connection lives, so boxing ours leaves
/// only a pointer there and frees the ~2 KiB state machine once the response is produced.
fn handle_boxed(
    service: &AppService,
    req: hyper::Request<Incoming>,
    timed_out: &SendTimedOut,
) -> Pin<Box<dyn Future<Output = crate::Response> + Send>> {
    let service = service.clone();
    let timed_out = timed_out.clone();
    Box::pin(async move {
        let mut response = service.handle(req.map(Body::new)).await;
        response.body_mut().set_send_timed_out(timed_out);
        response
    })
}

/// The app as a hyper service whose requests count as open on `activity` until their
/// response body is dropped (HTTP/2, for the idle timeout).
fn tracked_service(
    service: AppService,
    activity: Arc<Activity>,
    timed_out: SendTimedOut,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = http::Response<TrackedBody>,
    Error = Infallible,
    Future = impl Future<Output = Result<http::Response<TrackedBody>, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let active = activity.start();
        let response = handle_boxed(&service, req, &timed_out);
        async move {
            let response = response.await;
            Ok::<_, Infallible>(response.map(|body| TrackedBody::new(body, active)))
        }
    })
}

/// hyper's connection builders, with `limits` applied.
struct Builders {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
    /// How long an HTTP/2 connection may stay without an open request.
    idle_timeout: Duration,
    /// How long an HTTP/2 response body may wait for send capacity (flow control).
    send_timeout: Option<Duration>,
}

impl Builders {
    fn new(limits: &Limits) -> Self {
        let mut http1 = http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_buf_size(limits.max_header_bytes.max(8192))
            .max_headers(limits.max_headers);
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(limits.h2_max_concurrent_streams)
            .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
            .max_pending_accept_reset_streams(Some(limits.h2_max_pending_accept_reset_streams))
            .max_local_error_reset_streams(Some(limits.h2_max_local_error_reset_streams))
            .max_send_buf_size(
                limits
                    .h2_max_send_buf_size
                    .min(usize::try_from(u32::MAX).unwrap_or(usize::MAX)),
            )
            .keep_alive_interval(limits.h2_keep_alive_interval)
            .keep_alive_timeout(limits.h2_keep_alive_timeout);
        Self {
            http1,
            http2,
            idle_timeout: limits.idle_timeout,
            send_timeout: limits.send_timeout,
        }
    }
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
