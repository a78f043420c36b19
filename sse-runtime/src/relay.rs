//! Relays (feature `client`): an upstream event stream, read with the
//! [client](crate::client), re-emitted by a route — [`relay`], and the HTTP status an
//! upstream failure becomes ([`From<ClientError> for HttpError`](#mapping)).
//!
//! A route that returns `Sse::try_new(relay(upstream, transform))` (or yields from the
//! upstream in a generator, using `?` on its items) gets three things from the engine
//! under every streaming route:
//!
//! - **An upstream failure before its first event is a real HTTP status downstream**: the
//!   response headers wait for the first item (the app's
//!   [first-event window](crate::App::first_event_window), 10 s by default), so the
//!   upstream's refusal — mapped as the table below says — is the status of the response,
//!   with a JSON body in the app's [error shape](crate::App::error_body). After the first
//!   event it is one `event: error`, and the stream ends.
//! - **A downstream disconnect cancels the upstream request**, also while the route still
//!   waits for the upstream's answer or first event: the server drops the route's stream,
//!   which drops the [`EventSource`](crate::client::EventSource), which closes its
//!   connection (HTTP/1.1) or resets its stream (HTTP/2). Measured through real TCP
//!   connections (`tests/it/relay.rs`), the upstream reads its connection's end about
//!   1 ms after the downstream client closed its own (docs/guide.md, "Consuming and
//!   relaying streams", has the figures and the command).
//! - **Each upstream event is re-emitted as it arrives**: nothing is buffered between the
//!   two; the relay adds well under a millisecond per event (same section).
//!
//! # Mapping
//!
//! `HttpError::from(ClientError)` (so `?` in a generator) and [`relay`] answer a failed
//! upstream with:
//!
//! | upstream | downstream status | `code` in the detail |
//! | --- | --- | --- |
//! | cannot be reached (connect error, refused), or its connection broke (reset, a body cut short), and the client does not reconnect or ran out of retries | 502 | `upstream_connection_failed` |
//! | did not answer in time (a connect or I/O timeout) | 504 | `upstream_timeout` |
//! | 401, 403 (the relay's own credentials were refused) | 502 | `upstream_unauthorized` |
//! | 404 | 502 | `upstream_not_found` |
//! | 408, 504 | 504 | `upstream_timeout` |
//! | 429 | 429 (the upstream's `retry-after`, if any, in the detail) | `upstream_rate_limited` |
//! | 503 | 503 | `upstream_unavailable` |
//! | another status (4xx, 5xx, 3xx: redirects are not followed) | 502 | `upstream_error` |
//! | 200 but not `text/event-stream` | 502 | `upstream_not_an_event_stream` |
//! | an event larger than the client's `max_event_size` | 502 | `upstream_event_too_large` |
//! | an event whose data did not decode (`json::<T>()`, `typed::<T>()`) | 502 | `upstream_bad_event` |
//! | the relay's own request is invalid (a bad URL or header) | 500 | `relay_invalid_request` |
//!
//! The detail is structured — `{"message": "the upstream answered 401 Unauthorized",
//! "code": "upstream_unauthorized", "upstream_status": 401}` — and never carries the
//! upstream's body or the network error's text, which may hold what the downstream client
//! must not see (a key's prefix, an internal address); [`relay`] logs them (`warn`). A
//! gateway that forwards its client's request as it is may rather pass some upstream
//! statuses through (a `400` for a prompt that is too long): match on
//! [`ClientError::status`] first, as `examples/llm_gateway.rs` does.

use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use http::StatusCode;
use serde_json::{json, Value};

use crate::client::ClientError;
use crate::response::http_error::HttpError;

/// An upstream stream re-emitted: each `Ok` item through `transform` (`None` skips it),
/// the first `Err` (an upstream failure, mapped as the [module docs](self#mapping) say,
/// and logged with its details, or the transform's own error) as the last item.
///
/// `upstream` is any stream of `Result<_, ClientError>`: an
/// [`EventSource`](crate::client::EventSource) (raw events), or its
/// [`json`](crate::client::EventSource::json) / [`typed`](crate::client::EventSource::typed)
/// views. It is polled only when the route's stream is, so a slow downstream slows the
/// upstream read (TCP backpressure, no buffer in between), and dropped with it.
///
/// ```
/// use futures_util::StreamExt;
/// use sse_runtime::client::{Client, ParsedEvent};
/// use sse_runtime::relay::relay;
/// use sse_runtime::testing::{Protocol, TestClient};
/// use sse_runtime::{App, HttpError, ServerSentEvent, Sse, State, StatusCode};
///
/// /// The upstream: three events, then the end.
/// async fn numbers() -> Sse {
///     Sse::new(futures_util::stream::iter(
///         (1..=3).map(|n| ServerSentEvent::new().raw_data(n.to_string())),
///     ))
/// }
///
/// /// The relay: each upstream number, doubled.
/// async fn doubled(State(url): State<String>) -> Sse {
///     let upstream = Client::new().post(&url).send(); // a POST is not re-sent
///     Sse::try_new(relay(upstream, |event: ParsedEvent| {
///         let n: u32 = match event.data.parse() {
///             Ok(n) => n,
///             Err(_) => return Some(Err(HttpError::new(StatusCode::BAD_GATEWAY, "not a number"))),
///         };
///         Some(Ok(ServerSentEvent::new().raw_data((2 * n).to_string())))
///     }))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let upstream = TestClient::spawn(App::new().post("/numbers", numbers), Protocol::Http1).await;
/// let url = format!("http://{}/numbers", upstream.addr().unwrap());
/// let app = App::new().state(url).get("/doubled", doubled);
/// let events: Vec<_> = TestClient::new(app).get("/doubled").send().await.events().collect().await;
/// let data: Vec<_> = events.iter().map(|e| e.data.as_str()).collect();
/// assert_eq!(data, ["2", "4", "6"]);
///
/// // An upstream that refuses: a real status downstream.
/// let app = App::new().state("http://127.0.0.1:9/nothing".to_owned()).get("/doubled", doubled);
/// let response = TestClient::new(app).get("/doubled").send().await;
/// assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
/// # });
/// ```
pub fn relay<S, U, T, F>(upstream: S, transform: F) -> Relay<S, F>
where
    S: Stream<Item = Result<U, ClientError>> + Unpin,
    F: FnMut(U) -> Option<Result<T, HttpError>>,
{
    Relay {
        upstream: Some(upstream),
        transform,
    }
}

/// The stream [`relay`] returns: `Result<T, HttpError>` items, ending after the first
/// `Err`. Dropping it drops the upstream (its connection closes).
#[must_use = "a relay does nothing unless polled (return it from a route)"]
pub struct Relay<S, F> {
    /// `None` once it ended: the upstream is dropped (its connection closed) at once.
    upstream: Option<S>,
    transform: F,
}

impl<S, F> fmt::Debug for Relay<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("upstream", &std::any::type_name::<S>())
            .field("ended", &self.upstream.is_none())
            .finish_non_exhaustive()
    }
}

impl<S, U, T, F> Stream for Relay<S, F>
where
    S: Stream<Item = Result<U, ClientError>> + Unpin,
    F: FnMut(U) -> Option<Result<T, HttpError>> + Unpin,
{
    type Item = Result<T, HttpError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            let Some(upstream) = this.upstream.as_mut() else {
                return Poll::Ready(None);
            };
            let item = match ready!(Pin::new(upstream).poll_next(cx)) {
                None => None,
                Some(Ok(item)) => match (this.transform)(item) {
                    None => continue,
                    Some(item) => Some(item),
                },
                Some(Err(err)) => {
                    log(&err);
                    Some(Err(HttpError::from(err)))
                }
            };
            if !matches!(item, Some(Ok(_))) {
                this.upstream = None;
            }
            return Poll::Ready(item);
        }
    }
}

/// Logs what the mapped error leaves out: the upstream's body, the network error.
fn log(err: &ClientError) {
    match err.response() {
        Some(response) => {
            let body = response.text();
            let cut = body
                .char_indices()
                .nth(500)
                .map_or(body.len(), |(at, _)| at);
            tracing::warn!(
                upstream_status = response.status.as_u16(),
                upstream_body = &body[..cut],
                "relay: the upstream refused the stream"
            );
        }
        None => tracing::warn!(error = %err, "relay: the upstream stream failed"),
    }
}

/// The detail of a mapped upstream failure.
fn detail(message: String, code: &str, upstream_status: Option<StatusCode>) -> Value {
    let mut detail = json!({ "message": message, "code": code });
    if let Some(status) = upstream_status {
        detail["upstream_status"] = status.as_u16().into();
    }
    detail
}

/// Whether an I/O timeout is somewhere in `err`'s chain of sources.
fn timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        current = err.source();
    }
    false
}

/// The upstream's failure as the relay's answer: the status and code of the
/// [mapping](self#mapping), a structured detail without the upstream's body.
impl From<ClientError> for HttpError {
    fn from(err: ClientError) -> Self {
        let gateway = StatusCode::BAD_GATEWAY;
        let (status, detail) = match &err {
            ClientError::Status(response) => {
                let upstream = response.status;
                let said = format!("the upstream answered {upstream}");
                let (status, code) = match upstream.as_u16() {
                    401 | 403 => (gateway, "upstream_unauthorized"),
                    404 => (gateway, "upstream_not_found"),
                    408 | 504 => (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout"),
                    429 => (StatusCode::TOO_MANY_REQUESTS, "upstream_rate_limited"),
                    503 => (StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable"),
                    _ => (gateway, "upstream_error"),
                };
                let mut detail = detail(said, code, Some(upstream));
                if let Some(after) = response
                    .headers
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                {
                    detail["retry_after"] = after.into();
                }
                (status, detail)
            }
            ClientError::ContentType(response) => (
                gateway,
                detail(
                    format!(
                        "the upstream answered {} with content type {:?}, not an event stream",
                        response.status,
                        response.content_type().unwrap_or("(none)")
                    ),
                    "upstream_not_an_event_stream",
                    Some(response.status),
                ),
            ),
            ClientError::Network(source) if timed_out(source.as_ref()) => (
                StatusCode::GATEWAY_TIMEOUT,
                detail(
                    "the upstream did not answer in time".into(),
                    "upstream_timeout",
                    None,
                ),
            ),
            ClientError::GaveUp {
                last: Some(source), ..
            } if timed_out(source.as_ref()) => (
                StatusCode::GATEWAY_TIMEOUT,
                detail(
                    "the upstream did not answer in time".into(),
                    "upstream_timeout",
                    None,
                ),
            ),
            ClientError::TooLarge { limit } => (
                gateway,
                detail(
                    format!("an upstream event is larger than {limit} bytes"),
                    "upstream_event_too_large",
                    None,
                ),
            ),
            ClientError::Decode { event, .. } => (
                gateway,
                detail(
                    format!("the upstream's event `{event}` did not decode"),
                    "upstream_bad_event",
                    None,
                ),
            ),
            ClientError::InvalidRequest(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                detail(
                    "the relay's upstream request is invalid".into(),
                    "relay_invalid_request",
                    None,
                ),
            ),
            // Network errors, reconnections that ran out, and whatever a later version
            // of the client adds.
            _ => (
                gateway,
                detail(
                    "the upstream connection failed".into(),
                    "upstream_connection_failed",
                    None,
                ),
            ),
        };
        HttpError::with_detail(status, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ErrorResponse;

    fn refused(status: u16, retry_after: Option<&str>) -> ClientError {
        let mut headers = http::HeaderMap::new();
        if let Some(after) = retry_after {
            headers.insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_str(after).unwrap(),
            );
        }
        ClientError::Status(Box::new(ErrorResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: bytes::Bytes::from_static(b"{\"error\": \"sk-abc... is wrong\"}"),
            truncated: false,
        }))
    }

    #[test]
    fn upstream_statuses_map_as_documented() {
        for (upstream, downstream, code) in [
            (401, 502, "upstream_unauthorized"),
            (403, 502, "upstream_unauthorized"),
            (404, 502, "upstream_not_found"),
            (400, 502, "upstream_error"),
            (500, 502, "upstream_error"),
            (502, 502, "upstream_error"),
            (503, 503, "upstream_unavailable"),
            (504, 504, "upstream_timeout"),
            (408, 504, "upstream_timeout"),
            (301, 502, "upstream_error"),
        ] {
            let err = HttpError::from(refused(upstream, None));
            assert_eq!(err.status().as_u16(), downstream, "{upstream}");
            assert_eq!(err.detail()["code"], code, "{upstream}");
            assert_eq!(err.detail()["upstream_status"], upstream, "{upstream}");
            assert!(
                !err.detail().to_string().contains("sk-abc"),
                "the upstream's body stays out: {}",
                err.detail()
            );
        }
        let err = HttpError::from(refused(429, Some("7")));
        assert_eq!(err.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(err.detail()["retry_after"], "7");
    }

    #[test]
    fn network_failures_are_502_and_timeouts_504() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "10.0.0.7:443");
        let err = HttpError::from(ClientError::Network(Box::new(refused)));
        assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(err.detail()["code"], "upstream_connection_failed");
        assert!(!err.detail().to_string().contains("10.0.0.7"));

        /// A wrapper, as hyper-util's errors wrap the I/O error.
        #[derive(Debug)]
        struct Wrapped(std::io::Error);
        impl fmt::Display for Wrapped {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl std::error::Error for Wrapped {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let timeout = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timeout");
        let err = HttpError::from(ClientError::Network(Box::new(Wrapped(timeout))));
        assert_eq!(err.status(), StatusCode::GATEWAY_TIMEOUT);
        let err = HttpError::from(ClientError::GaveUp {
            retries: 3,
            last: None,
        });
        assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
        let err = HttpError::from(ClientError::InvalidRequest("bad url".into()));
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
