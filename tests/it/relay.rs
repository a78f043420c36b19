//! Relays (`sse_runtime::relay`, issue 23): an upstream event stream re-emitted by a
//! route, checked through real TCP against a fake upstream written on raw sockets, which
//! sees exactly what arrives on its connection and when the connection ends.
//!
//! - each upstream event is re-emitted as it arrives (lockstep: the upstream sends the
//!   next event only once the downstream client has the previous one);
//! - an upstream failure before the first event is a real HTTP status downstream (the
//!   mapping of `relay`'s docs), after it an `event: error`;
//! - a downstream disconnect closes the upstream connection — while the route waits for
//!   the upstream's answer, for its first event, or mid-stream; HTTP/1.1 and h2c
//!   downstream.
//!
//! `measure_relay` (ignored; `cargo test -p sse-tests --test it relay::measure_relay --
//! --ignored --nocapture`) prints the cancellation delays and the latency the relay adds
//! per event, the figures of docs/guide.md ("Consuming and relaying streams").

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use sse_runtime::client::{Client, ParsedEvent};
use sse_runtime::relay::relay;
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{error_body, App, ServerSentEvent, Sse, State, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

// ---------------------------------------------------------------------------------------
// The fake upstream: HTTP/1.1 on raw sockets.

/// One connection the fake upstream accepted, as its script writes to it.
struct Conn {
    write: OwnedWriteHalf,
}

impl Conn {
    async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.write.write_all(bytes).await?;
        self.write.flush().await
    }

    /// `200` event-stream headers; the body follows in chunks.
    async fn open_stream(&mut self) -> std::io::Result<()> {
        self.send(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
              transfer-encoding: chunked\r\n\r\n",
        )
        .await
    }

    /// One event, as one chunk.
    async fn event(&mut self, data: &str) -> std::io::Result<()> {
        let event = format!("data: {data}\n\n");
        self.send(format!("{:x}\r\n{event}\r\n", event.len()).as_bytes())
            .await
    }

    /// The end of the body.
    async fn finish(&mut self) -> std::io::Result<()> {
        self.send(b"0\r\n\r\n").await
    }

    /// A whole non-stream answer.
    async fn answer(&mut self, status: &str, headers: &str, body: &str) -> std::io::Result<()> {
        self.send(
            format!(
                "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
    }
}

/// What the fake upstream saw of one connection: the request, and when the connection
/// ended (read EOF or error), once it has.
struct Seen {
    head: String,
    closed: watch::Receiver<Option<Instant>>,
}

impl Seen {
    /// When the connection ended; fails the test if it stays open for 5 s.
    async fn closed(mut self) -> Instant {
        let closed = tokio::time::timeout(
            Duration::from_secs(5),
            self.closed.wait_for(Option::is_some),
        )
        .await
        .expect("the upstream connection stays open 5 s after the downstream left")
        .expect("the reader task ended");
        closed.expect("closed")
    }
}

struct FakeUpstream {
    addr: SocketAddr,
    seen: mpsc::UnboundedReceiver<Seen>,
}

impl FakeUpstream {
    /// Serves `script` on every connection, once its request is read.
    async fn start<F, Fut>(script: F) -> Self
    where
        F: Fn(Conn) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, seen) = mpsc::unbounded_channel();
        let script = Arc::new(script);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                socket.set_nodelay(true).expect("nodelay");
                let tx = tx.clone();
                let script = Arc::clone(&script);
                tokio::spawn(async move {
                    let (mut read, write) = socket.into_split();
                    let Some(head) = read_request(&mut read).await else {
                        return;
                    };
                    let (closed_tx, closed) = watch::channel(None);
                    // The connection's end, read as soon as it happens.
                    tokio::spawn(async move {
                        let mut buf = [0u8; 1024];
                        while matches!(read.read(&mut buf).await, Ok(n) if n > 0) {}
                        let _ = closed_tx.send(Some(Instant::now()));
                    });
                    let _ = tx.send(Seen { head, closed });
                    let _ = script(Conn { write }).await;
                });
            }
        });
        Self { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}/v1/stream", self.addr)
    }

    /// The next connection's request.
    async fn next(&mut self) -> Seen {
        tokio::time::timeout(Duration::from_secs(5), self.seen.recv())
            .await
            .expect("a request reaches the upstream within 5 s")
            .expect("the upstream runs")
    }
}

/// Reads a request head and its `content-length` body; `None` if the peer left first.
async fn read_request(read: &mut tokio::net::tcp::OwnedReadHalf) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = read.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while buf.len() < end + length {
        let n = read.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(head)
}

/// Holds the script (and so the connection) open until the peer leaves.
async fn hold() -> std::io::Result<()> {
    std::future::pending().await
}

// ---------------------------------------------------------------------------------------
// The relay under test: a route re-emitting the upstream's events, upper-cased.

async fn relayed(State(url): State<UpstreamUrl>) -> Sse {
    let upstream = Client::new()
        .post(&url.0)
        .json(&json!({ "q": "hi" }))
        .send();
    Sse::try_new(relay(upstream, |event: ParsedEvent| {
        Some(Ok(
            ServerSentEvent::new().raw_data(event.data.to_uppercase())
        ))
    }))
}

#[derive(Clone)]
struct UpstreamUrl(String);

fn gateway(upstream: &FakeUpstream) -> App {
    App::new()
        .state(UpstreamUrl(upstream.url()))
        .get("/relay", relayed)
        .first_event_window(Duration::from_secs(60))
}

/// A raw HTTP/1.1 downstream client that sent its request.
async fn downstream_h1(gateway: SocketAddr) -> TcpStream {
    let mut socket = TcpStream::connect(gateway).await.expect("connect");
    socket
        .write_all(b"GET /relay HTTP/1.1\r\nhost: test\r\naccept: text/event-stream\r\n\r\n")
        .await
        .expect("request");
    socket
}

// ---------------------------------------------------------------------------------------
// Behaviour.

/// Lockstep: the upstream writes event `i + 1` only once the downstream client has read
/// event `i`, so a relay that held events back (buffered, batched) would stall here.
#[tokio::test]
async fn each_event_is_re_emitted_as_it_arrives_in_order() {
    let (got_tx, got_rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let got_rx = Arc::new(tokio::sync::Mutex::new(got_rx));
    let upstream = FakeUpstream::start(move |mut conn| {
        let got_rx = Arc::clone(&got_rx);
        async move {
            let mut got = got_rx.lock().await;
            conn.open_stream().await?;
            for i in 0..20 {
                conn.event(&format!("token {i}")).await?;
                let confirmed = tokio::time::timeout(Duration::from_secs(5), got.recv()).await;
                assert_eq!(
                    confirmed.ok().flatten(),
                    Some(i),
                    "event {i} relayed at once"
                );
            }
            conn.finish().await
        }
    })
    .await;
    for protocol in [Protocol::Http1, Protocol::Http2] {
        let client = TestClient::spawn(gateway(&upstream), protocol).await;
        let response = client.get("/relay").send().await;
        assert_eq!(response.status(), StatusCode::OK);
        let mut events = response.events();
        for i in 0..20 {
            let event = events.next().await.expect("an event");
            assert_eq!(event.data, format!("TOKEN {i}"), "{protocol:?}");
            got_tx.send(i).expect("the upstream waits");
        }
        assert!(events.next().await.is_none(), "the upstream's end ends it");
    }
}

/// The request the upstream gets is the relay's own (a POST with its JSON body).
#[tokio::test]
async fn the_upstream_gets_the_relays_request() {
    let mut upstream = FakeUpstream::start(|mut conn| async move {
        conn.open_stream().await?;
        conn.finish().await
    })
    .await;
    let client = TestClient::new(gateway(&upstream));
    let response = client.get("/relay").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    let head = upstream.next().await.head;
    assert!(head.starts_with("POST /v1/stream HTTP/1.1\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("accept: text/event-stream"),
        "{head}"
    );
}

/// Refusals before the first event: the mapped status and a structured detail, without
/// the upstream's body.
#[tokio::test]
async fn an_upstream_refusal_before_the_first_event_is_a_real_status() {
    for (answer, headers, status, code) in [
        ("401 Unauthorized", "", 502, "upstream_unauthorized"),
        ("404 Not Found", "", 502, "upstream_not_found"),
        (
            "429 Too Many Requests",
            "retry-after: 7\r\n",
            429,
            "upstream_rate_limited",
        ),
        ("500 Internal Server Error", "", 502, "upstream_error"),
        ("503 Service Unavailable", "", 503, "upstream_unavailable"),
        ("504 Gateway Timeout", "", 504, "upstream_timeout"),
        (
            "200 OK",
            "content-type: text/html\r\n",
            502,
            "upstream_not_an_event_stream",
        ),
    ] {
        let upstream = FakeUpstream::start(move |mut conn| async move {
            conn.answer(answer, headers, r#"{"error": "key sk-secret is wrong"}"#)
                .await
        })
        .await;
        let client = TestClient::new(gateway(&upstream));
        let response = client.get("/relay").send().await;
        assert_eq!(response.status().as_u16(), status, "{answer}");
        let body: Value = response.json().await;
        assert_eq!(body["detail"]["code"], code, "{answer}");
        assert!(!body.to_string().contains("sk-secret"), "{body}");
        if status == 429 {
            assert_eq!(body["detail"]["retry_after"], "7");
        }
    }
}

/// No upstream at all (a closed port): 502.
#[tokio::test]
async fn an_unreachable_upstream_is_a_502() {
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/v1/stream", closed.local_addr().expect("addr"));
    drop(closed);
    let app = App::new().state(UpstreamUrl(url)).get("/relay", relayed);
    let response = TestClient::new(app).get("/relay").send().await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let body: Value = response.json().await;
    assert_eq!(body["detail"]["code"], "upstream_connection_failed");
}

/// A failure after the first event (the upstream's connection breaks mid-body): the
/// events so far, then one `event: error`, in the app's error shape.
#[tokio::test]
async fn an_upstream_failure_after_the_first_event_is_an_error_event() {
    let upstream = FakeUpstream::start(|mut conn| async move {
        conn.open_stream().await?;
        conn.event("one").await?;
        conn.event("two").await?;
        // Half a chunk, then the connection drops: the body is cut.
        conn.send(b"40\r\ndata: thr").await
    })
    .await;
    for (shape, expected) in [
        (
            None,
            json!({ "status": 502, "detail": {
            "message": "the upstream connection failed", "code": "upstream_connection_failed",
        } }),
        ),
        (
            Some(error_body::OpenAi),
            json!({ "error": {
            "message": "the upstream connection failed", "type": "server_error",
            "param": null, "code": "upstream_connection_failed",
        } }),
        ),
    ] {
        let mut app = gateway(&upstream);
        if let Some(shape) = shape {
            app = app.error_body(shape);
        }
        let response = TestClient::new(app).get("/relay").send().await;
        assert_eq!(response.status(), StatusCode::OK);
        let events: Vec<_> = response.events().collect().await;
        let data: Vec<_> = events.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data[..2], ["ONE", "TWO"]);
        assert_eq!(events.len(), 3, "{events:?}");
        assert_eq!(events[2].event, "error");
        assert_eq!(events[2].json::<Value>().expect("JSON"), expected);
    }
}

/// Where the downstream client leaves, for the cancellation tests.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// The upstream read the request and has not answered.
    BeforeTheAnswer,
    /// The upstream answered 200 and sends no event (a model still thinking).
    BeforeTheFirstEvent,
    /// The upstream sent events and goes on sending.
    MidStream,
}

/// The upstream script of `phase`.
async fn script(phase: Phase, mut conn: Conn) -> std::io::Result<()> {
    match phase {
        Phase::BeforeTheAnswer => hold().await,
        Phase::BeforeTheFirstEvent => {
            conn.open_stream().await?;
            hold().await
        }
        Phase::MidStream => {
            conn.open_stream().await?;
            for i in 0.. {
                conn.event(&format!("token {i}")).await?;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(())
        }
    }
}

/// Opens a relay from a downstream client over `protocol`, leaves in `phase`, and returns
/// how long after the downstream close the upstream read its connection's end.
async fn cancel_once(
    upstream: &mut FakeUpstream,
    server: &TestClient,
    protocol: Protocol,
    phase: Phase,
) -> Duration {
    let gateway_addr = server.addr().expect("spawned");
    let leave = |seen_events: bool| {
        assert_eq!(
            seen_events,
            matches!(phase, Phase::MidStream),
            "the downstream got events only mid-stream"
        );
    };
    match protocol {
        Protocol::Http1 => {
            let mut socket = downstream_h1(gateway_addr).await;
            let seen = upstream.next().await;
            let mut got = Vec::new();
            if matches!(phase, Phase::MidStream) {
                let mut buf = [0u8; 4096];
                while !String::from_utf8_lossy(&got).contains("data: TOKEN 1\n") {
                    let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf));
                    let n = read.await.expect("two events within 5 s").expect("read");
                    assert!(n > 0, "the relay ended early");
                    got.extend_from_slice(&buf[..n]);
                }
            } else {
                // Nothing reaches the client: the headers wait for the first event.
                let mut buf = [0u8; 1];
                let read =
                    tokio::time::timeout(Duration::from_millis(50), socket.read(&mut buf)).await;
                assert!(read.is_err(), "no headers before the first event");
            }
            leave(!got.is_empty());
            let left = Instant::now();
            drop(socket);
            seen.closed().await - left
        }
        Protocol::Http2 => {
            let client = server.clone();
            let (tx, mut rx) = mpsc::unbounded_channel();
            let request = tokio::spawn(async move {
                let response = client.get("/relay").send().await;
                let mut events = response.events();
                while let Some(event) = events.next().await {
                    let _ = tx.send(event.data);
                }
            });
            let seen = upstream.next().await;
            let mut got = false;
            if matches!(phase, Phase::MidStream) {
                let second =
                    async { while rx.recv().await.is_some_and(|data| data != "TOKEN 1") {} };
                tokio::time::timeout(Duration::from_secs(5), second)
                    .await
                    .expect("two events within 5 s");
                got = true;
            } else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                assert!(rx.try_recv().is_err());
            }
            leave(got);
            let left = Instant::now();
            // Aborting the task drops the response: the h2 client resets the stream.
            request.abort();
            seen.closed().await - left
        }
    }
}

/// A downstream disconnect closes the upstream connection in every phase, over HTTP/1.1
/// and h2c downstream (the delay is measured by `measure_relay`, not asserted).
#[tokio::test]
async fn a_downstream_disconnect_closes_the_upstream_connection() {
    for phase in [
        Phase::BeforeTheAnswer,
        Phase::BeforeTheFirstEvent,
        Phase::MidStream,
    ] {
        let mut upstream = FakeUpstream::start(move |conn| script(phase, conn)).await;
        for protocol in [Protocol::Http1, Protocol::Http2] {
            let server = TestClient::spawn(gateway(&upstream), protocol).await;
            let delay = cancel_once(&mut upstream, &server, protocol, phase).await;
            eprintln!("{phase:?} over {protocol:?}: the upstream saw its connection end {delay:?} after the downstream left");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Measurements (ignored: figures, not assertions).

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    format!(
        "n={} p50={:.3} ms p90={:.3} ms p99={:.3} ms max={:.3} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.9).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    )
}

/// Per-event delivery delays: `count` events, `gap` apart, from when the upstream wrote
/// each to when a client of ours read it, directly from the upstream or through the
/// relay.
async fn event_delays(count: usize, gap: Duration, through_relay: bool) -> Vec<Duration> {
    let sent: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let stamps = Arc::clone(&sent);
    let upstream = FakeUpstream::start(move |mut conn| {
        let stamps = Arc::clone(&stamps);
        async move {
            conn.open_stream().await?;
            for i in 0..count {
                conn.event(&i.to_string()).await?;
                stamps.lock().expect("stamps").push(Instant::now());
                tokio::time::sleep(gap).await;
            }
            conn.finish().await
        }
    })
    .await;
    let server = TestClient::spawn(gateway(&upstream), Protocol::Http1).await;
    let url = if through_relay {
        format!("http://{}/relay", server.addr().expect("spawned"))
    } else {
        upstream.url()
    };
    let mut source = Client::new().get(&url).send();
    let mut delays = Vec::with_capacity(count);
    while delays.len() < count {
        let event = source.next().await.expect("the stream goes on");
        let now = Instant::now();
        let event = event.expect("an event");
        let i: usize = event.data.to_lowercase().parse().expect("an index");
        let at = sent.lock().expect("stamps").get(i).copied();
        // The stamp is taken after the write returns: an event read first counts as 0.
        delays.push(at.map_or(Duration::ZERO, |at| now.saturating_duration_since(at)));
    }
    assert_eq!(delays.len(), count);
    delays
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn measure_relay() {
    println!(
        "cancellation: from the downstream close to the upstream's read of its connection's end"
    );
    for phase in [
        Phase::BeforeTheAnswer,
        Phase::BeforeTheFirstEvent,
        Phase::MidStream,
    ] {
        let mut upstream = FakeUpstream::start(move |conn| script(phase, conn)).await;
        for protocol in [Protocol::Http1, Protocol::Http2] {
            let server = TestClient::spawn(gateway(&upstream), protocol).await;
            let mut samples = Vec::new();
            for _ in 0..30 {
                samples.push(cancel_once(&mut upstream, &server, protocol, phase).await);
            }
            println!("  {phase:?}, downstream {protocol:?}: {}", summary(samples));
        }
    }
    println!("per-event delay, upstream write -> client read, 1000 events 2 ms apart (HTTP/1.1):");
    let direct = event_delays(1000, Duration::from_millis(2), false).await;
    let relayed = event_delays(1000, Duration::from_millis(2), true).await;
    let median = |mut v: Vec<Duration>| {
        v.sort();
        percentile(&v, 0.5)
    };
    let added = median(relayed.clone()).saturating_sub(median(direct.clone()));
    println!("  direct from the upstream: {}", summary(direct));
    println!("  through the relay:        {}", summary(relayed));
    println!(
        "  added by the relay (p50): {:.3} ms",
        added.as_secs_f64() * 1e3
    );
}
