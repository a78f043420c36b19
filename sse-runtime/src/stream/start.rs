//! The one entry of a handler's response into the streaming engine: [`start`] binds a
//! streaming body to the app's settings, waits for its first item (the first-event
//! window), negotiates its compression from `Accept-Encoding`, and answers `HEAD`.
//! Nothing outside this folder reaches into the engine's concrete types.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use http::header::{HeaderValue, CONTENT_ENCODING, VARY};
use http::{Method, StatusCode};
use tokio_util::sync::CancellationToken;

use crate::error::panic_message;
use crate::stream::body::Body;
use crate::stream::compress::Compression;
pub(crate) use crate::stream::engine::FailureRecord;
use crate::stream::engine::{StreamContext, StreamFailure};
use crate::stream::keep_alive::KeepAlive;

/// What every stream of an app gets unless its response chose otherwise.
#[derive(Clone, Debug)]
pub(crate) struct StreamDefaults {
    pub(crate) keep_alive: KeepAlive,
    /// Written by every event stream just before it ends at shutdown.
    pub(crate) farewell: Option<Bytes>,
    /// How long the headers wait for the first item.
    pub(crate) first_event_window: Duration,
    pub(crate) compression: Compression,
    /// The app's error shape for a failure after the headers (`None`: the format's own).
    pub(crate) failure_record: Option<FailureRecord>,
}

/// What the request says about its response's stream.
#[derive(Debug)]
pub(crate) struct RequestHead<'a> {
    pub(crate) method: &'a Method,
    pub(crate) accept_encoding: Option<&'a HeaderValue>,
    /// The matched route pattern: the `route` label of the stream's metrics.
    pub(crate) route: &'a Arc<str>,
}

/// Why a stream ended before its headers went out: the caller answers with an HTTP error
/// instead.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// An `Err` item (or one that could not be encoded) came first, within the window.
    Failed(StreamFailure),
    /// The stream panicked before its first item; the panic's message, for the log.
    Panicked(String),
}

/// Starts the stream of `response`, if it has one; a response without one only loses
/// its body to `HEAD`.
pub(crate) async fn start(
    mut response: http::Response<Body>,
    request: RequestHead<'_>,
    defaults: &StreamDefaults,
    shutdown: &CancellationToken,
) -> Result<http::Response<Body>, Refusal> {
    let status = response.status();
    let already_encoded = response.headers().contains_key(CONTENT_ENCODING);
    let head = *request.method == Method::HEAD;
    let Some(stream) = response.body_mut().stream_mut() else {
        if head {
            *response.body_mut() = Body::empty();
        }
        return Ok(response);
    };
    let compression = stream
        .compression()
        .unwrap_or(&defaults.compression)
        .clone();
    if head {
        *response.body_mut() = Body::empty();
        vary(&mut response, &compression);
        return Ok(response);
    }
    stream.bind(&StreamContext {
        keep_alive: defaults.keep_alive.clone(),
        shutdown: shutdown.clone(),
        farewell: defaults.farewell.clone(),
        route: Arc::clone(request.route),
        span: tracing::Span::current(),
        failure_record: defaults.failure_record.clone(),
    });
    let primed = AssertUnwindSafe(stream.prime(defaults.first_event_window))
        .catch_unwind()
        .await;
    match primed {
        Ok(Ok(())) => {}
        Ok(Err(failure)) => return Err(Refusal::Failed(failure)),
        Err(panic) => return Err(Refusal::Panicked(panic_message(&*panic).to_owned())),
    }
    // Only a successful stream with content is compressed; never one a layer or the
    // handler already encoded.
    let coding = if compressible(status) && !already_encoded {
        let header = request.accept_encoding.and_then(|v| v.to_str().ok());
        compression.negotiate(header)
    } else {
        None
    };
    let encoder = match coding.map(|coding| compression.encoder(coding)) {
        Some(Ok(encoder)) => Some(encoder),
        Some(Err(err)) => {
            tracing::error!(error = %err, "no compressor; the stream goes uncompressed");
            None
        }
        None => None,
    };
    if let Some(encoder) = encoder {
        let content_encoding = encoder.header_value();
        stream.compress_with(encoder);
        response
            .headers_mut()
            .insert(CONTENT_ENCODING, content_encoding);
    }
    vary(&mut response, &compression);
    Ok(response)
}

/// A stream that may be compressed varies with `Accept-Encoding`.
fn vary(response: &mut http::Response<Body>, compression: &Compression) {
    if !compression.is_off() {
        response
            .headers_mut()
            .append(VARY, HeaderValue::from_static("accept-encoding"));
    }
}

/// Whether a stream answered with `status` may be compressed: a success with content.
fn compressible(status: StatusCode) -> bool {
    status.is_success()
        && !matches!(
            status,
            StatusCode::NO_CONTENT | StatusCode::RESET_CONTENT | StatusCode::PARTIAL_CONTENT
        )
}
