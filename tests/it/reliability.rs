//! Limits and misbehaving clients, over real sockets: a client that stops reading, too
//! many connections, a client that sends nothing, slowloris, oversize headers, panicking
//! streams.

use std::time::Duration;

use futures_util::StreamExt;
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{App, Limits, ServerSentEvent, Sse, State};
use sse_tests::cleanups::Cleanups;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Endless 64 KiB events, as fast as the socket takes them.
async fn firehose(State(cleanups): State<Cleanups>) -> Sse {
    Sse::new(async_stream::stream! {
        let _guard = cleanups.guard();
        let payload = "x".repeat(64 * 1024);
        loop {
            yield ServerSentEvent::new().raw_data(payload.clone());
        }
    })
}

/// Endless slow events.
async fn ticker(State(cleanups): State<Cleanups>) -> Sse {
    Sse::new(async_stream::stream! {
        let _guard = cleanups.guard();
        for i in 0u64.. {
            yield ServerSentEvent::new().data(i);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

async fn spawn(limits: Limits, cleanups: &Cleanups) -> TestClient {
    spawn_over(Protocol::Http1, limits, cleanups).await
}

async fn spawn_over(protocol: Protocol, limits: Limits, cleanups: &Cleanups) -> TestClient {
    let app = App::new()
        .get("/firehose", firehose)
        .get("/ticker", ticker)
        .get("/health", || async { "ok" })
        .state(cleanups.clone())
        .limits(limits);
    TestClient::spawn(app, protocol).await
}

async fn raw_get(client: &TestClient, path: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(client.addr().unwrap()).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();
    stream
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_after_the_send_timeout() {
    let cleanups = Cleanups::default();
    let limits = Limits::default().send_timeout(Some(Duration::from_millis(300)));
    let client = spawn(limits, &cleanups).await;
    // Connect, ask for the firehose, never read: the buffers fill, writes block.
    let stalled = raw_get(&client, "/firehose").await;
    cleanups.wait_for(1, Duration::from_secs(10)).await;
    // The server is still fine for everyone else.
    assert_eq!(client.get("/health").send().await.text().await, "ok");
    drop(stalled);
}

#[tokio::test]
async fn connections_over_the_limit_get_503_and_the_others_keep_streaming() {
    let cleanups = Cleanups::default();
    let limits = Limits::default().max_connections(2);
    let client = spawn(limits, &cleanups).await;
    let first = client.get("/ticker").send().await.events();
    let second = client.get("/ticker").send().await.events();
    let mut third = raw_get(&client, "/health").await;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(3), third.read_to_string(&mut answer))
        .await
        .expect("refused promptly")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too many connections"), "{answer}");
    // The two admitted streams still deliver.
    for mut events in [first, second] {
        assert!(events.next().await.is_some());
    }
}

#[tokio::test]
async fn a_slowloris_client_is_cut_off_after_the_header_read_timeout() {
    let cleanups = Cleanups::default();
    let limits = Limits::default().header_read_timeout(Duration::from_millis(300));
    let client = spawn(limits, &cleanups).await;
    let mut slow = TcpStream::connect(client.addr().unwrap()).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(3), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "connection still open after 3 s");
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "unexpected answer: {text}"
    );
}

/// Reads until the server closes `socket`; how long that took, and what it sent.
async fn time_until_closed(mut socket: TcpStream, within: Duration) -> (Duration, Vec<u8>) {
    let start = tokio::time::Instant::now();
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(within, async {
        let mut buf = [0u8; 1024];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "connection still open after {within:?}");
    (start.elapsed(), answer)
}

#[tokio::test]
async fn a_silent_client_is_disconnected_after_the_header_read_timeout() {
    // The server peeks at a plain connection's first bytes to tell HTTP/1.1 from h2c:
    // a client that connects and sends nothing must not hold that peek (and its
    // connection slot) forever.
    let cleanups = Cleanups::default();
    let timeout = Duration::from_millis(300);
    let limits = Limits::default().header_read_timeout(timeout);
    let client = spawn(limits, &cleanups).await;
    let mut streaming = client.get("/ticker").send().await.events();
    assert!(streaming.next().await.is_some());

    let silent = TcpStream::connect(client.addr().unwrap()).await.unwrap();
    let (after, answer) = time_until_closed(silent, Duration::from_secs(5)).await;
    assert!(answer.is_empty(), "unexpected answer: {answer:?}");
    assert!(
        after >= timeout - Duration::from_millis(50),
        "closed after {after:?}, before the header read timeout"
    );
    assert!(
        after < Duration::from_secs(3),
        "closed only after {after:?}"
    );

    // The server keeps serving: a new request, and the stream that was open all along.
    assert_eq!(client.get("/health").send().await.text().await, "ok");
    assert!(streaming.next().await.is_some());
}

#[tokio::test]
async fn a_client_that_stops_inside_the_http2_preface_is_disconnected() {
    // Bytes that could still become the h2c preface (or, for a lone `P`, an HTTP/1.1
    // `POST`/`PUT`/`PATCH`) do not tell the protocol yet: a client stalling there must be
    // cut off by the header read timeout as well.
    let cleanups = Cleanups::default();
    let timeout = Duration::from_millis(300);
    let limits = Limits::default().header_read_timeout(timeout);
    let client = spawn(limits, &cleanups).await;
    for prefix in [
        &b"P"[..],
        b"PRI * HTTP/2.0\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n",
    ] {
        let mut stalled = TcpStream::connect(client.addr().unwrap()).await.unwrap();
        stalled.write_all(prefix).await.unwrap();
        let (after, _) = time_until_closed(stalled, Duration::from_secs(5)).await;
        assert!(
            after < Duration::from_secs(3),
            "{prefix:?}: closed only after {after:?}"
        );
    }
    // A preface sent in pieces still gets HTTP/2, and the server keeps serving.
    let mut split = TcpStream::connect(client.addr().unwrap()).await.unwrap();
    split.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    split.write_all(b"\r\nSM\r\n\r\n").await.unwrap();
    split.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap(); // empty SETTINGS
    let mut frame = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(3), split.read_exact(&mut frame))
        .await
        .expect("the server answers a split preface")
        .unwrap();
    assert_eq!(
        frame[3], 4,
        "the server's first frame is SETTINGS: {frame:?}"
    );
    assert_eq!(client.get("/health").send().await.text().await, "ok");
}

#[tokio::test]
async fn an_idle_http1_keep_alive_connection_is_closed_after_the_header_read_timeout() {
    // HTTP/1.1's counterpart of the HTTP/2 idle timeout is hyper's: the wait for the next
    // request's head on a keep-alive connection is bounded by the header read timeout.
    let cleanups = Cleanups::default();
    let timeout = Duration::from_millis(300);
    let limits = Limits::default().header_read_timeout(timeout);
    let client = spawn(limits, &cleanups).await;
    let mut kept = TcpStream::connect(client.addr().unwrap()).await.unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    kept.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let (after, _) = time_until_closed(kept, Duration::from_secs(5)).await;
    assert!(
        after < Duration::from_secs(3),
        "closed only after {after:?}"
    );
}

/// The types of the HTTP/2 frames in `bytes` (a server's output after the preface).
fn h2_frame_types(bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 9 {
        let len = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        types.push(rest[3]);
        rest = &rest[(9 + len).min(rest.len())..];
    }
    types
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_after_the_idle_timeout() {
    // hyper keeps an HTTP/2 connection without streams open forever; each one holds a
    // connection slot. The server closes it (GOAWAY) after `idle_timeout`.
    let cleanups = Cleanups::default();
    let idle = Duration::from_millis(300);
    let limits = Limits::default().idle_timeout(idle);
    let client = spawn(limits, &cleanups).await;
    let mut h2 = TcpStream::connect(client.addr().unwrap()).await.unwrap();
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    h2.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap(); // empty SETTINGS
    let (after, answer) = time_until_closed(h2, Duration::from_secs(5)).await;
    assert!(
        after >= idle - Duration::from_millis(50),
        "closed after {after:?}, before the idle timeout"
    );
    assert!(
        after < Duration::from_secs(3),
        "closed only after {after:?}"
    );
    let types = h2_frame_types(&answer);
    assert!(
        types.contains(&7),
        "no GOAWAY before the close: frame types {types:?}"
    );
    assert_eq!(client.get("/health").send().await.text().await, "ok");
}

#[tokio::test]
async fn an_http2_connection_with_an_open_stream_is_not_idle() {
    let cleanups = Cleanups::default();
    let idle = Duration::from_millis(300);
    let limits = Limits::default().idle_timeout(idle);
    let client = spawn_over(Protocol::Http2, limits, &cleanups).await;
    let mut events = client.get("/ticker").send().await.events();
    // Four idle timeouts' worth of events (one every 50 ms) on the one connection.
    for _ in 0..24 {
        let next = tokio::time::timeout(Duration::from_secs(2), events.next()).await;
        assert!(matches!(next, Ok(Some(_))), "the stream ended while open");
    }
    assert_eq!(cleanups.count(), 0);
    drop(events);
    cleanups.wait_for(1, Duration::from_secs(5)).await;
    // Once idle, the connection goes away; the client simply opens a new one.
    tokio::time::sleep(idle * 3).await;
    assert_eq!(client.get("/health").send().await.text().await, "ok");
}

#[tokio::test]
async fn oversize_headers_are_refused_and_the_server_keeps_serving() {
    let cleanups = Cleanups::default();
    let client = spawn(Limits::default(), &cleanups).await;
    let mut big = TcpStream::connect(client.addr().unwrap()).await.unwrap();
    let header = "a".repeat(128 * 1024);
    let _ = big
        .write_all(format!("GET /health HTTP/1.1\r\nhost: x\r\nx-big: {header}\r\n\r\n").as_bytes())
        .await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), big.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 431"),
        "oversize header answer: {text:?}"
    );
    assert_eq!(client.get("/health").send().await.text().await, "ok");
}

#[tokio::test]
async fn a_stream_that_panics_after_its_first_event_ends_with_an_error_event() {
    async fn flaky() -> Sse {
        Sse::new(async_stream::stream! {
            yield ServerSentEvent::new().raw_data("before");
            tokio::time::sleep(Duration::from_millis(10)).await;
            if true {
                panic!("generator bug");
            }
            yield ServerSentEvent::new().raw_data("never");
        })
    }
    let client = TestClient::spawn(
        App::new()
            .get("/flaky", flaky)
            .get("/health", || async { "ok" }),
        Protocol::Http2,
    )
    .await;
    let events: Vec<_> = tokio::time::timeout(
        Duration::from_secs(5),
        client
            .get("/flaky")
            .send()
            .await
            .events()
            .collect::<Vec<_>>(),
    )
    .await
    .expect("stream ended");
    let names: Vec<_> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["message", "error"]);
    assert_eq!(events[0].data, "before");
    assert_eq!(client.get("/health").send().await.text().await, "ok");
}
