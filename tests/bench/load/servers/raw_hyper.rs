//! Raw hyper, the practical ceiling: no framework, no router, no keep-alive timer, no
//! serde. Each connection is hyper's HTTP/1.1 `serve_connection`; each body writes
//! pre-encoded byte strings around the two values that change (the counter, formatted
//! with `itoa`, and the timestamp, with `ryu`), straight into one reused buffer, and hands
//! hyper one frame per poll holding every event it could make, up to 32 KiB. A connection
//! that starts with the HTTP/2 preface (h2c) is served by hyper's `http2::Builder`.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http_body::Frame;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::broadcast;

const FRAME_LIMIT: usize = 32 * 1024;

/// `data: {"message":"Event <i>","timestamp":<now>}` and a blank line.
fn write_event(i: u64, buf: &mut BytesMut) {
    buf.extend_from_slice(b"data: {\"message\":\"Event ");
    buf.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
    buf.extend_from_slice(b"\",\"timestamp\":");
    buf.extend_from_slice(ryu::Buffer::new().format(crate::shared::now()).as_bytes());
    buf.extend_from_slice(b"}\n\n");
}

enum RawBody {
    /// Endless: every poll is one full frame.
    Events {
        next: u64,
        buf: BytesMut,
    },
    /// One event, then pending forever (hyper still notices the client leaving).
    Idle {
        sent: bool,
    },
    /// Ten events in one frame, then the end.
    Short {
        sent: bool,
    },
    /// Every event published, encoded once by the publisher, as it comes.
    Fanout(Pin<Box<dyn Stream<Item = Bytes> + Send>>),
    Text(Option<Bytes>),
    Empty,
}

impl http_body::Body for RawBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let frame = match self.get_mut() {
            RawBody::Events { next, buf } => {
                while buf.len() < FRAME_LIMIT {
                    write_event(*next, buf);
                    *next += 1;
                }
                buf.split().freeze()
            }
            RawBody::Idle { sent } => {
                if *sent {
                    return Poll::Pending;
                }
                *sent = true;
                let mut buf = BytesMut::with_capacity(128);
                write_event(0, &mut buf);
                buf.freeze()
            }
            RawBody::Short { sent } => {
                if *sent {
                    return Poll::Ready(None);
                }
                *sent = true;
                let mut buf = BytesMut::with_capacity(1024);
                for i in 0..10 {
                    write_event(i, &mut buf);
                }
                buf.freeze()
            }
            RawBody::Fanout(events) => match events.as_mut().poll_next(cx) {
                Poll::Ready(Some(event)) => event,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            },
            RawBody::Text(text) => match text.take() {
                Some(text) => text,
                None => return Poll::Ready(None),
            },
            RawBody::Empty => return Poll::Ready(None),
        };
        Poll::Ready(Some(Ok(Frame::data(frame))))
    }
}

fn fanout(hub: &broadcast::Sender<Bytes>) -> RawBody {
    let mut events = hub.subscribe();
    RawBody::Fanout(Box::pin(async_stream::stream! {
        loop {
            match events.recv().await {
                Ok(event) => yield event,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    }))
}

/// `GET /publish?n=N&every_ms=M`: publishes N pre-encoded events, one every M ms.
fn publish(hub: &broadcast::Sender<Bytes>, query: Option<&str>) -> RawBody {
    let (mut n, mut every_ms) = (0u64, 0u64);
    for pair in query.unwrap_or("").split('&') {
        match pair.split_once('=') {
            Some(("n", v)) => n = v.parse().unwrap_or(0),
            Some(("every_ms", v)) => every_ms = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    let hub = hub.clone();
    tokio::spawn(async move {
        for i in 0..n {
            let mut buf = BytesMut::with_capacity(128);
            write_event(i, &mut buf);
            let _ = hub.send(buf.freeze());
            tokio::time::sleep(Duration::from_millis(every_ms)).await;
        }
    });
    RawBody::Text(Some(Bytes::from_static(b"ok")))
}

async fn handle(
    hub: broadcast::Sender<Bytes>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<http::Response<RawBody>, Infallible> {
    if req.uri().path() == "/publish" {
        return Ok(http::Response::new(publish(&hub, req.uri().query())));
    }
    let body = match req.uri().path() {
        "/events" => RawBody::Events {
            next: 0,
            buf: BytesMut::with_capacity(FRAME_LIMIT + 256),
        },
        "/idle" => RawBody::Idle { sent: false },
        "/short" => RawBody::Short { sent: false },
        "/fanout" => fanout(&hub),
        _ => {
            let mut response = http::Response::new(RawBody::Empty);
            *response.status_mut() = http::StatusCode::NOT_FOUND;
            return Ok(response);
        }
    };
    let mut response = http::Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The HTTP/2 connection preface (h2c with prior knowledge).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether the client starts with the HTTP/2 preface (h2c, prior knowledge): peeked, so
/// that an HTTP/1.1 connection is served exactly as before by `http1::Builder`.
async fn is_h2(tcp: &tokio::net::TcpStream) -> bool {
    let mut first = [0u8; H2_PREFACE.len()];
    loop {
        match tcp.peek(&mut first).await {
            Ok(n) if n > 0 && first[..n] == H2_PREFACE[..n] && n < H2_PREFACE.len() => {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok(n) => return n == H2_PREFACE.len() && first == *H2_PREFACE,
            Err(_) => return false,
        }
    }
}

pub async fn serve(listener: tokio::net::TcpListener) -> Result<(), Box<dyn std::error::Error>> {
    let hub = broadcast::channel::<Bytes>(1024).0;
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let hub = hub.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(hub.clone(), req));
            if is_h2(&tcp).await {
                // Boxed, so that HTTP/1.1 connections' tasks keep their size.
                let _ = Box::pin(
                    http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tcp), service),
                )
                .await;
            } else {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            }
        });
    }
}
