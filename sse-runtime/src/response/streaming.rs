//! What [`Sse`](crate::Sse) and [`JsonLines`](crate::JsonLines) share: a stream body from a
//! stream of items (or of `Result`s) in a [`Format`], and the response that carries it.

use std::fmt::Display;
use std::marker::PhantomData;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};

use crate::response::http_error;
use crate::response::Response;
use crate::stream::body::Body;
use crate::stream::engine::{Encode, Format, Source, StreamBody, StreamFailure};
use crate::stream::keep_alive::KeepAlive;

/// The body of a stream whose items `F` encodes.
pub(crate) fn body<F, S>(stream: S) -> StreamBody
where
    S: Stream + Send + 'static,
    F: Encode<S::Item>,
{
    StreamBody::new(Source::<S, F>::new(stream))
}

/// The body of a stream of `Result`s: `Ok` items as `F` encodes them; the first `Err`
/// ends the stream (with the status of an [`HttpError`](crate::HttpError), else 500).
pub(crate) fn try_body<F, S, T, E>(stream: S) -> StreamBody
where
    S: Stream<Item = Result<T, E>> + Send + 'static,
    F: Encode<T>,
    E: Display + 'static,
{
    StreamBody::new(Source::<S, Fallible<F>>::new(stream))
}

/// The response of a stream body: `content-type`, and the headers that keep caches and
/// proxies (nginx) from holding events back.
pub(crate) fn response(body: StreamBody, content_type: &'static str) -> Response {
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// Format `F` over `Result` items: an `Err` is the stream's failure.
struct Fallible<F>(PhantomData<F>);

impl<F: Format> Format for Fallible<F> {
    fn keep_alive(app: &KeepAlive) -> Option<KeepAlive> {
        F::keep_alive(app)
    }

    fn farewell(app: Option<&Bytes>) -> Option<Bytes> {
        F::farewell(app)
    }

    fn write_failure(failure: &StreamFailure, buf: &mut BytesMut) {
        F::write_failure(failure, buf);
    }
}

impl<F, T, E> Encode<Result<T, E>> for Fallible<F>
where
    F: Encode<T>,
    E: Display + 'static,
{
    fn write_item(item: Result<T, E>, buf: &mut BytesMut) -> Result<(), StreamFailure> {
        match item {
            Ok(item) => F::write_item(item, buf),
            Err(err) => {
                let (status, detail) = http_error::status_and_detail(&err);
                Err(StreamFailure::new(status, detail))
            }
        }
    }
}
