//! [`Body`]: the response body type of every route, from a fixed JSON document to an
//! endless event stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;

use crate::error::BoxError;
use crate::observability::SendTimedOut;
use crate::stream::engine::StreamBody;

/// The body of a [`Response`](crate::Response).
///
/// ```
/// use sse_runtime::Body;
///
/// let body = Body::from("hello");
/// assert!(!body.is_streaming());
/// ```
pub struct Body {
    kind: Kind,
}

enum Kind {
    Empty,
    Full(Option<Bytes>),
    Stream(Box<StreamBody>),
    Boxed(UnsyncBoxBody<Bytes, BoxError>),
}

impl Body {
    /// An empty body.
    pub fn empty() -> Self {
        Self { kind: Kind::Empty }
    }

    /// Wraps any [`http_body::Body`], e.g. a proxied response. A `Body` is returned as
    /// it is, not boxed again.
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let mut slot = Some(body);
        if let Some(same) = (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<Body>>() {
            if let Some(body) = same.take() {
                return body;
            }
        }
        match slot {
            Some(body) => Self {
                kind: Kind::Boxed(body.map_err(Into::into).boxed_unsync()),
            },
            None => Self::empty(),
        }
    }

    /// True for event and JSON Lines streams, which the server binds to its keep-alive
    /// and shutdown settings.
    pub fn is_streaming(&self) -> bool {
        matches!(self.kind, Kind::Stream(_))
    }

    pub(crate) fn from_stream(stream: StreamBody) -> Self {
        Self {
            kind: Kind::Stream(Box::new(stream)),
        }
    }

    /// The streaming engine inside, for [`start`](super::start) only.
    pub(super) fn stream_mut(&mut self) -> Option<&mut StreamBody> {
        match &mut self.kind {
            Kind::Stream(stream) => Some(stream),
            _ => None,
        }
    }
}

impl Body {
    /// A streaming body records that its connection's send timeout ended it (when it
    /// did); other bodies ignore the flag.
    pub(crate) fn set_send_timed_out(&mut self, flag: SendTimedOut) {
        if let Kind::Stream(stream) = &mut self.kind {
            stream.set_send_timed_out(flag);
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Self::empty()
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Empty => "empty",
            Kind::Full(_) => "full",
            Kind::Stream(_) => "stream",
            Kind::Boxed(_) => "boxed",
        };
        f.debug_tuple("Body").field(&kind).finish()
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Self {
            kind: Kind::Full(Some(bytes)),
        }
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Bytes::from(text).into()
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Bytes::from_static(text.as_bytes()).into()
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes::from(bytes).into()
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().kind {
            Kind::Empty => Poll::Ready(None),
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Stream(stream) => Pin::new(stream.as_mut()).poll_frame(cx),
            Kind::Boxed(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Stream(stream) => stream.is_done(),
            Kind::Boxed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream(_) => SizeHint::default(),
            Kind::Boxed(body) => body.size_hint(),
        }
    }
}
