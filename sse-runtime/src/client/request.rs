//! [`RequestBuilder`]: the request an [`EventSource`] makes, and how it reconnects.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Method, Uri};
use serde::Serialize;

use super::backoff::Backoff;
use super::source::{EventSource, Template};
use super::Client;

/// The default [`max_event_size`](RequestBuilder::max_event_size): 8 MiB.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 8 << 20;
/// The default [`max_error_body`](RequestBuilder::max_error_body): 64 KiB.
pub const DEFAULT_MAX_ERROR_BODY: usize = 64 << 10;

/// A stream request being built: method, URL, headers, body, and the reconnection policy.
/// [`send`](Self::send) turns it into an [`EventSource`].
///
/// Made by [`Client::get`], [`Client::post`] or [`Client::request`]. A mistake (a bad URL,
/// header or JSON body) is not a panic: the source's first item is
/// [`ClientError::InvalidRequest`](super::ClientError::InvalidRequest).
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder {
    client: Client,
    method: Method,
    uri: Result<Uri, String>,
    headers: HeaderMap,
    body: Bytes,
    repeatable: Option<bool>,
    last_event_id: String,
    backoff: Backoff,
    max_retries: Option<u32>,
    max_event_size: usize,
    max_error_body: usize,
    idle_timeout: Option<Duration>,
    error: Option<String>,
}

impl std::fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .field("repeatable", &self.is_repeatable())
            .field("last_event_id", &self.last_event_id)
            .field("backoff", &self.backoff)
            .field("max_retries", &self.max_retries)
            .field("max_event_size", &self.max_event_size)
            .field("max_error_body", &self.max_error_body)
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl RequestBuilder {
    pub(super) fn new(client: Client, method: Method, url: &str) -> Self {
        let uri = url
            .parse::<Uri>()
            .map_err(|err| format!("invalid URL `{url}`: {err}"))
            .and_then(|uri| match uri.scheme_str() {
                Some("http" | "https") if uri.host().is_some() => Ok(uri),
                _ => Err(format!("`{url}` is not an absolute http(s) URL")),
            });
        Self {
            client,
            method,
            uri,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            repeatable: None,
            last_event_id: String::new(),
            backoff: Backoff::new(),
            max_retries: None,
            max_event_size: DEFAULT_MAX_EVENT_SIZE,
            max_error_body: DEFAULT_MAX_ERROR_BODY,
            idle_timeout: None,
            error: None,
        }
    }

    /// Adds a header (sent on every connection). `accept: text/event-stream`,
    /// `cache-control: no-cache` and `accept-encoding` (the codings the client decodes)
    /// are sent unless set here; `last-event-id` is the source's
    /// to send (see [`last_event_id`](Self::last_event_id)).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => self.fail(format!("invalid header `{name}: {value}`")),
        }
        self
    }

    /// Adds every header of `headers`.
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        for (name, value) in headers {
            if let Some(name) = name {
                self.headers.append(name, value);
            }
        }
        self
    }

    /// Sets `authorization: Bearer {token}`.
    pub fn bearer_auth(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Sets a JSON body and `content-type: application/json`.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                self.body = bytes.into();
                self.headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            Err(err) => self.fail(format!("the JSON body does not serialize: {err}")),
        }
        self
    }

    /// Sets a raw body (set its `content-type` with [`header`](Self::header)).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Whether the request may be sent again to reconnect. By default, `GET`, `HEAD`,
    /// `OPTIONS`, `PUT` and `DELETE` may (they are idempotent) and `POST` and `PATCH` may
    /// not: such a stream ends when its connection does (cleanly after a clean end, with
    /// [`ClientError::Network`](super::ClientError::Network) after a failure). Mark a
    /// `POST` `repeatable(true)` when sending it twice is harmless (a subscription with
    /// its filters in the body, say); `Last-Event-ID` is sent with it, as with a `GET`.
    pub fn repeatable(mut self, repeatable: bool) -> Self {
        self.repeatable = Some(repeatable);
        self
    }

    /// The last event id to resume from: sent as `Last-Event-ID` on the first connection
    /// too (default: none). The source then tracks the id the server sends.
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        if id.contains(['\0', '\r', '\n']) {
            self.fail(format!("invalid last event id {id:?}"));
        } else {
            self.last_event_id = id;
        }
        self
    }

    /// The reconnection time until the server sends `retry:` (default 3 s, as browsers).
    /// Shorthand for `backoff(backoff.initial(delay))`.
    pub fn retry(mut self, delay: Duration) -> Self {
        self.backoff = self.backoff.initial(delay);
        self
    }

    /// The whole backoff: reconnection time, cap, jitter (see [`Backoff`]).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Gives up after `retries` reconnections in a row that brought no event, with
    /// [`ClientError::GaveUp`](super::ClientError::GaveUp) (default: never gives up, as an
    /// `EventSource`). `max_retries(0)` never reconnects.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// The largest event (or line) the source accepts, in bytes (default 8 MiB). A larger
    /// one ends the stream with [`ClientError::TooLarge`](super::ClientError::TooLarge)
    /// and closes the connection: the source never buffers more than this plus one body
    /// chunk.
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes.max(1);
        self
    }

    /// How much of the body of a refused answer (a non-200 status, a wrong content type)
    /// is kept in the error, in bytes (default 64 KiB); the rest is not read.
    pub fn max_error_body(mut self, bytes: usize) -> Self {
        self.max_error_body = bytes;
        self
    }

    /// Counts a connection as lost when the server sends nothing for `timeout`: no
    /// response head, or no body bytes (events or keep-alive comments) once open. The source
    /// then reconnects by the policy (a non-repeatable request ends with
    /// [`ClientError::Network`](super::ClientError::Network)). Default: none, as browsers;
    /// set it above the server's keep-alive interval (ours: 15 s) to notice a peer that
    /// vanished without closing the connection.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// The event source: connects on its first poll (or on
    /// [`open`](EventSource::open)), and reconnects by the policy set here.
    pub fn send(self) -> EventSource {
        let repeatable = self.is_repeatable();
        let template = match (self.error, self.uri) {
            (Some(err), _) | (None, Err(err)) => Err(err),
            (None, Ok(uri)) if uri.scheme_str() == Some("https") && !self.client.has_tls() => {
                Err(format!(
                    "`{uri}`: https URLs need a client with TLS (feature `tls`, \
                     `Client::builder().tls(config)`)"
                ))
            }
            (None, Ok(uri)) => Ok(Template {
                method: self.method,
                uri,
                headers: self.headers,
                body: self.body,
            }),
        };
        EventSource::new(super::source::Config {
            client: self.client,
            template,
            repeatable,
            last_event_id: self.last_event_id,
            backoff: self.backoff,
            max_retries: self.max_retries,
            max_event_size: self.max_event_size,
            max_error_body: self.max_error_body,
            idle_timeout: self.idle_timeout,
        })
    }

    fn is_repeatable(&self) -> bool {
        self.repeatable.unwrap_or(matches!(
            self.method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
        ))
    }

    fn fail(&mut self, why: String) {
        if self.error.is_none() {
            self.error = Some(why);
        }
    }
}
