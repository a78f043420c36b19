//! An `EventSource` for Rust (feature `client`, on by default): read a `text/event-stream`
//! from any server, typed, resuming, over HTTP/1.1 or HTTP/2 (TLS with rustls under the
//! `tls` feature).
//!
//! # API in brief
//!
//! ```text
//! Client::new()                              // http:// over HTTP/1.1; cheap to clone, clones share a connection pool
//! Client::builder().http2_prior_knowledge()  // h2c; .tls(Arc<rustls::ClientConfig>) or .tls_root_certificates_pem(pem)?
//!                                            // (feature tls: https://, ALPN h2 then http/1.1); .connect_timeout(d); .build()
//! client.get(url) / client.post(url) / client.request(method, url) -> RequestBuilder
//! RequestBuilder: .header(k, v) .headers(map) .bearer_auth(t) .json(&body) .body(bytes) .repeatable(bool)
//!                 .last_event_id(id) .retry(d) .backoff(Backoff) .max_retries(n) .idle_timeout(d)
//!                 .max_event_size(n) .max_error_body(n)
//!                 .send() -> EventSource                     // lazy: connects on first poll or on open()
//! EventSource: Stream<Item = Result<parse::ParsedEvent, ClientError>>; .open().await -> Result<bool, ClientError>
//!              .last_event_id() .retry() .opens() .requests() .headers(); .json::<T>() -> JsonEvents<T>; .typed::<T>() -> TypedEvents<T>
//! JsonEvents<T>: Stream<Item = Result<T, ClientError>>; TypedEvents<T>: Stream<Item = Result<sse_runtime::Event<T>, ClientError>>
//! ClientError: InvalidRequest | Network | Status(ErrorResponse) | ContentType(ErrorResponse) | TooLarge | GaveUp | Decode
//! ErrorResponse { status, headers, body (bounded), truncated }; ClientError::status() / response()
//! ```
//!
//! ```
//! use futures_util::StreamExt;
//! use sse_runtime::client::Client;
//! use sse_runtime::testing::{Protocol, TestClient};
//! use sse_runtime::{App, ServerSentEvent, Sse};
//!
//! async fn ticks() -> Sse {
//!     Sse::new(futures_util::stream::iter(
//!         (0..3).map(|i| ServerSentEvent::new().data(serde_json::json!({ "tick": i })).id(i.to_string())),
//!     ))
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // Any server will do; here an app of ours on 127.0.0.1:0.
//! let server = TestClient::spawn(App::new().get("/ticks", ticks), Protocol::Http1).await;
//! let url = format!("http://{}/ticks", server.addr().unwrap());
//!
//! #[derive(serde::Deserialize)]
//! struct Tick { tick: u32 }
//!
//! // The stream ends after three events; a GET would reconnect: take what is needed.
//! let mut ticks = Client::new().get(&url).send().json::<Tick>().take(3);
//! let mut seen = Vec::new();
//! while let Some(tick) = ticks.next().await {
//!     seen.push(tick.expect("a tick").tick);
//! }
//! assert_eq!(seen, [0, 1, 2]);
//! # });
//! ```
//!
//! # Reconnection policy
//!
//! | what happens | what the source does |
//! | --- | --- |
//! | 200 with `text/event-stream` (any parameters, any case) | open: events flow |
//! | the stream ends cleanly | reconnect after the backoff, sending `Last-Event-ID` |
//! | a network error (connect, reset, a body error mid-stream) | reconnect after the backoff |
//! | nothing from the server for [`idle_timeout`](RequestBuilder::idle_timeout) (off by default) | as a network error |
//! | 204 No Content | end cleanly (`None`): the server says stop, as the spec says |
//! | any other status (3xx, 4xx, 5xx, 201...) | end with [`ClientError::Status`]: status, headers, body (bounded) |
//! | 200 with another content type (or a `Content-Encoding` it cannot decode) | end with [`ClientError::ContentType`] (same details) |
//! | an event or line above [`max_event_size`](RequestBuilder::max_event_size) | end with [`ClientError::TooLarge`], connection closed |
//! | [`max_retries`](RequestBuilder::max_retries) reconnections in a row without an event | end with [`ClientError::GaveUp`] |
//! | a request that is not [`repeatable`](RequestBuilder::repeatable) (`POST`, `PATCH` by default) | never re-sent: a clean end ends the stream (`None`), a network error ends it with [`ClientError::Network`] |
//! | a bad URL, header or body | first item [`ClientError::InvalidRequest`], nothing sent |
//!
//! An `Err` is the last item of the source, but for [`ClientError::Decode`] from
//! [`json`](EventSource::json) / [`typed`](EventSource::typed), which names the event (type,
//! id) and lets the stream go on. The backoff: the server's `retry:` (initially 3 s) for
//! the first reconnection, doubled for each further one in a row that brought no event,
//! capped at 30 s, plus up to 25 % jitter (see [`Backoff`]). Redirects are not followed.
//! These are the rules of a browser's `EventSource` (which fails on every status but 200,
//! 204 included), measured against Chromium in `docs/conformance.md`, plus the three it
//! lacks: a POST, a bound on memory, a give-up knob.
//!
//! # Compression
//!
//! As a browser, the client offers every coding this build of the crate decodes
//! (`Accept-Encoding: gzip, zstd, br`; `zstd` with the `zstd` feature) unless the request
//! sets its own `accept-encoding`, and decodes a compressed stream chunk by chunk, so that
//! an event shows as soon as its compressed frame arrives (servers that flush per event,
//! as ours with [`Compression`](crate::Compression), allow it).
//!
//! # Resources
//!
//! The source holds one connection at a time and no buffer beyond one body chunk (and, for
//! a compressed stream, what it decodes to, which counts against the bound below), the
//! event being parsed (at most [`max_event_size`](RequestBuilder::max_event_size)) and,
//! for a refused answer, [`max_error_body`](RequestBuilder::max_error_body) bytes (read for
//! at most 5 s).
//! Dropping it closes its HTTP/1.1 connection or resets its HTTP/2 stream, at once: the
//! server sees its client leave. Clones of a [`Client`] share one connection pool
//! (streams to one HTTP/2 server share a connection).
//!
//! Items are the events an `EventSource` dispatches ([`parse::ParsedEvent`](crate::parse::ParsedEvent),
//! re-exported as [`ParsedEvent`]), parsed by the crate's one parser,
//! [`EventParser`](crate::parse::EventParser), which the [test client](crate::testing)
//! uses too.
//!
//! # The `client` feature
//!
//! On by default: it adds no dependency (hyper-util's client, hyper's client side, rustls
//! under `tls` are already in the tree) and little compile time, and a server that relays
//! or watches another stream — the common case of an AI gateway — needs it. Turn it off
//! with `default-features = false` when the app only serves.

mod backoff;
mod connector;
mod error;
mod request;
mod source;
mod typed;

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

pub use backoff::Backoff;
pub use error::{ClientError, ErrorResponse};
pub use request::{RequestBuilder, DEFAULT_MAX_ERROR_BODY, DEFAULT_MAX_EVENT_SIZE};
pub use source::EventSource;
pub use typed::{JsonEvents, TypedEvents};

/// An event as an `EventSource` dispatches it: type, data, id, last event id, retry.
pub use crate::parse::ParsedEvent;

use connector::Connector;

/// Opens event streams; cheap to clone (clones share one connection pool).
///
/// [`Client::new`] speaks HTTP/1.1 over plain TCP; [`Client::builder`] adds HTTP/2 with
/// prior knowledge (h2c), TLS (feature `tls`: ALPN `h2`, then `http/1.1`) and a connect
/// timeout.
#[derive(Clone)]
pub struct Client {
    http: hyper_util::client::legacy::Client<Connector, Full<Bytes>>,
    /// `https` URLs can be reached.
    tls: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("tls", &self.has_tls())
            .finish_non_exhaustive()
    }
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    /// A client for `http` URLs over HTTP/1.1 (connect timeout 10 s).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A client with options.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            http2_prior_knowledge: false,
            connect_timeout: Some(Duration::from_secs(10)),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// A `GET` stream request.
    pub fn get(&self, url: &str) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A `POST` stream request; not re-sent unless marked
    /// [`repeatable`](RequestBuilder::repeatable): its stream ends when its connection
    /// does. The shape of a model API's streamed completion:
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use sse_runtime::client::Client;
    /// use sse_runtime::testing::{Protocol, TestClient};
    /// use sse_runtime::{App, Json, ServerSentEvent, Sse};
    ///
    /// // A stand-in upstream: the prompt back word by word, then `[DONE]`.
    /// async fn complete(Json(body): Json<serde_json::Value>) -> Sse {
    ///     let words: Vec<String> = body["prompt"].as_str().unwrap_or("").split(' ').map(str::to_owned).collect();
    ///     let chunks = words.into_iter().map(|w| ServerSentEvent::new().data(serde_json::json!({ "delta": w })));
    ///     Sse::new(futures_util::stream::iter(chunks.chain([ServerSentEvent::new().raw_data("[DONE]")])))
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let upstream = TestClient::spawn(App::new().post("/v1/complete", complete), Protocol::Http1).await;
    /// let url = format!("http://{}/v1/complete", upstream.addr().unwrap());
    ///
    /// let mut source = Client::new()
    ///     .post(&url)
    ///     .bearer_auth("sk-test")
    ///     .json(&serde_json::json!({ "prompt": "hello stream world" }))
    ///     .send();
    /// let mut text = Vec::new();
    /// while let Some(event) = source.next().await {
    ///     let event = event.expect("no error");
    ///     if event.data == "[DONE]" {
    ///         break;
    ///     }
    ///     let chunk: serde_json::Value = event.json().expect("a JSON chunk");
    ///     text.push(chunk["delta"].as_str().unwrap_or_default().to_owned());
    /// }
    /// assert_eq!(text.join(" "), "hello stream world");
    /// assert_eq!(source.requests(), 1);
    /// # });
    /// ```
    pub fn post(&self, url: &str) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A stream request with any method.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, url)
    }

    fn has_tls(&self) -> bool {
        self.tls
    }
}

/// Options of a [`Client`].
#[derive(Clone, Debug)]
#[must_use = "build the client with `build()`"]
pub struct ClientBuilder {
    http2_prior_knowledge: bool,
    connect_timeout: Option<Duration>,
    #[cfg(feature = "tls")]
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl ClientBuilder {
    /// Speak HTTP/2 from the first byte on plain TCP (h2c, "prior knowledge"), for servers
    /// known to accept it (ours do). Over TLS, HTTP/2 is chosen by ALPN either way.
    pub fn http2_prior_knowledge(mut self) -> Self {
        self.http2_prior_knowledge = true;
        self
    }

    /// The TCP connect timeout (default 10 s; `None`: the OS's).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Reach `https` URLs with this rustls configuration (its root certificates and
    /// client authentication). Its ALPN protocols are replaced by `h2` and `http/1.1` (only
    /// `h2` with [`http2_prior_knowledge`](Self::http2_prior_knowledge)).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Reach `https` URLs trusting the certificates of `pem` (one or more PEM
    /// `CERTIFICATE` blocks: a private CA, or a self-signed server certificate), with
    /// rustls's `ring` provider.
    ///
    /// # Errors
    /// When `pem` holds no certificate or one that does not parse.
    #[cfg(feature = "tls")]
    pub fn tls_root_certificates_pem(self, pem: &[u8]) -> Result<Self, ClientError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert
                .map_err(|err| ClientError::InvalidRequest(format!("root certificate: {err}")))?;
            roots
                .add(cert)
                .map_err(|err| ClientError::InvalidRequest(format!("root certificate: {err}")))?;
        }
        if roots.is_empty() {
            return Err(ClientError::InvalidRequest(
                "no certificate in the PEM text".to_owned(),
            ));
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| ClientError::InvalidRequest(format!("TLS: {err}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(self.tls(std::sync::Arc::new(config)))
    }

    /// The client.
    pub fn build(self) -> Client {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(self.connect_timeout);
        #[cfg(feature = "tls")]
        let tls = self.tls.map(|config| {
            let mut config = (*config).clone();
            config.alpn_protocols = if self.http2_prior_knowledge {
                vec![b"h2".to_vec()]
            } else {
                vec![b"h2".to_vec(), b"http/1.1".to_vec()]
            };
            std::sync::Arc::new(config)
        });
        #[cfg(feature = "tls")]
        let has_tls = tls.is_some();
        #[cfg(not(feature = "tls"))]
        let has_tls = false;
        let connector = Connector::new(
            http,
            #[cfg(feature = "tls")]
            tls,
        );
        let mut builder = hyper_util::client::legacy::Client::builder(TokioExecutor::new());
        builder
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .http2_only(self.http2_prior_knowledge);
        Client {
            http: builder.build(connector),
            tls: has_tls,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spawnable<T: Send + Unpin + 'static>() {}

    #[test]
    fn sources_can_move_into_tasks_and_route_streams() {
        spawnable::<EventSource>();
        spawnable::<JsonEvents<serde_json::Value>>();
        spawnable::<TypedEvents<serde_json::Value>>();
        spawnable::<Client>();
        fn shared<T: Send + Sync>() {}
        shared::<Client>();
        shared::<ClientError>();
    }
}
