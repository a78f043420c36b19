//! A test client: the same request API in process (no socket) or against a real server on
//! `127.0.0.1:0` over HTTP/1.1 or HTTP/2.
//!
//! ```
//! use futures_util::StreamExt;
//! use sse_runtime::{App, Sse, testing::TestClient};
//!
//! async fn ticks() -> Sse {
//!     Sse::new(futures_util::stream::iter(0..).map(|i| serde_json::json!({ "tick": i })))
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = TestClient::new(App::new().get("/ticks", ticks));
//! let response = client.get("/ticks").send().await;
//! assert_eq!(response.status(), 200);
//! // An endless stream: take what the test needs.
//! let events: Vec<_> = response.events().take(3).collect().await;
//! assert_eq!(events[2].data, r#"{"tick":2}"#);
//! # });
//! ```

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::app::AppService;
pub use crate::app::IntoAppService;
use crate::event::parse::{EventParser, Frame, ParsedEvent};
use crate::response::Request;
use crate::stream::body::Body;
use crate::stream::compress::Decoder;

/// Sends requests to an app, in process or over a socket.
#[derive(Clone, Debug)]
pub struct TestClient {
    target: Target,
}

#[derive(Clone, Debug)]
enum Target {
    InProcess(AppService),
    Remote(std::sync::Arc<Remote>),
}

#[derive(Debug)]
struct Remote {
    addr: SocketAddr,
    http2: bool,
    /// Stops the server [`TestClient::spawn`] started; `None` for a server the test runs.
    stop: Option<CancellationToken>,
    service: AppService,
}

impl Drop for Remote {
    fn drop(&mut self) {
        if let Some(stop) = &self.stop {
            stop.cancel();
        }
    }
}

/// HTTP version for a client of a real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1.
    Http1,
    /// HTTP/2 over cleartext with prior knowledge (h2c).
    Http2,
}

impl TestClient {
    /// A client that calls the app in process: same router, extractors and response
    /// code as a server, no socket.
    ///
    /// # Panics
    /// If `app` is an [`App`](crate::App) whose routes are invalid.
    pub fn new(app: impl IntoAppService) -> Self {
        Self {
            target: Target::InProcess(app.into_app_service()),
        }
    }

    /// Starts a real server for `app` on `127.0.0.1:0` and returns a client that talks to
    /// it over TCP with `protocol`. The server stops (gracefully) when the last clone of
    /// the client is dropped.
    ///
    /// # Panics
    /// If the app's routes are invalid or no loopback port can be bound.
    pub async fn spawn(app: impl IntoAppService, protocol: Protocol) -> Self {
        let service = app.into_app_service();
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(err) => panic!("cannot bind 127.0.0.1:0 for a test server: {err}"),
        };
        let addr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(err) => panic!("test server has no local address: {err}"),
        };
        let stop = CancellationToken::new();
        let signal = stop.clone().cancelled_owned();
        tokio::spawn(crate::server::serve(service.clone(), listener, signal));
        Self {
            target: Target::Remote(std::sync::Arc::new(Remote {
                addr,
                http2: protocol == Protocol::Http2,
                stop: Some(stop),
                service,
            })),
        }
    }

    /// A client of a server the test started itself at `addr`, speaking `protocol`,
    /// that serves `service`: mounted in an axum `Router`, say, or behind tower layers
    /// of its own. Request paths are the server's, prefix included.
    ///
    /// [`shutdown`](Self::shutdown) cannot stop that server: it ends `service`'s open
    /// streams, as the server's own shutdown should.
    ///
    /// ```
    /// use sse_runtime::testing::{Protocol, TestClient};
    /// use sse_runtime::App;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let app = App::new().get("/health", || async { "ok" }).build().expect("valid routes");
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// // Any server: here a bare hyper connection, calling the app as a tower service.
    /// let served = app.clone();
    /// let service = hyper::service::service_fn(move |req| {
    ///     tower::ServiceExt::oneshot(served.clone(), req)
    /// });
    /// tokio::spawn(async move {
    ///     let (stream, _) = listener.accept().await.unwrap();
    ///     let io = hyper_util::rt::TokioIo::new(stream);
    ///     let _ = hyper::server::conn::http1::Builder::new()
    ///         .serve_connection(io, service)
    ///         .await;
    /// });
    /// let client = TestClient::connect(addr, Protocol::Http1, app);
    /// assert_eq!(client.get("/health").send().await.text().await, "ok");
    /// # });
    /// ```
    pub fn connect(addr: SocketAddr, protocol: Protocol, service: impl IntoAppService) -> Self {
        Self {
            target: Target::Remote(std::sync::Arc::new(Remote {
                addr,
                http2: protocol == Protocol::Http2,
                stop: None,
                service: service.into_app_service(),
            })),
        }
    }

    /// The server's address, for a client made with [`spawn`](Self::spawn).
    pub fn addr(&self) -> Option<SocketAddr> {
        match &self.target {
            Target::InProcess(_) => None,
            Target::Remote(remote) => Some(remote.addr),
        }
    }

    /// The app under test.
    pub fn service(&self) -> &AppService {
        match &self.target {
            Target::InProcess(service) => service,
            Target::Remote(remote) => &remote.service,
        }
    }

    /// Stops a spawned server gracefully (open streams end, their cleanup runs); for an
    /// in-process or [connected](Self::connect) client, ends the app's open streams.
    pub fn shutdown(&self) {
        match &self.target {
            Target::InProcess(service) => service.shutdown_streams(),
            Target::Remote(remote) => match &remote.stop {
                Some(stop) => stop.cancel(),
                None => remote.service.shutdown_streams(),
            },
        }
    }

    /// A request with any method.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            method,
            path: path.to_owned(),
            query: None,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            error: None,
        }
    }

    /// A `GET` request.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// A `HEAD` request.
    pub fn head(&self, path: &str) -> RequestBuilder {
        self.request(Method::HEAD, path)
    }

    /// A `POST` request.
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    /// A `PUT` request.
    pub fn put(&self, path: &str) -> RequestBuilder {
        self.request(Method::PUT, path)
    }

    /// A `PATCH` request.
    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }

    /// A `DELETE` request.
    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }
}

/// A request being built; [`send`](Self::send) it.
#[must_use = "a request does nothing until it is sent"]
#[derive(Debug)]
pub struct RequestBuilder {
    client: TestClient,
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
    error: Option<String>,
}

impl RequestBuilder {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => self.error = Some(format!("invalid header `{name}: {value}`")),
        }
        self
    }

    /// Appends a query string serialized from `query` (a struct or a list of pairs).
    pub fn query<T: Serialize + ?Sized>(mut self, query: &T) -> Self {
        match serde_urlencoded::to_string(query) {
            Ok(text) => self.query = Some(text),
            Err(err) => self.error = Some(format!("query failed to serialize: {err}")),
        }
        self
    }

    /// Sets a JSON body and `content-type: application/json`.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                self.body = bytes.into();
                self.headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            Err(err) => self.error = Some(format!("JSON body failed to serialize: {err}")),
        }
        self
    }

    /// Sets a raw body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends the request and waits for the response head.
    ///
    /// # Panics
    /// On a malformed request built by the test, or when the server cannot be reached.
    pub async fn send(self) -> TestResponse {
        if let Some(err) = self.error {
            panic!("test request is malformed: {err}");
        }
        let uri = match &self.query {
            Some(query) if self.path.contains('?') => format!("{}&{query}", self.path),
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        };
        match &self.client.target {
            Target::InProcess(service) => {
                let mut req = Request::new(Body::from(self.body));
                *req.method_mut() = self.method;
                *req.uri_mut() = match uri.parse() {
                    Ok(uri) => uri,
                    Err(err) => panic!("invalid test URI `{uri}`: {err}"),
                };
                *req.headers_mut() = self.headers;
                let response = service.handle(req).await;
                let (parts, body) = response.into_parts();
                TestResponse {
                    status: parts.status,
                    headers: parts.headers,
                    body,
                    connection: None,
                }
            }
            Target::Remote(remote) => {
                send_remote(remote, self.method, &uri, self.headers, self.body).await
            }
        }
    }
}

async fn send_remote(
    remote: &Remote,
    method: Method,
    uri: &str,
    headers: HeaderMap,
    body: Bytes,
) -> TestResponse {
    let stream = match tokio::net::TcpStream::connect(remote.addr).await {
        Ok(stream) => stream,
        Err(err) => panic!(
            "cannot connect to the test server at {}: {err}",
            remote.addr
        ),
    };
    let io = TokioIo::new(stream);
    let mut req = http::Request::new(http_body_util::Full::new(body));
    *req.method_mut() = method;
    *req.headers_mut() = headers;
    let authority = remote.addr.to_string();
    let (response, connection) = if remote.http2 {
        *req.uri_mut() = match format!("http://{authority}{uri}").parse() {
            Ok(uri) => uri,
            Err(err) => panic!("invalid test URI `{uri}`: {err}"),
        };
        let (mut sender, conn) =
            match hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await {
                Ok(pair) => pair,
                Err(err) => panic!("HTTP/2 handshake with the test server failed: {err}"),
            };
        let connection = tokio::spawn(async move {
            let _ = conn.await;
        });
        (sender.send_request(req).await, connection)
    } else {
        *req.uri_mut() = match uri.parse() {
            Ok(uri) => uri,
            Err(err) => panic!("invalid test URI `{uri}`: {err}"),
        };
        if let Ok(host) = HeaderValue::from_str(&authority) {
            req.headers_mut().insert(http::header::HOST, host);
        }
        let (mut sender, conn) = match hyper::client::conn::http1::handshake(io).await {
            Ok(pair) => pair,
            Err(err) => panic!("HTTP/1.1 handshake with the test server failed: {err}"),
        };
        let connection = tokio::spawn(async move {
            let _ = conn.await;
        });
        (sender.send_request(req).await, connection)
    };
    let response = match response {
        Ok(response) => response,
        Err(err) => panic!("request to the test server failed: {err}"),
    };
    let (parts, body) = response.into_parts();
    TestResponse {
        status: parts.status,
        headers: parts.headers,
        body: Body::new(body),
        connection: Some(ConnectionGuard(connection)),
    }
}

/// Closes the client's connection when the response is dropped.
struct ConnectionGuard(JoinHandle<()>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A response: status and headers at once, the body as text, JSON or parsed events.
/// Dropping it (or its event stream) closes the connection, as a client going away would.
///
/// A body with a `Content-Encoding` (gzip, br, zstd: a request that sent
/// `Accept-Encoding` to an app with [`Compression`](crate::Compression)) is decoded chunk
/// by chunk as it arrives, as a browser does, for everything but [`chunks`](Self::chunks);
/// an event shows only once its compressed frame was flushed.
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
    connection: Option<ConnectionGuard>,
}

impl std::fmt::Debug for TestResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl TestResponse {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header as text, if present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a `200` event stream with the headers that keep proxies and browsers from
    /// buffering or caching it: `content-type: text/event-stream; charset=utf-8`,
    /// `cache-control: no-cache`, `x-accel-buffering: no`.
    ///
    /// ```
    /// use sse_runtime::testing::TestClient;
    /// use sse_runtime::{get, App, Stream};
    ///
    /// #[get("/ticks", sse)]
    /// async fn ticks() -> impl Stream<Item = u32> {
    ///     futures_util::stream::iter([1, 2, 3])
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let response = TestClient::new(App::new().route(ticks)).get("/ticks").send().await;
    /// response.assert_event_stream();
    /// assert_eq!(response.text().await, "data: 1\n\ndata: 2\n\ndata: 3\n\n");
    /// # });
    /// ```
    ///
    /// # Panics
    /// When the status or one of those headers differs, saying which.
    #[track_caller]
    pub fn assert_event_stream(&self) {
        assert_eq!(self.status, StatusCode::OK, "status of an event stream");
        for (name, value) in [
            ("content-type", "text/event-stream; charset=utf-8"),
            ("cache-control", "no-cache"),
            ("x-accel-buffering", "no"),
        ] {
            assert_eq!(
                self.header(name),
                Some(value),
                "`{name}` of an event stream"
            );
        }
    }

    /// The whole body. Waits for the stream to end: use [`events`](Self::events) for an
    /// endless one.
    ///
    /// # Panics
    /// If reading the body fails.
    pub async fn bytes(self) -> Bytes {
        let decoder = self.decoder();
        let bytes = match self.body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(err) => panic!("reading the response body failed: {err}"),
        };
        match decoder {
            Some(mut decoder) => match decoder.feed(&bytes) {
                Ok(decoded) => decoded.into(),
                Err(err) => panic!("the compressed response body does not decode: {err}"),
            },
            None => bytes,
        }
    }

    /// A decoder for the body's `Content-Encoding` (gzip, br, zstd), if it has one.
    fn decoder(&self) -> Option<Decoder> {
        self.header("content-encoding").and_then(Decoder::new)
    }

    /// The whole body as text (lossy UTF-8).
    pub async fn text(self) -> String {
        String::from_utf8_lossy(&self.bytes().await).into_owned()
    }

    /// The whole body as JSON.
    ///
    /// # Panics
    /// If the body is not JSON of type `T`.
    pub async fn json<T: DeserializeOwned>(self) -> T {
        let bytes = self.bytes().await;
        match serde_json::from_slice(&bytes) {
            Ok(value) => value,
            Err(err) => panic!(
                "response body is not the expected JSON ({err}): {}",
                String::from_utf8_lossy(&bytes)
            ),
        }
    }

    /// The events an `EventSource` would dispatch, as they arrive.
    pub fn events(self) -> Events {
        Events {
            reader: self.into_reader(),
        }
    }

    /// Every block of the stream as sent, keep-alive comments included.
    pub fn frames(self) -> Frames {
        Frames {
            reader: self.into_reader(),
        }
    }

    /// The body's chunks as they arrive (each is one write by the server, or part of one),
    /// as sent: still compressed if the response has a `Content-Encoding`.
    pub fn chunks(self) -> Chunks {
        Chunks {
            body: self.body,
            _connection: self.connection,
        }
    }

    fn into_reader(self) -> Reader {
        Reader {
            decoder: self.decoder(),
            body: self.body,
            parser: EventParser::new(),
            ended: false,
            _connection: self.connection,
        }
    }
}

struct Reader {
    body: Body,
    /// Decodes a compressed body chunk by chunk, as a browser does.
    decoder: Option<Decoder>,
    parser: EventParser,
    ended: bool,
    _connection: Option<ConnectionGuard>,
}

impl Reader {
    /// Feeds body chunks to the parser until `take` yields something or the body ends.
    fn poll_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut take: impl FnMut(&mut EventParser) -> Option<T>,
    ) -> Poll<Option<T>> {
        loop {
            if let Some(item) = take(&mut self.parser) {
                return Poll::Ready(Some(item));
            }
            if self.ended {
                return Poll::Ready(None);
            }
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        match self.decoder.as_mut().map(|d| d.feed(&data)) {
                            None => self.parser.feed(&data),
                            Some(Ok(decoded)) => self.parser.feed(&decoded),
                            Some(Err(err)) => {
                                panic!("the compressed response body does not decode: {err}")
                            }
                        }
                    }
                }
                Poll::Ready(Some(Err(err))) => {
                    tracing::debug!(error = %err, "test response body ended with an error");
                    self.ended = true;
                }
                Poll::Ready(None) => self.ended = true,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The dispatched events of a response (see [`TestResponse::events`]).
pub struct Events {
    reader: Reader,
}

impl Events {
    /// The last event id seen so far (what a reconnecting client would send).
    pub fn last_event_id(&self) -> &str {
        self.reader.parser.last_event_id()
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("last_event_id", &self.last_event_id())
            .finish_non_exhaustive()
    }
}

impl Stream for Events {
    type Item = ParsedEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ParsedEvent>> {
        self.get_mut().reader.poll_with(cx, EventParser::next_event)
    }
}

/// Every block of a response (see [`TestResponse::frames`]).
pub struct Frames {
    reader: Reader,
}

impl std::fmt::Debug for Frames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frames").finish_non_exhaustive()
    }
}

impl Stream for Frames {
    type Item = Frame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        self.get_mut().reader.poll_with(cx, EventParser::next_frame)
    }
}

/// The raw body chunks of a response (see [`TestResponse::chunks`]).
pub struct Chunks {
    body: Body,
    _connection: Option<ConnectionGuard>,
}

impl std::fmt::Debug for Chunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunks")
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

impl Stream for Chunks {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let this = self.get_mut();
        loop {
            match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        return Poll::Ready(Some(data));
                    }
                }
                Poll::Ready(Some(Err(_)) | None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
