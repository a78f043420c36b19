//! [`EventSource`]: one stream, across its reconnections: connect, check the answer, parse
//! the body with the crate's one [`EventParser`], wait, reconnect.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http::header::{
    HeaderValue, ACCEPT, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE,
};
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body::Body as _;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::ResponseFuture;

use super::backoff::Backoff;
use super::error::{ClientError, ErrorResponse};
use super::typed::{JsonEvents, TypedEvents};
use super::Client;
use crate::error::BoxError;
use crate::parse::{EventParser, ParsedEvent};
use crate::stream::compress::{Coding, Decoder};

/// The request a source sends on every connection.
#[derive(Debug)]
pub(super) struct Template {
    pub(super) method: Method,
    pub(super) uri: Uri,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

/// What [`RequestBuilder::send`](super::RequestBuilder::send) hands over.
pub(super) struct Config {
    pub(super) client: Client,
    pub(super) template: Result<Template, String>,
    pub(super) repeatable: bool,
    pub(super) last_event_id: String,
    pub(super) backoff: Backoff,
    pub(super) max_retries: Option<u32>,
    pub(super) max_event_size: usize,
    pub(super) max_error_body: usize,
    pub(super) idle_timeout: Option<Duration>,
}

/// How long the body of a refused answer may take to arrive (what came by then is kept).
const ERROR_BODY_TIMEOUT: Duration = Duration::from_secs(5);

/// A Server-Sent Events stream that reconnects: a [`Stream`] of the events an
/// `EventSource` would dispatch ([`ParsedEvent`](crate::parse::ParsedEvent): type, data, id,
/// last event id, retry), ending with `None` (the server said stop: 204, or a
/// non-repeatable request's stream ended) or with one `Err` (see the
/// [policy](super#reconnection-policy)).
///
/// Dropping it closes its connection (HTTP/1.1) or resets its stream (HTTP/2): the
/// server sees the client leave. [`json`](Self::json) and [`typed`](Self::typed) decode
/// the data. Made by [`RequestBuilder::send`](super::RequestBuilder::send).
pub struct EventSource {
    config: Config,
    state: State,
    parser: EventParser,
    /// The stream's reconnection time: the backoff's initial one, then the server's `retry:`.
    retry: Duration,
    /// Reconnections in a row without an event.
    failures: u32,
    /// Connections opened (a 200 event stream), over the source's life.
    opens: u32,
    /// Requests sent, over the source's life.
    requests: u32,
    /// The head of the open response.
    headers: Option<HeaderMap>,
    /// The idle timeout while connecting or open; the deadline of a refused answer's body.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Decodes the open connection's body, when it has a `Content-Encoding`.
    decoder: Option<Decoder>,
}

enum State {
    /// About to send the request.
    Idle,
    Connecting(ResponseFuture),
    Open(Incoming),
    /// Reading the bounded body of a refused answer.
    Refused {
        kind: Refusal,
        status: StatusCode,
        headers: HeaderMap,
        body: Incoming,
        buf: BytesMut,
    },
    Waiting(Pin<Box<tokio::time::Sleep>>),
    Done,
}

#[derive(Clone, Copy)]
enum Refusal {
    Status,
    ContentType,
}

/// One step of the state machine, as the stream and [`EventSource::open`] see it.
enum Step {
    Event(ParsedEvent),
    Opened,
    End,
    Error(ClientError),
}

impl std::fmt::Debug for EventSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Idle => "idle",
            State::Connecting(_) => "connecting",
            State::Open(_) => "open",
            State::Refused { .. } => "refused",
            State::Waiting(_) => "waiting to reconnect",
            State::Done => "done",
        };
        f.debug_struct("EventSource")
            .field("request", &self.config.template)
            .field("state", &state)
            .field("last_event_id", &self.parser.last_event_id())
            .field("retry", &self.retry)
            .field("opens", &self.opens)
            .finish_non_exhaustive()
    }
}

impl EventSource {
    pub(super) fn new(config: Config) -> Self {
        let mut parser = EventParser::with_max_line(config.max_event_size.saturating_add(1));
        if !config.last_event_id.is_empty() {
            // The id to resume from, recorded as if a data-less block had carried it.
            parser.feed(format!("id: {}\n\n", config.last_event_id).as_bytes());
            while parser.next_event().is_some() {}
        }
        Self {
            retry: config.backoff.initial_delay(),
            config,
            state: State::Idle,
            parser,
            failures: 0,
            opens: 0,
            requests: 0,
            headers: None,
            timer: None,
            decoder: None,
        }
    }

    /// The stream's last event id: what the next connection sends as `Last-Event-ID`.
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }

    /// The stream's reconnection time: the initial one, or the server's last `retry:`.
    pub fn retry(&self) -> Duration {
        self.retry
    }

    /// How many connections opened (answered 200 with an event stream) so far.
    pub fn opens(&self) -> u32 {
        self.opens
    }

    /// How many requests were sent so far (the first and every reconnection).
    pub fn requests(&self) -> u32 {
        self.requests
    }

    /// The response headers of the open connection (`None` before the first one opens).
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.headers.as_ref()
    }

    /// Waits until a connection is open (reconnecting by the policy meanwhile), so that a
    /// relay can answer its own client only once the upstream accepted: `Ok(true)` when
    /// the stream is open, `Ok(false)` when the server answered 204 (no stream: the
    /// source is done), `Err` when it refused or the request failed for good (the source
    /// is done too). Events are not consumed. After the stream's end, `Ok(false)`.
    ///
    /// ```
    /// use sse_runtime::client::Client;
    /// use sse_runtime::testing::{Protocol, TestClient};
    /// use sse_runtime::{App, HttpError, Sse, StatusCode};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let app = App::new().get("/private", || async {
    ///     Err::<Sse, _>(HttpError::new(StatusCode::UNAUTHORIZED, "no token"))
    /// });
    /// let server = TestClient::spawn(app, Protocol::Http1).await;
    /// let url = format!("http://{}/private", server.addr().unwrap());
    ///
    /// let mut source = Client::new().get(&url).send();
    /// let err = source.open().await.unwrap_err();
    /// assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    /// assert_eq!(err.response().unwrap().json::<serde_json::Value>().unwrap()["detail"], "no token");
    /// # });
    /// ```
    pub async fn open(&mut self) -> Result<bool, ClientError> {
        std::future::poll_fn(|cx| match ready!(self.poll_step(cx, true)) {
            Step::Opened => Poll::Ready(Ok(true)),
            Step::End => Poll::Ready(Ok(false)),
            Step::Error(err) => Poll::Ready(Err(err)),
            // `until_open` returns before any event.
            Step::Event(_) => Poll::Ready(Ok(true)),
        })
        .await
    }

    /// The events' data as JSON of type `T`: a stream of `Result<T, ClientError>`. An
    /// event that does not decode is an `Err(`[`ClientError::Decode`]`)` naming it, and
    /// the stream goes on; the other errors end it.
    pub fn json<T: serde::de::DeserializeOwned>(self) -> JsonEvents<T> {
        JsonEvents::new(self)
    }

    /// The events as the crate's typed [`Event<T>`](crate::Event): the data as `T`, with
    /// the event's type (unless `message`), id and retry, ready to re-emit from a route.
    /// Decode errors as in [`json`](Self::json).
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use sse_runtime::client::Client;
    /// use sse_runtime::testing::{Protocol, TestClient};
    /// use sse_runtime::{App, Event, Sse};
    ///
    /// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    /// struct Price { symbol: String, cents: u64 }
    ///
    /// async fn prices() -> Sse {
    ///     let price = Price { symbol: "ACME".into(), cents: 4200 };
    ///     Sse::new(futures_util::stream::iter([Event::new(price).event("price").id("7")]))
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let server = TestClient::spawn(App::new().get("/prices", prices), Protocol::Http1).await;
    /// let url = format!("http://{}/prices", server.addr().unwrap());
    /// let mut prices = Client::new().get(&url).send().typed::<Price>();
    /// let event: Event<Price> = prices.next().await.unwrap().expect("a price");
    /// assert_eq!((event.get_event(), event.get_id()), (Some("price"), Some("7")));
    /// assert_eq!(event.get_payload().unwrap().cents, 4200);
    /// // Re-emitted as is, it is the same event on the wire.
    /// assert_eq!(event.to_string(), "event: price\ndata: {\"symbol\":\"ACME\",\"cents\":4200}\nid: 7\n\n");
    /// # });
    /// ```
    pub fn typed<T: serde::de::DeserializeOwned>(self) -> TypedEvents<T> {
        TypedEvents::new(self)
    }

    fn poll_step(&mut self, cx: &mut Context<'_>, until_open: bool) -> Poll<Step> {
        loop {
            match &mut self.state {
                State::Done => return Poll::Ready(Step::End),
                State::Idle => match self.request() {
                    Ok(request) => {
                        self.requests += 1;
                        tracing::debug!(uri = %request.uri(), attempt = self.requests, last_event_id = self.parser.last_event_id(), "event source: connecting");
                        self.state = State::Connecting(self.config.client.http.request(request));
                        self.arm(self.config.idle_timeout);
                    }
                    Err(err) => return Poll::Ready(self.fail(err)),
                },
                State::Connecting(future) => match Pin::new(future).poll(cx) {
                    Poll::Pending => {
                        if !self.timed_out(cx) {
                            return Poll::Pending;
                        }
                        if let Some(step) = self.lost(Some(self.idle_error("no response"))) {
                            return Poll::Ready(step);
                        }
                    }
                    Poll::Ready(Ok(response)) => {
                        if let Some(step) = self.answered(response) {
                            return Poll::Ready(step);
                        }
                        if until_open && matches!(self.state, State::Open(_)) {
                            return Poll::Ready(Step::Opened);
                        }
                    }
                    Poll::Ready(Err(err)) => {
                        if let Some(step) = self.lost(Some(Box::new(err))) {
                            return Poll::Ready(step);
                        }
                    }
                },
                State::Open(body) => {
                    if until_open {
                        return Poll::Ready(Step::Opened);
                    }
                    if let Some(event) = self.parser.next_event() {
                        return Poll::Ready(self.dispatched(event));
                    }
                    let frame = match Pin::new(body).poll_frame(cx) {
                        Poll::Ready(frame) => frame,
                        Poll::Pending => {
                            if !self.timed_out(cx) {
                                return Poll::Pending;
                            }
                            if let Some(step) = self.lost(Some(self.idle_error("no bytes"))) {
                                return Poll::Ready(step);
                            }
                            continue;
                        }
                    };
                    match frame {
                        Some(Ok(frame)) => {
                            self.arm(self.config.idle_timeout);
                            if let Ok(data) = frame.into_data() {
                                let limit = self.config.max_event_size;
                                match self.decoder.as_mut().map(|d| d.feed_at_most(&data, limit)) {
                                    None => self.parser.feed(&data),
                                    Some(Ok(decoded)) => self.parser.feed(&decoded),
                                    Some(Err(err))
                                        if err.kind() == std::io::ErrorKind::FileTooLarge =>
                                    {
                                        return Poll::Ready(
                                            self.fail(ClientError::TooLarge { limit }),
                                        );
                                    }
                                    Some(Err(err)) => {
                                        if let Some(step) = self.lost(Some(Box::new(err))) {
                                            return Poll::Ready(step);
                                        }
                                        continue;
                                    }
                                }
                                if self.parser.pending_len() > self.config.max_event_size {
                                    return Poll::Ready(self.fail(ClientError::TooLarge {
                                        limit: self.config.max_event_size,
                                    }));
                                }
                            }
                        }
                        Some(Err(err)) => {
                            if let Some(step) = self.lost(Some(Box::new(err))) {
                                return Poll::Ready(step);
                            }
                        }
                        None => {
                            tracing::debug!("event source: the stream ended");
                            if let Some(step) = self.lost(None) {
                                return Poll::Ready(step);
                            }
                        }
                    }
                }
                State::Refused {
                    kind,
                    status,
                    headers,
                    body,
                    buf,
                } => {
                    let limit = self.config.max_error_body;
                    let mut truncated = false;
                    let mut complete = false;
                    let frame = match Pin::new(body).poll_frame(cx) {
                        Poll::Ready(frame) => frame,
                        // Slow or stalled: keep what came.
                        Poll::Pending
                            if self
                                .timer
                                .as_mut()
                                .is_some_and(|timer| timer.as_mut().poll(cx).is_ready()) =>
                        {
                            None
                        }
                        Poll::Pending => return Poll::Pending,
                    };
                    match frame {
                        Some(Ok(frame)) => {
                            if let Ok(data) = frame.into_data() {
                                let room = limit.saturating_sub(buf.len());
                                buf.extend_from_slice(&data[..room.min(data.len())]);
                                truncated = data.len() > room;
                            }
                        }
                        // The body broke off: report what arrived.
                        Some(Err(_)) | None => complete = true,
                    }
                    if truncated || complete {
                        let response = Box::new(ErrorResponse {
                            status: *status,
                            headers: std::mem::take(headers),
                            body: std::mem::take(buf).freeze(),
                            truncated,
                        });
                        let err = match kind {
                            Refusal::Status => ClientError::Status(response),
                            Refusal::ContentType => ClientError::ContentType(response),
                        };
                        return Poll::Ready(self.fail(err));
                    }
                }
                State::Waiting(sleep) => {
                    ready!(sleep.as_mut().poll(cx));
                    self.state = State::Idle;
                }
            }
        }
    }

    /// The request of the next connection.
    fn request(&self) -> Result<http::Request<Full<Bytes>>, ClientError> {
        let template = self
            .config
            .template
            .as_ref()
            .map_err(|err| ClientError::InvalidRequest(err.clone()))?;
        let mut request = http::Request::new(Full::new(template.body.clone()));
        *request.method_mut() = template.method.clone();
        *request.uri_mut() = template.uri.clone();
        let headers = request.headers_mut();
        headers.clone_from(&template.headers);
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        }
        if !headers.contains_key(CACHE_CONTROL) {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
        if !headers.contains_key(ACCEPT_ENCODING) {
            let codings: Vec<&str> = Coding::all().into_iter().map(Coding::as_str).collect();
            if let Ok(value) = HeaderValue::from_str(&codings.join(", ")) {
                headers.insert(ACCEPT_ENCODING, value);
            }
        }
        let id = self.parser.last_event_id();
        if !id.is_empty() {
            // As browsers, the id's UTF-8 bytes (obs-text beyond ASCII is a valid value).
            let value = HeaderValue::from_bytes(id.as_bytes()).map_err(|_| {
                ClientError::InvalidRequest(format!("last event id {id:?} is not a header value"))
            })?;
            headers.insert("last-event-id", value);
        }
        Ok(request)
    }

    /// The response head arrived: open, stop, or read a refusal.
    fn answered(&mut self, response: http::Response<Incoming>) -> Option<Step> {
        let (parts, body) = response.into_parts();
        let status = parts.status;
        if status == StatusCode::NO_CONTENT {
            tracing::debug!("event source: 204, the server says stop");
            self.state = State::Done;
            return Some(Step::End);
        }
        let encoding = parts
            .headers
            .get(CONTENT_ENCODING)
            .map(|value| value.to_str().unwrap_or("(not text)").trim())
            .filter(|coding| !coding.eq_ignore_ascii_case("identity"));
        let decoder = encoding.map(Decoder::new);
        let kind = if status != StatusCode::OK {
            Refusal::Status
        } else if !is_event_stream(parts.headers.get(CONTENT_TYPE)) {
            Refusal::ContentType
        } else if let Some(None) = decoder {
            // A coding this build cannot decode (it was not offered).
            Refusal::ContentType
        } else {
            self.decoder = decoder.flatten();
            self.opens += 1;
            self.parser.reconnected();
            self.headers = Some(parts.headers);
            self.state = State::Open(body);
            self.arm(self.config.idle_timeout);
            return None;
        };
        tracing::debug!(%status, "event source: the server refused the stream");
        self.state = State::Refused {
            kind,
            status,
            headers: parts.headers,
            body,
            buf: BytesMut::new(),
        };
        self.arm(Some(ERROR_BODY_TIMEOUT));
        None
    }

    /// An event was parsed: bound it, record its id and retry.
    fn dispatched(&mut self, event: ParsedEvent) -> Step {
        if event.data.len() > self.config.max_event_size {
            return self.fail(ClientError::TooLarge {
                limit: self.config.max_event_size,
            });
        }
        if let Some(millis) = self.parser.reconnection_time() {
            self.retry = Duration::from_millis(millis);
        }
        self.failures = 0;
        Step::Event(event)
    }

    /// The connection failed (`Some`) or the stream ended cleanly (`None`): reconnect, or
    /// end by the policy.
    fn lost(&mut self, cause: Option<BoxError>) -> Option<Step> {
        // Every block was dispatched before the body was polled again, so the parser
        // holds the last `retry:` (a lone one included).
        if let Some(millis) = self.parser.reconnection_time() {
            self.retry = Duration::from_millis(millis);
        }
        if !self.config.repeatable {
            self.state = State::Done;
            self.timer = None;
            return Some(match cause {
                Some(err) => ClientError::Network(err).into(),
                None => Step::End,
            });
        }
        self.failures = self.failures.saturating_add(1);
        if let Some(max) = self.config.max_retries {
            if self.failures > max {
                self.state = State::Done;
                return Some(
                    ClientError::GaveUp {
                        retries: self.failures - 1,
                        last: cause,
                    }
                    .into(),
                );
            }
        }
        let delay = self.config.backoff.delay(self.retry, self.failures);
        match &cause {
            Some(err) => {
                tracing::debug!(error = %err, ?delay, "event source: connection lost, reconnecting")
            }
            None => tracing::debug!(?delay, "event source: stream ended, reconnecting"),
        }
        self.state = State::Waiting(Box::pin(tokio::time::sleep(delay)));
        self.timer = None;
        None
    }

    /// Ends the source with `err`.
    fn fail(&mut self, err: ClientError) -> Step {
        self.state = State::Done;
        self.timer = None;
        Step::Error(err)
    }

    /// Starts the timer over (or stops it, for `None`).
    fn arm(&mut self, after: Option<Duration>) {
        match (after, &mut self.timer) {
            (Some(after), Some(timer)) => timer.as_mut().reset(tokio::time::Instant::now() + after),
            (Some(after), None) => self.timer = Some(Box::pin(tokio::time::sleep(after))),
            (None, _) => self.timer = None,
        }
    }

    /// Whether the idle timer has fired (registering the task to wake when it does).
    fn timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        self.timer
            .as_mut()
            .is_some_and(|timer| timer.as_mut().poll(cx).is_ready())
    }

    fn idle_error(&self, what: &str) -> BoxError {
        let after = self.config.idle_timeout.unwrap_or_default();
        format!("{what} from the server for {after:?} (idle timeout)").into()
    }
}

impl From<ClientError> for Step {
    fn from(err: ClientError) -> Self {
        Step::Error(err)
    }
}

/// `text/event-stream`, whatever its parameters, in any case (as browsers check it).
fn is_event_stream(value: Option<&HeaderValue>) -> bool {
    value
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
}

impl Stream for EventSource {
    type Item = Result<ParsedEvent, ClientError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        Poll::Ready(match ready!(this.poll_step(cx, false)) {
            Step::Event(event) => Some(Ok(event)),
            Step::Error(err) => Some(Err(err)),
            Step::End | Step::Opened => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_event_stream;
    use http::HeaderValue;

    #[test]
    fn content_type_essence() {
        for ok in [
            "text/event-stream",
            "text/event-stream; charset=utf-8",
            "Text/Event-Stream;",
        ] {
            assert!(is_event_stream(Some(&HeaderValue::from_static(ok))), "{ok}");
        }
        for bad in ["text/plain", "text/event-streams", "application/json"] {
            assert!(
                !is_event_stream(Some(&HeaderValue::from_static(bad))),
                "{bad}"
            );
        }
        assert!(!is_event_stream(None));
    }
}
