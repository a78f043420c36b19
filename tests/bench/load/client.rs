//! The load generator's client side: plain hyper HTTP/1.1 client connections (one TCP
//! connection per stream, no pool) and a streaming `text/event-stream` event counter.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::shared::BoxError;

/// Counts the events of a `text/event-stream` as its bytes arrive, in any chunking:
/// an event is a block of lines ended by a blank line that holds at least one field
/// line (comments such as keep-alive `: ping` blocks are not events). Lines end in LF,
/// as every server under test writes them.
#[derive(Debug, Default)]
pub struct EventCounter {
    events: u64,
    /// Bytes of the current line seen so far (the line goes on in the next chunk).
    partial_len: usize,
    /// First byte of the current line, when `partial_len > 0`.
    partial_first: u8,
    block_has_field: bool,
    /// The first event's lines, kept for the sanity check.
    first: Option<Vec<u8>>,
    first_done: bool,
}

impl EventCounter {
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The first event's text, once it is complete.
    pub fn first_event(&self) -> Option<&[u8]> {
        self.first.as_deref().filter(|_| self.first_done)
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        if !self.first_done {
            self.first
                .get_or_insert_with(Vec::new)
                .extend_from_slice(bytes);
        }
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', bytes) {
            let line = &bytes[start..nl];
            let (empty, first) = if self.partial_len > 0 {
                (false, self.partial_first)
            } else {
                (line.is_empty(), line.first().copied().unwrap_or(0))
            };
            if empty {
                if self.block_has_field {
                    self.events += 1;
                    if !self.first_done {
                        self.first_done = true;
                        if let Some(first) = &mut self.first {
                            // Keep only the first event's bytes.
                            let end = first.len() - (bytes.len() - nl) + 1;
                            first.truncate(end);
                        }
                    }
                }
                self.block_has_field = false;
            } else if first != b':' {
                self.block_has_field = true;
            }
            self.partial_len = 0;
            start = nl + 1;
        }
        let rest = &bytes[start..];
        if !rest.is_empty() {
            if self.partial_len == 0 {
                self.partial_first = rest[0];
            }
            self.partial_len += rest.len();
        }
    }
}

/// A TCP connection to `addr` with `TCP_NODELAY`, closed with a reset (`SO_LINGER` 0) so
/// that tens of thousands of short connections leave no `TIME_WAIT` behind to exhaust
/// the ephemeral ports; every server is treated the same.
pub async fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    connect_from(addr, None).await
}

/// [`connect`] from the local address `source` (any port), if given: bound before
/// connecting, with `IP_BIND_ADDRESS_NO_PORT` so that the port is picked at connect
/// time, per destination. Each source address of 127/8 brings its own ~28,000
/// ephemeral ports to a given server port.
pub async fn connect_from(
    addr: SocketAddr,
    source: Option<std::net::IpAddr>,
) -> std::io::Result<TcpStream> {
    let tcp = match source {
        None => TcpStream::connect(addr).await?,
        Some(ip) => {
            let socket = if ip.is_ipv4() {
                tokio::net::TcpSocket::new_v4()?
            } else {
                tokio::net::TcpSocket::new_v6()?
            };
            #[cfg(target_os = "linux")]
            {
                use std::os::fd::AsRawFd;
                let on: libc::c_int = 1;
                // SAFETY: setsockopt on an open socket with a c_int option value.
                unsafe {
                    libc::setsockopt(
                        socket.as_raw_fd(),
                        libc::IPPROTO_IP,
                        libc::IP_BIND_ADDRESS_NO_PORT,
                        std::ptr::addr_of!(on).cast(),
                        std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                    );
                }
            }
            socket.bind(SocketAddr::new(ip, 0))?;
            socket.connect(addr).await?
        }
    };
    tcp.set_nodelay(true)?;
    socket2::SockRef::from(&tcp).set_linger(Some(Duration::ZERO))?;
    Ok(tcp)
}

/// What the response to a stream request was.
pub struct Opened {
    pub body: Incoming,
    pub counter: EventCounter,
}

/// Sends `GET path` on a fresh connection. Returns the connection's future (which must be
/// polled for anything to move) and the request's future.
pub async fn handshake(
    addr: SocketAddr,
    path: &str,
) -> Result<
    (
        impl Future<Output = Result<(), hyper::Error>> + Send,
        impl Future<Output = Result<Opened, BoxError>> + Send,
    ),
    BoxError,
> {
    handshake_from(addr, None, path).await
}

/// [`handshake`] over a connection from `source` (see [`connect_from`]).
pub async fn handshake_from(
    addr: SocketAddr,
    source: Option<std::net::IpAddr>,
    path: &str,
) -> Result<
    (
        impl Future<Output = Result<(), hyper::Error>> + Send,
        impl Future<Output = Result<Opened, BoxError>> + Send,
    ),
    BoxError,
> {
    let tcp = connect_from(addr, source).await?;
    let (mut sender, conn) = http1::handshake::<_, Empty<Bytes>>(TokioIo::new(tcp)).await?;
    let request = http::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .header(http::header::ACCEPT, "text/event-stream")
        .body(Empty::new())?;
    let path = path.to_owned();
    let response = async move { Opened::from_response(&path, sender.send_request(request).await?) };
    Ok((conn, response))
}

impl Opened {
    /// The response to `GET path` if it is a stream: status 200, `text/event-stream`.
    fn from_response(path: &str, response: http::Response<Incoming>) -> Result<Self, BoxError> {
        if response.status() != http::StatusCode::OK {
            return Err(format!("{path}: status {}", response.status()).into());
        }
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.starts_with("text/event-stream") {
            return Err(format!("{path}: content-type {content_type:?}").into());
        }
        Ok(Opened {
            body: response.into_body(),
            counter: EventCounter::default(),
        })
    }
}

impl Opened {
    /// Reads until `n` events in all were counted; false if the body ended first.
    pub async fn read_events(&mut self, n: u64) -> Result<bool, BoxError> {
        while self.counter.events() < n {
            match self.body.frame().await {
                Some(frame) => {
                    if let Ok(data) = frame?.into_data() {
                        self.counter.feed(&data);
                    }
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Reads to the end of the body.
    pub async fn read_to_end(&mut self) -> Result<(), BoxError> {
        while let Some(frame) = self.body.frame().await {
            if let Ok(data) = frame?.into_data() {
                self.counter.feed(&data);
            }
        }
        Ok(())
    }
}

/// Runs `work` on a new connection to `addr` requesting `path`, driving the connection in
/// the same task; the connection is closed (reset) when `work` returns.
pub async fn with_stream<T, F, Fut>(addr: SocketAddr, path: &str, work: F) -> Result<T, BoxError>
where
    F: FnOnce(Opened) -> Fut,
    Fut: Future<Output = Result<T, BoxError>>,
{
    let (conn, response) = handshake(addr, path).await?;
    let run = async move { work(response.await?).await };
    tokio::pin!(conn);
    tokio::pin!(run);
    tokio::select! {
        biased;
        result = &mut run => result,
        ended = &mut conn => {
            ended?;
            // The connection finished cleanly (the server closed it after the response):
            // the work sees the end of its body.
            run.await
        }
    }
}

/// Opens a stream of `path` and reads its first event, driving the connection until then.
/// The returned connection future is then left unpolled: the socket stays open, the
/// server's stream stays alive, and the client spends nothing on it.
pub async fn open_and_hold(
    addr: SocketAddr,
    path: &str,
) -> Result<
    (
        impl Future<Output = Result<(), hyper::Error>> + Send,
        Opened,
    ),
    BoxError,
> {
    let (conn, response) = handshake(addr, path).await?;
    let mut conn = Box::pin(conn);
    let first = async move {
        let mut opened = response.await?;
        if !opened.read_events(1).await? {
            return Err(BoxError::from("the stream ended before its first event"));
        }
        Ok(opened)
    };
    tokio::select! {
        biased;
        opened = first => Ok((conn, opened?)),
        ended = &mut conn => Err(match ended {
            Ok(()) => "the connection closed before the first event".into(),
            Err(err) => err.into(),
        }),
    }
}

/// `GET path` on a fresh connection, returning the body as text (any content type).
pub async fn get_text(addr: SocketAddr, path: &str) -> Result<String, BoxError> {
    let tcp = connect(addr).await?;
    let (mut sender, conn) = http1::handshake::<_, Empty<Bytes>>(TokioIo::new(tcp)).await?;
    let request = http::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .body(Empty::new())?;
    let work = async move {
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if status != http::StatusCode::OK {
            return Err(BoxError::from(format!("{path}: status {status}")));
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    };
    tokio::pin!(conn);
    tokio::select! {
        biased;
        result = work => result,
        ended = &mut conn => {
            ended?;
            Err("the connection closed before the response".into())
        }
    }
}

/// Opens a stream of `path` up to its response head, driving the connection until then;
/// the connection future is returned for the caller to keep polling.
pub async fn open_head(
    addr: SocketAddr,
    path: &str,
) -> Result<
    (
        Pin<Box<impl Future<Output = Result<(), hyper::Error>> + Send>>,
        Opened,
    ),
    BoxError,
> {
    open_head_from(addr, None, path).await
}

/// [`open_head`] over a connection from `source` (see [`connect_from`]).
pub async fn open_head_from(
    addr: SocketAddr,
    source: Option<std::net::IpAddr>,
    path: &str,
) -> Result<
    (
        Pin<Box<impl Future<Output = Result<(), hyper::Error>> + Send>>,
        Opened,
    ),
    BoxError,
> {
    let (conn, response) = handshake_from(addr, source, path).await?;
    let mut conn = Box::pin(conn);
    tokio::select! {
        biased;
        opened = response => Ok((conn, opened?)),
        ended = &mut conn => Err(match ended {
            Ok(()) => "the connection closed before the response".into(),
            Err(err) => err.into(),
        }),
    }
}

/// Delivery latencies of the events of a stream: for each complete event, the time of
/// its arrival (wall clock) minus the `"timestamp"` it carries (the time it was
/// published, by the same clock), in milliseconds.
#[derive(Debug, Default)]
pub struct Latencies {
    pending: Vec<u8>,
    pub millis: Vec<f64>,
}

impl Latencies {
    pub fn feed(&mut self, bytes: &[u8]) {
        let now = crate::shared::now();
        self.pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(end) = memchr::memmem::find(&self.pending[start..], b"\n\n") {
            let block = &self.pending[start..start + end];
            if let Some(at) = memchr::memmem::find(block, b"\"timestamp\":") {
                let number = &block[at + 12..];
                let len = number
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'-' | b'+'))
                    .unwrap_or(number.len());
                if let Some(sent) = std::str::from_utf8(&number[..len])
                    .ok()
                    .and_then(|t| t.parse::<f64>().ok())
                {
                    self.millis.push((now - sent) * 1e3);
                }
            }
            start += end + 2;
        }
        self.pending.drain(..start);
    }
}

/// The sending half of an h2c connection.
pub type H2Sender = hyper::client::conn::http2::SendRequest<Empty<Bytes>>;

/// An h2c connection (HTTP/2 with prior knowledge) to `addr` from `source` (see
/// [`connect_from`]), driven by a spawned task that ends when the sender (and its clones)
/// and the last stream's body are dropped, or when the connection fails (every stream
/// then sees the error).
pub async fn h2_connect_from(
    addr: SocketAddr,
    source: Option<std::net::IpAddr>,
) -> Result<H2Sender, BoxError> {
    let tcp = connect_from(addr, source).await?;
    let (sender, conn) =
        hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
            .handshake::<_, Empty<Bytes>>(TokioIo::new(tcp))
            .await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends `GET path` as a new stream of the h2 connection of `sender`, up to its response
/// head (checked as [`handshake`] does).
pub async fn h2_open(
    mut sender: H2Sender,
    addr: SocketAddr,
    path: &str,
) -> Result<Opened, BoxError> {
    let request = http::Request::get(format!("http://{addr}{path}"))
        .header(http::header::ACCEPT, "text/event-stream")
        .body(Empty::new())?;
    sender.ready().await?;
    Opened::from_response(path, sender.send_request(request).await?)
}

/// An h2c connection (HTTP/2 with prior knowledge) to `addr` holding `streams` streams of
/// `GET path`, each read up to its first event; the bodies are returned to be held (the
/// streams stay open while they live), the connection is driven by a spawned task that
/// ends when the last of them and the sender are dropped.
pub async fn open_h2_streams(
    addr: SocketAddr,
    path: &str,
    streams: usize,
) -> Result<Vec<Opened>, BoxError> {
    let sender = h2_connect_from(addr, None).await?;
    let mut opening = Vec::with_capacity(streams);
    for _ in 0..streams {
        let (sender, path) = (sender.clone(), path.to_owned());
        opening.push(tokio::spawn(async move {
            let mut opened = h2_open(sender, addr, &path).await?;
            if !opened.read_events(1).await? {
                return Err(BoxError::from("the stream ended before its first event"));
            }
            Ok(opened)
        }));
    }
    let mut held = Vec::with_capacity(streams);
    for task in opening {
        held.push(task.await??);
    }
    Ok(held)
}
