//! The runtime core without macros: streaming responses, keep-alive, disconnect cleanup,
//! router errors, extractors, shutdown — in process and over real TCP (HTTP/1.1 and h2c).

use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{
    App, HttpError, Json, JsonLines, KeepAlive, LastEventId, Path, Query, ServerSentEvent, Sse,
    State, StatusCode,
};
use sse_tests::cleanups::Cleanups;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An endless stream, 20 ms apart, with a drop guard.
pub(crate) async fn endless(State(cleanups): State<Cleanups>) -> Sse {
    Sse::new(async_stream::stream! {
        let _guard = cleanups.guard();
        for i in 0u64.. {
            yield ServerSentEvent::new().data(i).id(i.to_string());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// `GET /endless` ([`endless`]), `GET /idle` ([`idle`]) and `GET /quiet` (no events, a
/// keep-alive every [`QUIET_PING`]), counting their cleanups.
pub(crate) fn stream_app(cleanups: &Cleanups) -> App {
    async fn quiet() -> Sse {
        Sse::new(futures_util::stream::pending::<ServerSentEvent>())
            .keep_alive(KeepAlive::new().interval(QUIET_PING))
    }
    App::new()
        .get("/endless", endless)
        .get("/idle", idle)
        .get("/quiet", quiet)
        .state(cleanups.clone())
}

/// The keep-alive interval of `GET /quiet` in [`stream_app`].
pub(crate) const QUIET_PING: Duration = Duration::from_millis(50);

/// `GET {path}` on the `quiet` route of [`stream_app`]: over a real socket and clock, only
/// keep-alive comments arrive, one per interval.
pub(crate) async fn keep_alive_arrives_on_time(client: &TestClient, path: &str) {
    let start = std::time::Instant::now();
    let mut frames = client.get(path).send().await.frames();
    for n in 1..=3u32 {
        let frame = tokio::time::timeout(Duration::from_secs(5), frames.next())
            .await
            .expect("a keep-alive within 5 s")
            .expect("the stream is open");
        assert!(frame.is_comment_only(), "{frame:?}");
        assert_eq!(frame.comments, ["ping"]);
        assert!(start.elapsed() >= QUIET_PING * n, "ping {n} came early");
    }
}

/// One event, then nothing (not even a keep-alive), with a drop guard.
pub(crate) async fn idle(State(cleanups): State<Cleanups>) -> Sse {
    Sse::new(async_stream::stream! {
        let _guard = cleanups.guard();
        yield ServerSentEvent::new().raw_data("first");
        std::future::pending::<()>().await;
    })
    .keep_alive(KeepAlive::disabled())
}

/// `GET {path}` on [`endless`]: an event stream, three events, then the client goes away
/// and the server must notice and run the stream's cleanup.
pub(crate) async fn streams_then_cleans_up(client: &TestClient, path: &str, cleanups: &Cleanups) {
    let before = cleanups.count();
    let response = client.get(path).send().await;
    assert_eq!(
        response.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    let events: Vec<_> = response.events().take(3).collect().await;
    assert_eq!(events[2].data, "2");
    // The response (and its connection) is gone: the server must notice and clean up.
    cleanups.wait_for(before + 1, Duration::from_secs(5)).await;
}

/// A raw TCP client of `GET {path}` on [`idle`]: connect, read the one event, close; the
/// cleanup must run promptly even while the stream is idle (no more writes that could
/// fail).
pub(crate) async fn raw_disconnect_of_an_idle_stream_cleans_up(
    addr: std::net::SocketAddr,
    path: &str,
    cleanups: &Cleanups,
) {
    let before = cleanups.count();
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    // Chunked encoding wraps the event; look for it inside the chunk.
    while !seen.windows(13).any(|w| w == b"data: first\n\n") {
        let n = socket.read(&mut buf).await.unwrap();
        assert!(n > 0, "server closed early");
        seen.extend_from_slice(&buf[..n]);
    }
    assert_eq!(cleanups.count(), before);
    drop(socket);
    cleanups.wait_for(before + 1, Duration::from_secs(3)).await;
}

#[tokio::test]
async fn event_stream_has_exact_headers_and_events() {
    let cleanups = Cleanups::default();
    let client = TestClient::new(stream_app(&cleanups));
    let response = client.get("/endless").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    assert_eq!(response.header("x-accel-buffering"), Some("no"));
    let events: Vec<_> = response.events().take(3).collect().await;
    let ids: Vec<_> = events.iter().map(|e| e.last_event_id.as_str()).collect();
    assert_eq!(ids, ["0", "1", "2"]);
    assert_eq!(events[1].data, "1");
    cleanups.wait_for(1, Duration::from_secs(2)).await;
}

async fn over_socket(protocol: Protocol) {
    let cleanups = Cleanups::default();
    let client = TestClient::spawn(stream_app(&cleanups), protocol).await;
    streams_then_cleans_up(&client, "/endless", &cleanups).await;
}

#[tokio::test]
async fn streams_over_http1_socket_and_cleans_up_on_disconnect() {
    over_socket(Protocol::Http1).await;
}

#[tokio::test]
async fn streams_over_http2_socket_and_cleans_up_on_disconnect() {
    over_socket(Protocol::Http2).await;
}

#[tokio::test]
async fn keep_alive_arrives_on_time_over_http1_and_http2_sockets() {
    for protocol in [Protocol::Http1, Protocol::Http2] {
        let client = TestClient::spawn(stream_app(&Cleanups::default()), protocol).await;
        keep_alive_arrives_on_time(&client, "/quiet").await;
    }
}

/// A raw TCP client: connect, read one event, close; the cleanup must run promptly even
/// while the stream is idle (no more writes that could fail).
#[tokio::test]
async fn raw_tcp_disconnect_of_an_idle_stream_runs_cleanup() {
    let cleanups = Cleanups::default();
    let client = TestClient::spawn(stream_app(&cleanups), Protocol::Http1).await;
    let addr = client.addr().expect("spawned");
    raw_disconnect_of_an_idle_stream_cleans_up(addr, "/idle", &cleanups).await;
}

#[tokio::test(start_paused = true)]
async fn keep_alive_comment_after_idle_interval_and_timer_restarts_after_events() {
    async fn slow() -> Sse {
        Sse::new(async_stream::stream! {
            yield ServerSentEvent::new().raw_data("a");           // t = 0
            tokio::time::sleep(Duration::from_millis(800)).await;
            yield ServerSentEvent::new().raw_data("b");           // t = 0.8
            tokio::time::sleep(Duration::from_secs(10)).await;
        })
    }
    let app = App::new()
        .get("/slow", slow)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(1)));
    let start = tokio::time::Instant::now();
    let mut frames = TestClient::new(app).get("/slow").send().await.frames();
    let mut log = Vec::new();
    for _ in 0..5 {
        let frame = frames.next().await.expect("frame");
        let at = (tokio::time::Instant::now() - start).as_millis();
        let what = if frame.is_comment_only() {
            format!(":{}", frame.comments.join("|"))
        } else {
            frame.data.unwrap_or_default()
        };
        log.push((what, at));
    }
    // The first ping comes 1 s after "b" (not 1 s after the start), then every second.
    assert_eq!(
        log,
        [
            ("a".to_owned(), 0),
            ("b".to_owned(), 800),
            (":ping".to_owned(), 1800),
            (":ping".to_owned(), 2800),
            (":ping".to_owned(), 3800),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn keep_alive_default_is_15_seconds_and_can_be_disabled_per_response() {
    async fn quiet() -> Sse {
        Sse::new(futures_util::stream::pending::<ServerSentEvent>())
    }
    async fn silent() -> Sse {
        Sse::new(futures_util::stream::pending::<ServerSentEvent>())
            .keep_alive(KeepAlive::disabled())
    }
    let client = TestClient::new(App::new().get("/quiet", quiet).get("/silent", silent));
    let start = tokio::time::Instant::now();
    let mut chunks = client.get("/quiet").send().await.chunks();
    let first = chunks.next().await.unwrap();
    assert_eq!(&first[..], b": ping\n\n");
    assert_eq!((tokio::time::Instant::now() - start).as_secs(), 15);

    let mut chunks = client.get("/silent").send().await.chunks();
    let waited = tokio::time::timeout(Duration::from_secs(120), chunks.next()).await;
    assert!(waited.is_err(), "a disabled keep-alive sent {waited:?}");
}

#[tokio::test]
async fn keep_alive_never_lands_inside_an_event() {
    // Bursty multi-line events and a 1 ms keep-alive: every block must be whole.
    async fn bursty() -> Sse {
        Sse::new(async_stream::stream! {
            for i in 0..200u32 {
                yield ServerSentEvent::new().event("burst").raw_data(format!("line {i}\nsecond\nthird")).id(i.to_string());
                if i % 7 == 0 {
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
            }
        })
        .keep_alive(KeepAlive::new().interval(Duration::from_millis(1)))
    }
    let body = TestClient::new(App::new().get("/b", bursty))
        .get("/b")
        .send()
        .await
        .text()
        .await;
    let mut events = 0;
    for block in body.split_terminator("\n\n") {
        if block == ": ping" {
            continue;
        }
        let lines: Vec<_> = block.split('\n').collect();
        assert_eq!(lines.len(), 5, "torn block: {block:?}");
        assert_eq!(lines[0], "event: burst");
        assert_eq!(lines[2], "data: second");
        events += 1;
    }
    assert_eq!(events, 200);
}

#[tokio::test]
async fn retry_hint_is_the_first_line() {
    async fn with_retry() -> Sse {
        Sse::new(futures_util::stream::iter([1, 2])).retry(Duration::from_millis(2500))
    }
    let body = TestClient::new(App::new().get("/r", with_retry))
        .get("/r")
        .send()
        .await
        .text()
        .await;
    assert_eq!(body, "retry: 2500\n\ndata: 1\n\ndata: 2\n\n");
}

#[tokio::test]
async fn ready_events_are_coalesced_into_one_write() {
    async fn burst() -> Sse {
        Sse::new(futures_util::stream::iter(0..100))
    }
    let chunks: Vec<_> = TestClient::new(App::new().get("/burst", burst))
        .get("/burst")
        .send()
        .await
        .chunks()
        .collect()
        .await;
    assert_eq!(chunks.len(), 1, "100 ready events should make one frame");
    assert!(chunks[0].starts_with(b"data: 0\n\ndata: 1\n\n"));
}

#[tokio::test]
async fn unknown_path_is_404_and_wrong_method_is_405_with_allow() {
    let client = TestClient::new(App::new().get("/only-get", || async { "ok" }));
    let response = client.get("/missing").send().await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.text().await, r#"{"detail":"Not Found"}"#);

    let response = client.post("/only-get").send().await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.header("allow"), Some("GET, HEAD"));
    assert_eq!(response.text().await, r#"{"detail":"Method Not Allowed"}"#);
}

#[tokio::test]
async fn head_answers_a_get_route_without_body_and_without_running_the_stream() {
    let cleanups = Cleanups::default();
    let client = TestClient::new(stream_app(&cleanups));
    let response = client.head("/endless").send().await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(response.text().await, "");
}

#[test]
fn conflicting_and_invalid_routes_fail_at_build_not_at_serve() {
    let err = App::new()
        .get("/a/{id}", || async { "" })
        .get("/a/{name}", || async { "" })
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("/a/{name}"), "{err}");
    let err = App::new()
        .get("/a/{open", || async { "" })
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("invalid route"), "{err}");
    let err = App::new()
        .get("/dup", || async { "" })
        .get("/dup", || async { "" })
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
}

#[derive(Deserialize)]
struct Search {
    q: String,
    limit: Option<u32>,
}

#[derive(Deserialize, serde::Serialize)]
struct Message {
    text: String,
    count: u32,
}

async fn item(Path((kind, id)): Path<(String, u32)>, Query(search): Query<Search>) -> String {
    format!("{kind}/{id}?{}&{:?}", search.q, search.limit)
}

async fn echo(Json(message): Json<Message>) -> Json<Message> {
    Json(message)
}

async fn resume(last: LastEventId<u64>) -> String {
    format!("{:?}", last.0)
}

fn extractor_app() -> App {
    App::new()
        .get("/items/{kind}/{id}", item)
        .post("/echo", echo)
        .get("/resume", resume)
        .limits(sse_runtime::Limits::default().max_body_bytes(64))
}

#[tokio::test]
async fn extractors_read_path_query_json_and_last_event_id() {
    let client = TestClient::new(extractor_app());
    let text = client
        .get("/items/book/42?q=rust&limit=3")
        .send()
        .await
        .text()
        .await;
    assert_eq!(text, "book/42?rust&Some(3)");
    let message: Message = client
        .post("/echo")
        .json(&serde_json::json!({"text": "hi", "count": 2}))
        .send()
        .await
        .json()
        .await;
    assert_eq!((message.text.as_str(), message.count), ("hi", 2));
    let text = client
        .get("/resume")
        .header("last-event-id", "41")
        .send()
        .await
        .text()
        .await;
    assert_eq!(text, "Some(41)");
    assert_eq!(client.get("/resume").send().await.text().await, "None");
}

async fn detail(response: sse_runtime::testing::TestResponse) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    (status, response.json::<serde_json::Value>().await)
}

#[tokio::test]
async fn failed_extractions_are_4xx_with_a_json_body_naming_the_parameter() {
    let client = TestClient::new(extractor_app());

    let (status, body) = detail(client.get("/items/book/abc?q=x").send().await).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], serde_json::json!(["path", "id"]));
    assert_eq!(body["detail"][0]["type"], "int_parsing");
    assert_eq!(body["detail"][0]["input"], "abc");

    let (status, body) = detail(client.get("/items/book/1").send().await).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], serde_json::json!(["query", "q"]));
    assert_eq!(body["detail"][0]["type"], "missing");

    let (status, body) = detail(client.get("/items/book/1?q=x&limit=lots").send().await).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["detail"][0]["loc"],
        serde_json::json!(["query", "limit"])
    );

    let (status, body) = detail(
        client
            .post("/echo")
            .header("content-type", "application/json")
            .body("{\"text\": ")
            .send()
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "json_invalid");

    let (status, body) = detail(
        client
            .post("/echo")
            .json(&serde_json::json!({"text": "hi", "count": "two"}))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["detail"][0]["loc"],
        serde_json::json!(["body", "count"])
    );

    let (status, _) = detail(client.post("/echo").body("{}").send().await).await;
    assert_eq!(status, 415);

    let big = serde_json::json!({"text": "x".repeat(100), "count": 1});
    let (status, body) = detail(client.post("/echo").json(&big).send().await).await;
    assert_eq!(status, 413);
    assert!(body["detail"][0]["msg"].as_str().unwrap().contains("64"));

    let (status, body) = detail(
        client
            .get("/resume")
            .header("last-event-id", "garbage")
            .send()
            .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["detail"][0]["loc"],
        serde_json::json!(["header", "last-event-id"])
    );

    // A `State<T>` nobody registered is no longer a 500 per request: the app does not
    // build (tests/it/startup.rs).
    let err = App::new()
        .get("/needs-state", |State(n): State<u8>| async move {
            n.to_string()
        })
        .build()
        .expect_err("a missing state fails the build");
    assert!(err.to_string().contains("State<u8>"), "{err}");
}

#[tokio::test]
async fn json_body_limit_holds_over_a_real_socket() {
    let client = TestClient::spawn(extractor_app(), Protocol::Http1).await;
    let big = serde_json::json!({"text": "x".repeat(10_000), "count": 1});
    let response = client.post("/echo").json(&big).send().await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn default_json_body_limit_is_2_mib() {
    let client = TestClient::new(App::new().post("/echo", echo));
    let big = serde_json::json!({"text": "x".repeat(2 * 1024 * 1024), "count": 1});
    assert_eq!(client.post("/echo").json(&big).send().await.status(), 413);
    let fits = serde_json::json!({"text": "x".repeat(2 * 1024 * 1024 - 100), "count": 1});
    assert_eq!(client.post("/echo").json(&fits).send().await.status(), 200);
}

#[tokio::test]
async fn error_item_before_the_first_event_is_an_http_error() {
    async fn rejects() -> Sse {
        Sse::try_new(futures_util::stream::iter([Err::<u32, _>(
            HttpError::not_found("no such symbol"),
        )]))
    }
    async fn fails() -> Sse {
        Sse::try_new(futures_util::stream::iter([Err::<u32, _>("database down")]))
    }
    let client = TestClient::new(App::new().get("/rejects", rejects).get("/fails", fails));
    let (status, body) = detail(client.get("/rejects").send().await).await;
    assert_eq!(
        (status, body),
        (404, serde_json::json!({"detail": "no such symbol"}))
    );
    let (status, body) = detail(client.get("/fails").send().await).await;
    assert_eq!(
        (status, body),
        (500, serde_json::json!({"detail": "database down"}))
    );
}

#[tokio::test]
async fn error_item_after_the_first_event_is_an_error_event_and_ends_the_stream() {
    async fn later() -> Sse {
        Sse::try_new(futures_util::stream::iter([
            Ok(1),
            Err(HttpError::forbidden("quota exceeded")),
            Ok(3),
        ]))
    }
    let response = TestClient::new(App::new().get("/later", later))
        .get("/later")
        .send()
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await,
        "data: 1\n\nevent: error\ndata: {\"status\":403,\"detail\":\"quota exceeded\"}\n\n"
    );
}

#[tokio::test]
async fn an_invalid_event_ends_the_stream_with_an_error_event_instead_of_injecting() {
    async fn injects() -> Sse {
        Sse::new(futures_util::stream::iter([
            ServerSentEvent::new().raw_data("ok"),
            ServerSentEvent::new().raw_data("x").id("1\ndata: evil"),
        ]))
    }
    let body = TestClient::new(App::new().get("/i", injects))
        .get("/i")
        .send()
        .await
        .text()
        .await;
    assert!(!body.contains("evil"), "{body}");
    assert!(body.starts_with("data: ok\n\nevent: error\n"), "{body}");
}

#[tokio::test]
async fn plain_routes_return_json_text_status_and_responses() {
    let app = App::new()
        .get("/json", || async { Json(serde_json::json!({"ok": true})) })
        .get("/text", || async { String::from("text") })
        .get("/static", || async { "static" })
        .get("/status", || async { StatusCode::NO_CONTENT })
        .get("/created", || async { (StatusCode::CREATED, "made") })
        .get("/error", || async {
            Err::<String, _>(HttpError::unauthorized("token required"))
        });
    let client = TestClient::new(app);
    let response = client.get("/json").send().await;
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.text().await, r#"{"ok":true}"#);
    let response = client.get("/text").send().await;
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.text().await, "text");
    assert_eq!(client.get("/static").send().await.text().await, "static");
    assert_eq!(client.get("/status").send().await.status(), 204);
    assert_eq!(client.get("/created").send().await.status(), 201);
    let (status, body) = detail(client.get("/error").send().await).await;
    assert_eq!(
        (status, body),
        (401, serde_json::json!({"detail": "token required"}))
    );
}

#[tokio::test]
async fn json_lines_stream_one_document_per_line() {
    async fn rows() -> JsonLines {
        JsonLines::new(futures_util::stream::iter(0..3).map(|i| serde_json::json!({"i": i})))
    }
    let response = TestClient::spawn(App::new().get("/rows", rows), Protocol::Http1)
        .await
        .get("/rows")
        .send()
        .await;
    assert_eq!(
        response.header("content-type"),
        Some("application/x-ndjson")
    );
    assert_eq!(response.text().await, "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n");
}

#[tokio::test]
async fn a_panicking_handler_gets_500_and_the_server_keeps_serving() {
    async fn boom() -> String {
        panic!("handler bug")
    }
    let client = TestClient::spawn(
        App::new()
            .get("/boom", boom)
            .get("/fine", || async { "fine" }),
        Protocol::Http1,
    )
    .await;
    let (status, body) = detail(client.get("/boom").send().await).await;
    assert_eq!(
        (status, body),
        (500, serde_json::json!({"detail": "Internal Server Error"}))
    );
    assert_eq!(client.get("/fine").send().await.text().await, "fine");
}

#[tokio::test]
async fn graceful_shutdown_ends_open_streams_runs_cleanup_and_returns() {
    let cleanups = Cleanups::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = stream_app(&cleanups)
        .shutdown_grace(Duration::from_secs(2))
        .farewell(
            ServerSentEvent::new()
                .event("bye")
                .raw_data("server restarting"),
        )
        .unwrap();
    let server = tokio::spawn(app.serve_with_shutdown(listener, async {
        let _ = stop_rx.await;
    }));

    // Two raw HTTP/1.1 clients, each reading a live stream.
    let mut streams = Vec::new();
    for _ in 0..2 {
        let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        socket
            .write_all(b"GET /endless HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        streams.push(socket);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop_tx.send(()).unwrap();
    let served = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returned within the grace period")
        .unwrap();
    assert!(served.is_ok());
    assert_eq!(cleanups.count(), 2);
    for mut socket in streams {
        let mut all = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), socket.read_to_end(&mut all)).await;
        let text = String::from_utf8_lossy(&all);
        assert!(
            text.contains("event: bye\ndata: server restarting\n\n"),
            "{text}"
        );
        // The chunked body was terminated properly.
        assert!(text.ends_with("0\r\n\r\n"), "{text:?}");
    }
    // Nothing listens any more.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn shutdown_ends_http2_streams_with_the_farewell() {
    let cleanups = Cleanups::default();
    let app = stream_app(&cleanups)
        .farewell(ServerSentEvent::new().event("bye").raw_data("later"))
        .unwrap();
    let client = TestClient::spawn(app, Protocol::Http2).await;
    let mut events = client.get("/endless").send().await.events();
    assert_eq!(events.next().await.unwrap().data, "0");
    client.shutdown();
    let rest: Vec<_> = tokio::time::timeout(Duration::from_secs(5), events.collect::<Vec<_>>())
        .await
        .expect("stream ended");
    assert_eq!(rest.last().map(|e| e.event.as_str()), Some("bye"));
    cleanups.wait_for(1, Duration::from_secs(2)).await;
}
