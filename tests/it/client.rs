//! `sse_runtime::client` (issue 23) through real requests: our own servers on
//! `127.0.0.1:0`, over HTTP/1.1, h2c and TLS (ALPN h2). Reconnection times are a few
//! milliseconds (the server's `retry:`), and every test asserts behaviour, not timing: a
//! `retry:` that were ignored would leave the client waiting its 60 s initial delay, past
//! the test's timeout.
//!
//! `cargo test -p sse-tests --test it client`

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use sse_runtime::client::{Backoff, Client, ClientError};
use sse_runtime::http::request::Parts;
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{
    App, Coding, Compression, HttpError, IntoResponse, Json, KeepAlive, LastEventId, Response,
    ServerSentEvent, Sse, State, StatusCode,
};
use sse_tests::cleanups::Cleanups;

/// What the servers record: one entry per request.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Request>>>);

#[derive(Clone, Debug)]
struct Request {
    path: String,
    last_event_id: Option<String>,
    body: Option<serde_json::Value>,
    version: sse_runtime::http::Version,
}

impl Seen {
    fn push(&self, request: Request) {
        self.0.lock().unwrap().push(request);
    }

    fn all(&self, path: &str) -> Vec<Request> {
        let all = self.0.lock().unwrap();
        all.iter().filter(|r| r.path == path).cloned().collect()
    }
}

fn seen(parts: &Parts, body: Option<serde_json::Value>) -> Request {
    Request {
        path: parts.uri.path().to_owned(),
        last_event_id: parts
            .headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
        version: parts.version,
    }
}

/// A long initial reconnection time: only the server's `retry:` makes tests fast.
const SLOW: Duration = Duration::from_secs(60);
/// No test takes longer than this unless the client misbehaves.
const LIMIT: Duration = Duration::from_secs(20);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: no result within {LIMIT:?}"),
    }
}

/// Numbers, three per connection, resumed after `Last-Event-ID`, `retry: 5` first; 204
/// after 8.
async fn numbers(parts: Parts, last: LastEventId<u64>, State(seen_by): State<Seen>) -> Response {
    seen_by.push(seen(&parts, None));
    let start = last.0.map_or(0, |id| id + 1);
    if start > 8 {
        return StatusCode::NO_CONTENT.into_response();
    }
    Sse::new(futures_util::stream::iter((start..start + 3).map(|n| {
        ServerSentEvent::new()
            .data(serde_json::json!({ "n": n }))
            .id(n.to_string())
    })))
    .retry(Duration::from_millis(5))
    .keep_alive(KeepAlive::disabled())
    .into_response()
}

/// Echoes the JSON body in two events; `retry: 5`; then the stream ends.
async fn echo(
    parts: Parts,
    State(seen_by): State<Seen>,
    Json(body): Json<serde_json::Value>,
) -> Sse {
    seen_by.push(seen(&parts, Some(body.clone())));
    let base = parts
        .headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(0, |id| id + 1);
    Sse::new(futures_util::stream::iter((base..base + 2).map(move |n| {
        ServerSentEvent::new()
            .data(serde_json::json!({ "n": n, "echo": body }))
            .id(n.to_string())
    })))
    .retry(Duration::from_millis(5))
    .keep_alive(KeepAlive::disabled())
}

/// One event with `retry: 5`, then (on every later request) what `mode` says.
async fn then_fail(
    parts: Parts,
    sse_runtime::Path(mode): sse_runtime::Path<String>,
    State(seen_by): State<Seen>,
) -> Response {
    seen_by.push(seen(&parts, None));
    if seen_by.all(parts.uri.path()).len() == 1 {
        return Sse::new(futures_util::stream::iter([ServerSentEvent::new()
            .raw_data("first")
            .id("1")
            .retry(Duration::from_millis(5))]))
        .keep_alive(KeepAlive::disabled())
        .into_response();
    }
    match mode.as_str() {
        "204" => StatusCode::NO_CONTENT.into_response(),
        "503" => {
            let mut response = HttpError::with_detail(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({ "code": "overloaded" }),
            )
            .into_response();
            response
                .headers_mut()
                .insert("x-upstream", "busy".parse().unwrap());
            response
        }
        "big-error" => (StatusCode::BAD_GATEWAY, "x".repeat(10_000)).into_response(),
        "text" => "data: not an event stream\n\n".into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// An endless stream whose cleanup is counted.
async fn endless(State(cleanups): State<Cleanups>) -> Sse {
    Sse::new(async_stream::stream! {
        let _guard = cleanups.guard();
        for n in 0u64.. {
            yield ServerSentEvent::new().data(n).id(n.to_string());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
}

/// Typed events, the second one not JSON of the type.
async fn mixed() -> Sse {
    Sse::new(futures_util::stream::iter([
        ServerSentEvent::new()
            .data(serde_json::json!({ "n": 1 }))
            .id("1"),
        ServerSentEvent::new()
            .event("tick")
            .raw_data("not json")
            .id("2"),
        ServerSentEvent::new()
            .event("tick")
            .data(serde_json::json!({ "n": 3 }))
            .retry(Duration::from_millis(5)),
    ]))
    .keep_alive(KeepAlive::disabled())
}

/// One event of 100 KB of data on one line, or in 1,000 lines of 100 bytes.
async fn big(sse_runtime::Path(shape): sse_runtime::Path<String>) -> Sse {
    let data = if shape == "line" {
        "y".repeat(100_000)
    } else {
        vec!["z".repeat(99); 1000].join("\n")
    };
    Sse::new(futures_util::stream::iter([
        ServerSentEvent::new().raw_data("small"),
        ServerSentEvent::new().raw_data(data),
    ]))
    .keep_alive(KeepAlive::disabled())
}

/// Headers, then nothing at all (no event, no keep-alive).
async fn stall(State(cleanups): State<Cleanups>) -> Sse {
    Sse::new(async_stream::stream! {
        let _guard = cleanups.guard();
        std::future::pending::<()>().await;
        yield ServerSentEvent::new().raw_data("never");
    })
    .keep_alive(KeepAlive::disabled())
}

/// One event whose data is the `Last-Event-ID` received (UTF-8), with a non-ASCII id.
async fn echo_id(headers: sse_runtime::HeaderMap) -> Sse {
    let received = headers
        .get("last-event-id")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    Sse::new(futures_util::stream::iter([ServerSentEvent::new()
        .raw_data(received)
        .id("тест-1")
        .retry(Duration::from_millis(5))]))
    .keep_alive(KeepAlive::disabled())
}

/// Three events and a 200 KB one, compressed with the coding named (if accepted).
async fn compressed(sse_runtime::Path(coding): sse_runtime::Path<String>) -> Sse {
    let coding = match coding.as_str() {
        "gzip" => Coding::Gzip,
        "br" => Coding::Brotli,
        _ => Coding::Zstd,
    };
    Sse::new(futures_util::stream::iter(
        (0..3)
            .map(|n| ServerSentEvent::new().data(serde_json::json!({ "n": n })))
            .chain([ServerSentEvent::new().raw_data("z".repeat(200_000))]),
    ))
    .compression(Compression::new().codings([coding]))
    .keep_alive(KeepAlive::disabled())
}

fn app(seen_by: Seen, cleanups: Cleanups) -> App {
    App::new()
        .get("/compressed/{coding}", compressed)
        .get("/echo-id", echo_id)
        .get("/stall", stall)
        .get("/numbers", numbers)
        .post("/echo", echo)
        .get("/then/{mode}", then_fail)
        .get("/endless", endless)
        .get("/mixed", mixed)
        .get("/big/{shape}", big)
        .state(seen_by)
        .state(cleanups)
}

struct Server {
    _server: TestClient,
    base: String,
    seen: Seen,
    cleanups: Cleanups,
}

async fn server() -> Server {
    let seen_by = Seen::default();
    let cleanups = Cleanups::default();
    let server = TestClient::spawn(app(seen_by.clone(), cleanups.clone()), Protocol::Http1).await;
    let base = format!("http://{}", server.addr().expect("a spawned server"));
    Server {
        _server: server,
        base,
        seen: seen_by,
        cleanups,
    }
}

#[derive(Debug, Deserialize, serde::Serialize, PartialEq)]
struct N {
    n: u64,
}

#[tokio::test]
async fn client_reconnects_with_last_event_id_and_honors_retry_then_stops_on_204() {
    for h2 in [false, true] {
        let server = server().await;
        let client = if h2 {
            Client::builder().http2_prior_knowledge().build()
        } else {
            Client::new()
        };
        let mut source = client
            .get(&format!("{}/numbers", server.base))
            .retry(SLOW)
            .send();
        let mut got = Vec::new();
        within("numbers", async {
            while let Some(event) = source.next().await {
                let event = event.expect("no error: the stream ends with 204");
                got.push(event.json::<N>().expect("a number").n);
            }
        })
        .await;
        assert_eq!(got, (0..=8).collect::<Vec<_>>(), "h2: {h2}");
        let ids: Vec<_> = server
            .seen
            .all("/numbers")
            .into_iter()
            .map(|r| r.last_event_id)
            .collect();
        let want = [None, Some("2"), Some("5"), Some("8")].map(|id| id.map(str::to_owned));
        assert_eq!(ids, want, "Last-Event-ID on each connection (h2: {h2})");
        let version = server.seen.all("/numbers")[0].version;
        let expected = if h2 {
            sse_runtime::http::Version::HTTP_2
        } else {
            sse_runtime::http::Version::HTTP_11
        };
        assert_eq!(version, expected);
        assert_eq!(
            source.retry(),
            Duration::from_millis(5),
            "the server's retry"
        );
        assert_eq!((source.opens(), source.requests()), (3, 4));
        assert_eq!(source.last_event_id(), "8");
        assert!(source.next().await.is_none(), "stays ended");
    }
}

#[tokio::test]
async fn client_resumes_from_a_given_last_event_id() {
    let server = server().await;
    let source = Client::new()
        .get(&format!("{}/numbers", server.base))
        .last_event_id("6")
        .retry(SLOW)
        .send();
    let got: Vec<u64> = within("resume", source.json::<N>().map(|n| n.unwrap().n).collect()).await;
    assert_eq!(got, [7, 8, 9]);
    assert_eq!(
        server.seen.all("/numbers")[0].last_event_id.as_deref(),
        Some("6")
    );
}

#[tokio::test]
async fn client_204_ends_cleanly_without_another_request() {
    let server = server().await;
    let mut source = Client::new()
        .get(&format!("{}/then/204", server.base))
        .retry(SLOW)
        .send();
    let first = within("first", source.next()).await.unwrap().unwrap();
    assert_eq!(first.data, "first");
    assert!(
        within("end", source.next()).await.is_none(),
        "204: clean end"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.seen.all("/then/204").len(), 2);
    assert_eq!(
        server.seen.all("/then/204")[1].last_event_id.as_deref(),
        Some("1")
    );
}

#[tokio::test]
async fn client_non_2xx_ends_with_status_headers_and_body() {
    let server = server().await;
    let mut source = Client::new()
        .get(&format!("{}/then/503", server.base))
        .retry(SLOW)
        .send();
    assert_eq!(
        within("first", source.next()).await.unwrap().unwrap().data,
        "first"
    );
    let err = within("error", source.next()).await.unwrap().unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    let response = err.response().unwrap();
    assert_eq!(response.headers["x-upstream"], "busy");
    assert_eq!(
        response.json::<serde_json::Value>().unwrap(),
        serde_json::json!({ "detail": { "code": "overloaded" } })
    );
    assert!(!response.truncated);
    assert!(err.to_string().contains("503"), "{err}");
    assert!(source.next().await.is_none(), "an error is the last item");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.seen.all("/then/503").len(), 2, "no reconnection");
}

#[tokio::test]
async fn client_error_body_is_bounded() {
    let server = server().await;
    let mut source = Client::new()
        .get(&format!("{}/then/big-error", server.base))
        .max_error_body(100)
        .send();
    assert!(within("first", source.next()).await.unwrap().is_ok());
    let err = within("error", source.next()).await.unwrap().unwrap_err();
    let response = err.response().unwrap();
    assert_eq!(response.status, StatusCode::BAD_GATEWAY);
    assert_eq!((response.body.len(), response.truncated), (100, true));
}

#[tokio::test]
async fn client_wrong_content_type_ends_with_an_error() {
    let server = server().await;
    let mut source = Client::new()
        .get(&format!("{}/then/text", server.base))
        .retry(SLOW)
        .send();
    assert!(within("first", source.next()).await.unwrap().is_ok());
    let err = within("error", source.next()).await.unwrap().unwrap_err();
    assert!(matches!(err, ClientError::ContentType(_)), "{err:?}");
    let response = err.response().unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.content_type(), Some("text/plain; charset=utf-8"));
    assert_eq!(response.text(), "data: not an event stream\n\n");
    assert!(source.next().await.is_none());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.seen.all("/then/text").len(), 2, "no reconnection");
}

#[tokio::test]
async fn client_post_is_not_re_sent() {
    let server = server().await;
    let source = Client::new()
        .post(&format!("{}/echo", server.base))
        .json(&serde_json::json!({ "prompt": "hi" }))
        .send();
    let got: Vec<serde_json::Value> = within(
        "post",
        source
            .json::<serde_json::Value>()
            .map(Result::unwrap)
            .collect(),
    )
    .await;
    assert_eq!(got.len(), 2, "the stream's two events, then the end");
    assert_eq!(got[1]["echo"]["prompt"], "hi");
    // The server's retry is 5 ms: a re-sent POST would have arrived by now.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.seen.all("/echo").len(), 1, "sent once");
}

#[tokio::test]
async fn client_post_marked_repeatable_is_re_sent_with_last_event_id() {
    let server = server().await;
    let source = Client::new()
        .post(&format!("{}/echo", server.base))
        .json(&serde_json::json!({ "topic": "prices" }))
        .repeatable(true)
        .retry(SLOW)
        .send();
    let got: Vec<serde_json::Value> = within(
        "post",
        source
            .json::<serde_json::Value>()
            .map(Result::unwrap)
            .take(6)
            .collect(),
    )
    .await;
    let ns: Vec<_> = got.iter().map(|v| v["n"].as_u64().unwrap()).collect();
    assert_eq!(ns, [0, 1, 2, 3, 4, 5]);
    let requests = server.seen.all("/echo");
    assert_eq!(requests.len(), 3);
    assert!(requests
        .iter()
        .all(|r| r.body == Some(serde_json::json!({ "topic": "prices" }))));
    let ids: Vec<_> = requests
        .iter()
        .map(|r| r.last_event_id.as_deref())
        .collect();
    assert_eq!(ids, [None, Some("1"), Some("3")]);
}

#[tokio::test]
async fn client_post_network_error_is_not_retried_and_get_gives_up() {
    // A port nothing listens on: connection refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{addr}/gone");
    let mut post = Client::new().post(&url).json(&1).send();
    let err = within("post", post.next()).await.unwrap().unwrap_err();
    assert!(matches!(err, ClientError::Network(_)), "{err:?}");
    assert_eq!(post.requests(), 1);
    assert!(post.next().await.is_none());

    let backoff = Backoff::new()
        .initial(Duration::from_millis(1))
        .max_delay(Duration::from_millis(4));
    let mut get = Client::new()
        .get(&url)
        .backoff(backoff)
        .max_retries(3)
        .send();
    let err = within("get", get.next()).await.unwrap().unwrap_err();
    match &err {
        ClientError::GaveUp {
            retries: 3,
            last: Some(_),
        } => {}
        other => panic!("want GaveUp after 3 retries, got {other:?}"),
    }
    assert_eq!(get.requests(), 4, "the first request and three retries");
}

#[tokio::test]
async fn client_typed_decode_error_names_the_event_and_the_stream_goes_on() {
    let server = server().await;
    let url = format!("{}/mixed", server.base);
    let mut typed = Client::new().get(&url).retry(SLOW).send().json::<N>();
    let first = within("1", typed.next()).await.unwrap();
    assert_eq!(first.unwrap(), N { n: 1 });
    let err = within("2", typed.next()).await.unwrap().unwrap_err();
    match &err {
        ClientError::Decode { event, id, .. } => {
            assert_eq!((event.as_str(), id.as_deref()), ("tick", Some("2")));
        }
        other => panic!("want a decode error, got {other:?}"),
    }
    assert!(err.is_decode());
    let text = err.to_string();
    assert!(
        text.contains("`tick`") && text.contains("`2`"),
        "names the event: {text}"
    );
    assert_eq!(
        within("3", typed.next()).await.unwrap().unwrap(),
        N { n: 3 }
    );

    // The crate's `Event<T>`: type, id and retry kept.
    let events = Client::new().get(&url).retry(SLOW).send().typed::<N>();
    let got: Vec<_> = within("typed", events.take(3).collect::<Vec<_>>()).await;
    let first = got[0].as_ref().unwrap();
    assert_eq!(
        (first.get_payload(), first.get_event(), first.get_id()),
        (Some(&N { n: 1 }), None, Some("1"))
    );
    assert!(got[1].as_ref().is_err_and(ClientError::is_decode));
    let third = got[2].as_ref().unwrap();
    assert_eq!(
        (third.get_event(), third.get_retry()),
        (Some("tick"), Some(5))
    );
    assert_eq!(
        third.to_string(),
        "event: tick\ndata: {\"n\":3}\nretry: 5\n\n"
    );
}

#[tokio::test]
async fn client_drop_closes_the_connection() {
    for h2 in [false, true] {
        let server = server().await;
        let client = if h2 {
            Client::builder().http2_prior_knowledge().build()
        } else {
            Client::new()
        };
        let mut source = client.get(&format!("{}/endless", server.base)).send();
        for _ in 0..3 {
            within("event", source.next()).await.unwrap().unwrap();
        }
        assert_eq!(server.cleanups.count(), 0);
        drop(source);
        // The client (and its pool) is still alive: the stream alone must go.
        server.cleanups.wait_for(1, Duration::from_secs(5)).await;
        drop(client);
    }
}

#[tokio::test]
async fn client_open_waits_for_the_answer_without_taking_events() {
    let server = server().await;
    let mut source = Client::new()
        .get(&format!("{}/numbers", server.base))
        .send();
    assert!(within("open", source.open()).await.unwrap());
    assert_eq!(source.opens(), 1);
    assert!(source.headers().unwrap()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let first = within("first", source.next()).await.unwrap().unwrap();
    assert_eq!(first.id.as_deref(), Some("0"));

    let mut refused = Client::new()
        .get(&format!("{}/then/503", server.base))
        .send();
    assert!(within("open", refused.open()).await.unwrap());
}

#[tokio::test]
async fn client_bounds_the_size_of_an_event() {
    let server = server().await;
    for shape in ["line", "lines"] {
        let mut source = Client::new()
            .get(&format!("{}/big/{shape}", server.base))
            .max_event_size(10_000)
            .send();
        assert_eq!(
            within("small", source.next()).await.unwrap().unwrap().data,
            "small"
        );
        let err = within("big", source.next()).await.unwrap().unwrap_err();
        assert!(
            matches!(err, ClientError::TooLarge { limit: 10_000 }),
            "{shape}: {err:?}"
        );
        assert!(source.next().await.is_none());
        // With room for it, the same event arrives whole.
        let mut roomy = Client::new()
            .get(&format!("{}/big/{shape}", server.base))
            .max_event_size(200_000)
            .send();
        roomy.next().await.unwrap().unwrap();
        let big = within("big", roomy.next()).await.unwrap().unwrap();
        assert!(big.data.len() >= 99_000, "{shape}");
    }
}

#[tokio::test]
async fn client_invalid_requests_fail_before_sending() {
    for (url, why) in [
        ("not a url", "URL"),
        ("ftp://x/y", "http(s)"),
        ("/relative", "http(s)"),
    ] {
        let mut source = Client::new().get(url).send();
        let err = source.next().await.unwrap().unwrap_err();
        assert!(matches!(err, ClientError::InvalidRequest(_)), "{err:?}");
        assert!(err.to_string().contains(why), "{err}");
        assert_eq!(source.requests(), 0);
    }
    let err = Client::new()
        .get("http://127.0.0.1:1/x")
        .header("bad header", "x")
        .send()
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("bad header"), "{err}");
    let err = Client::new()
        .get("https://127.0.0.1:1/x")
        .send()
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("TLS"), "{err}");
}

#[tokio::test]
async fn client_over_tls_negotiates_h2() {
    let seen_by = Seen::default();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = generated.cert.pem();
    let tls = sse_runtime::TlsConfig::from_pem(
        cert.as_bytes(),
        generated.signing_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(tokio::sync::Notify::new());
    let app = app(seen_by.clone(), Cleanups::default());
    let signal = stop.clone();
    tokio::spawn(async move {
        let _ = app
            .serve_tls(listener, tls, async move {
                signal.notified().await;
            })
            .await;
    });
    let client = Client::builder()
        .tls_root_certificates_pem(cert.as_bytes())
        .unwrap()
        .build();
    let source = client
        .get(&format!("https://localhost:{port}/numbers"))
        .retry(SLOW)
        .send();
    let got: Vec<u64> = within("tls", source.json::<N>().map(|n| n.unwrap().n).collect()).await;
    assert_eq!(got, (0..=8).collect::<Vec<_>>());
    let requests = seen_by.all("/numbers");
    assert!(requests
        .iter()
        .all(|r| r.version == sse_runtime::http::Version::HTTP_2));
    stop.notify_one();
}

#[tokio::test]
async fn client_idle_timeout_counts_a_silent_server_as_lost() {
    let server = server().await;
    let mut source = Client::new()
        .get(&format!("{}/stall", server.base))
        .idle_timeout(Duration::from_millis(100))
        .backoff(Backoff::new().initial(Duration::from_millis(1)))
        .max_retries(1)
        .send();
    let err = within("idle", source.next()).await.unwrap().unwrap_err();
    match &err {
        ClientError::GaveUp {
            retries: 1,
            last: Some(last),
        } => assert!(last.to_string().contains("idle timeout"), "{last}"),
        other => panic!("want GaveUp after an idle timeout, got {other:?}"),
    }
    assert_eq!(source.requests(), 2);
    // Both silent streams were dropped by the client, so the server cleaned them up.
    server.cleanups.wait_for(2, Duration::from_secs(5)).await;
}

#[tokio::test]
async fn client_sends_a_non_ascii_last_event_id_as_utf8() {
    let server = server().await;
    let source = Client::new()
        .get(&format!("{}/echo-id", server.base))
        .retry(SLOW)
        .send();
    let got: Vec<_> = within(
        "echo",
        source.map(|e| e.unwrap().data).take(2).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(got, ["", "тест-1"]);
}

#[tokio::test]
async fn client_decodes_compressed_streams_within_the_event_bound() {
    let server = server().await;
    for coding in ["gzip", "br", "zstd"] {
        let url = format!("{}/compressed/{coding}", server.base);
        let mut source = Client::new().get(&url).max_retries(0).send();
        let mut data = Vec::new();
        while let Some(Ok(event)) = within(coding, source.next()).await {
            data.push(event.data);
        }
        assert_eq!(
            source.headers().unwrap()["content-encoding"],
            coding,
            "the client offered {coding}"
        );
        assert_eq!(
            data[..3],
            [r#"{"n":0}"#, r#"{"n":1}"#, r#"{"n":2}"#],
            "{coding}"
        );
        assert_eq!(data[3].len(), 200_000, "{coding}");

        // 200 KB of `z` compress to a few hundred bytes: the bound holds on what they
        // decode to, before any of it is buffered.
        let mut bounded = Client::new().get(&url).max_event_size(10_000).send();
        let mut err = None;
        while let Some(item) = within(coding, bounded.next()).await {
            if let Err(e) = item {
                err = Some(e);
            }
        }
        assert!(
            matches!(err, Some(ClientError::TooLarge { limit: 10_000 })),
            "{coding}: {err:?}"
        );
    }
}
