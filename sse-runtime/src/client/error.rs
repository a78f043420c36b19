//! [`ClientError`]: why an [`EventSource`](super::EventSource) ended, or why one item of a
//! typed stream did not decode; [`ErrorResponse`]: the answer of a server that refused to
//! open a stream (status, headers, the first bytes of the body).

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::error::BoxError;

/// A server's answer that is not an event stream: its status, headers and body, the body
/// cut at the source's [`max_error_body`](super::RequestBuilder::max_error_body).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ErrorResponse {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, at most `max_error_body` bytes of it.
    pub body: Bytes,
    /// The body was longer than `body`.
    pub truncated: bool,
}

impl ErrorResponse {
    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The `content-type` header, if any and valid text.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
    }
}

/// Why a stream ended with an error, or why an item of a typed stream did not decode.
///
/// Every variant but [`Decode`](Self::Decode) is the last item of its stream: the source
/// does not reconnect after it (see the [reconnection policy](super#reconnection-policy)).
/// A `Decode` error concerns one event; the stream goes on.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The request could not be built: a bad URL, header, or JSON body, or an `https` URL
    /// on a client without TLS. Nothing was sent.
    InvalidRequest(String),
    /// The connection failed or broke (connect error, reset, a body error mid-stream), and
    /// the request is not one to repeat: a `POST` not marked
    /// [`repeatable`](super::RequestBuilder::repeatable).
    Network(BoxError),
    /// The server answered with a status other than 200 and 204 (a redirect included:
    /// redirects are not followed).
    Status(Box<ErrorResponse>),
    /// The server answered 200 with a content type other than `text/event-stream`, or
    /// with a `Content-Encoding` the client did not offer and cannot decode.
    ContentType(Box<ErrorResponse>),
    /// An event (or one line of the stream, or what one compressed chunk decodes to) grew
    /// beyond
    /// [`max_event_size`](super::RequestBuilder::max_event_size) bytes; the connection
    /// was closed.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The source reconnected [`max_retries`](super::RequestBuilder::max_retries) times in
    /// a row without receiving an event, and gave up.
    GaveUp {
        /// Reconnections made without an event.
        retries: u32,
        /// Why the last connection failed (`None`: it ended cleanly).
        last: Option<BoxError>,
    },
    /// An event's data did not decode as the requested type. The stream goes on.
    Decode {
        /// The event's type (`message` when it had no `event:` field).
        event: String,
        /// The event's own `id:` field, if it had one.
        id: Option<String>,
        /// The stream's last event id when the event arrived.
        last_event_id: String,
        /// The JSON error, with its line and column in the data.
        source: serde_json::Error,
    },
}

impl ClientError {
    /// The status of the server's answer, for [`Status`](Self::Status) and
    /// [`ContentType`](Self::ContentType).
    pub fn status(&self) -> Option<StatusCode> {
        self.response().map(|response| response.status)
    }

    /// The server's answer, for [`Status`](Self::Status) and
    /// [`ContentType`](Self::ContentType).
    pub fn response(&self) -> Option<&ErrorResponse> {
        match self {
            Self::Status(response) | Self::ContentType(response) => Some(response),
            _ => None,
        }
    }

    /// True for a [`Decode`](Self::Decode) error, after which the stream goes on.
    pub fn is_decode(&self) -> bool {
        matches!(self, Self::Decode { .. })
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest(why) => write!(f, "invalid request: {why}"),
            Self::Network(err) => write!(f, "connection failed: {err}"),
            Self::Status(response) => {
                write!(f, "the server answered {}", response.status)?;
                if !response.body.is_empty() {
                    let text = response.text();
                    let cut = text
                        .char_indices()
                        .nth(200)
                        .map_or(text.len(), |(at, _)| at);
                    write!(f, ": {}", &text[..cut])?;
                }
                Ok(())
            }
            Self::ContentType(response) => write!(
                f,
                "the server answered {} with content type {:?}, not text/event-stream",
                response.status,
                response.content_type().unwrap_or("(none)")
            ),
            Self::TooLarge { limit } => {
                write!(f, "an event of the stream is larger than {limit} bytes")
            }
            Self::GaveUp { retries, last } => {
                write!(f, "gave up after {retries} reconnections without an event")?;
                match last {
                    Some(err) => write!(f, " (last: {err})"),
                    None => write!(f, " (the last connection ended cleanly)"),
                }
            }
            Self::Decode {
                event,
                id,
                last_event_id,
                source,
            } => {
                write!(f, "event `{event}`")?;
                match id {
                    Some(id) => write!(f, " (id `{id}`)")?,
                    None if !last_event_id.is_empty() => {
                        write!(f, " (after id `{last_event_id}`)")?;
                    }
                    None => {}
                }
                write!(f, " does not decode: {source}")
            }
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Network(err) => Some(err.as_ref()),
            Self::GaveUp {
                last: Some(err), ..
            } => Some(err.as_ref()),
            Self::Decode { source, .. } => Some(source),
            _ => None,
        }
    }
}
