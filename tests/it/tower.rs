//! Tower in both directions (issue #14): real tower-http layers around an app with
//! `App::layer`, each over a real socket (HTTP/1.1 and h2c), streams flowing through them
//! with their cleanup on disconnect; and an axum app that mounts ours with
//! `nest_service`, passing the same stream, keep-alive and disconnect tests as our server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{
    App, HeaderMap, HttpError, IntoResponse, Json, JsonLines, ServerSentEvent, Sse, StatusCode,
};
use sse_tests::cleanups::Cleanups;
use tower_http::compression::CompressionLayer;

use crate::runtime::{
    keep_alive_arrives_on_time, raw_disconnect_of_an_idle_stream_cleans_up, stream_app,
    streams_then_cleans_up,
};

const BOTH: [Protocol; 2] = [Protocol::Http1, Protocol::Http2];

/// `stream_app` (`/endless`, `/idle`, `/quiet`) wrapped by `layer`, served by our server
/// over `protocol`: a stream through the layer, its client goes away, its cleanup runs.
async fn layered_stream_cleans_up(app: App, cleanups: &Cleanups, protocol: Protocol) -> TestClient {
    let client = TestClient::spawn(app, protocol).await;
    streams_then_cleans_up(&client, "/endless", cleanups).await;
    client
}

#[tokio::test]
async fn trace_layer_sees_every_event_as_it_goes_out_and_cleanup_runs() {
    for protocol in BOTH {
        let cleanups = Cleanups::default();
        let statuses = Arc::new(Mutex::new(Vec::new()));
        let chunks = Arc::new(AtomicUsize::new(0));
        let trace = tower_http::trace::TraceLayer::new_for_http()
            .on_response({
                let statuses = Arc::clone(&statuses);
                move |response: &http::Response<_>, _: Duration, _: &tracing::Span| {
                    statuses.lock().unwrap().push(response.status().as_u16());
                }
            })
            .on_body_chunk({
                let chunks = Arc::clone(&chunks);
                move |_: &bytes::Bytes, _: Duration, _: &tracing::Span| {
                    chunks.fetch_add(1, Ordering::SeqCst);
                }
            });
        let app = stream_app(&cleanups).layer(trace);
        let client = layered_stream_cleans_up(app, &cleanups, protocol).await;
        // Each event (20 ms apart) passed the layer as its own chunk, not buffered.
        assert!(chunks.load(Ordering::SeqCst) >= 3, "{protocol:?}");
        // The router's own answers go through the layer too.
        assert_eq!(client.get("/missing").send().await.status(), 404);
        assert_eq!(*statuses.lock().unwrap(), [200, 404], "{protocol:?}");
    }
}

/// Request ids from a counter (tower-http's `MakeRequestUuid` would need `uuid`).
#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl tower_http::request_id::MakeRequestId for Counter {
    fn make_request_id<B>(
        &mut self,
        _: &http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        let value = http::HeaderValue::from_str(&format!("req-{n}")).ok()?;
        Some(tower_http::request_id::RequestId::new(value))
    }
}

#[tokio::test]
async fn request_ids_are_set_seen_by_the_handler_and_propagated_on_a_stream() {
    use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
    async fn whoami(headers: HeaderMap) -> Sse {
        let id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        let first = ServerSentEvent::new().raw_data(id);
        Sse::new(futures_util::stream::iter([first]).chain(futures_util::stream::pending()))
    }
    for protocol in BOTH {
        let cleanups = Cleanups::default();
        // The last layer is the outermost: ids are set, then propagated to the response.
        let app = stream_app(&cleanups)
            .get("/whoami", whoami)
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(SetRequestIdLayer::x_request_id(Counter::default()));
        let client = layered_stream_cleans_up(app, &cleanups, protocol).await;

        let response = client.get("/whoami").send().await;
        let id = response.header("x-request-id").expect("an id").to_owned();
        assert_eq!(id, "req-2", "{protocol:?}");
        let first = response.events().next().await.expect("an event");
        assert_eq!(first.data, id);

        // A client's own id is kept.
        let response = client
            .get("/whoami")
            .header("x-request-id", "mine")
            .send()
            .await;
        assert_eq!(response.header("x-request-id"), Some("mine"));
        assert_eq!(response.events().next().await.expect("event").data, "mine");
    }
}

#[tokio::test]
async fn bearer_auth_answers_401_before_any_stream_starts() {
    use tower_http::validate_request::ValidateRequestHeaderLayer;
    for protocol in BOTH {
        let cleanups = Cleanups::default();
        let handled = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&handled);
        // tower-http's signature: the refusal is the `Err` (a whole response).
        #[allow(clippy::result_large_err)]
        let auth = ValidateRequestHeaderLayer::custom(|req: &mut sse_runtime::Request| {
            let bearer = req.headers().get("authorization").map(|v| v.as_bytes());
            if bearer == Some(b"Bearer secret".as_slice()) {
                return Ok(());
            }
            let mut response =
                HttpError::new(StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
            response
                .headers_mut()
                .insert("www-authenticate", http::HeaderValue::from_static("Bearer"));
            Err(response)
        });
        let app = stream_app(&cleanups)
            // Inside the check: counts the requests that reach the app.
            .layer(tower::util::MapRequestLayer::new(
                move |req: sse_runtime::Request| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    req
                },
            ))
            .layer(auth);
        let client = TestClient::spawn(app, protocol).await;

        for token in [None, Some("Bearer wrong")] {
            let mut request = client.get("/endless");
            if let Some(token) = token {
                request = request.header("authorization", token);
            }
            let response = request.send().await;
            assert_eq!(response.status(), 401, "{protocol:?} {token:?}");
            assert_eq!(response.header("www-authenticate"), Some("Bearer"));
            assert_eq!(
                response.json::<serde_json::Value>().await,
                serde_json::json!({"detail": "Unauthorized"})
            );
        }
        assert_eq!(handled.load(Ordering::SeqCst), 0, "the app saw a request");
        assert_eq!(cleanups.count(), 0, "a stream started");

        let response = client
            .get("/endless")
            .header("authorization", "Bearer secret")
            .send()
            .await;
        assert_eq!(response.status(), 200);
        let events: Vec<_> = response.events().take(3).collect().await;
        assert_eq!(events.len(), 3);
        cleanups.wait_for(1, Duration::from_secs(5)).await;
        assert_eq!(handled.load(Ordering::SeqCst), 1);
    }
}

/// A plain route that answers after 150 ms.
async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(150)).await;
    "done"
}

#[tokio::test]
async fn concurrency_limit_holds_requests_until_their_head_not_their_stream() {
    for protocol in BOTH {
        let cleanups = Cleanups::default();
        let app = stream_app(&cleanups)
            .get("/slow", slow)
            .layer(tower::limit::ConcurrencyLimitLayer::new(1));
        let client = layered_stream_cleans_up(app, &cleanups, protocol).await;

        // Two slow requests at once: the second waits for the first.
        let start = Instant::now();
        let (a, b) = tokio::join!(client.get("/slow").send(), client.get("/slow").send());
        assert!(
            start.elapsed() >= Duration::from_millis(300),
            "{protocol:?}"
        );
        assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));

        // A stream holds its permit only until its head: a second stream opens beside it
        // (bound open streams with `Limits` instead, see the guide).
        let first = client.get("/endless").send().await;
        let second = tokio::time::timeout(Duration::from_secs(2), client.get("/endless").send())
            .await
            .expect("a second stream beside the first");
        let (a, b) = tokio::join!(
            first.events().take(2).collect::<Vec<_>>(),
            second.events().take(2).collect::<Vec<_>>()
        );
        assert_eq!((a.len(), b.len()), (2, 2));
        cleanups.wait_for(3, Duration::from_secs(5)).await;
    }
}

#[tokio::test]
async fn catch_panic_answers_500_for_a_panicking_layer_and_the_server_keeps_serving() {
    use tower_http::catch_panic::CatchPanicLayer;
    for protocol in BOTH {
        let cleanups = Cleanups::default();
        let app = stream_app(&cleanups)
            // A buggy layer inside `CatchPanic` (a handler's own panic is a 500 already).
            .layer(tower::util::MapRequestLayer::new(
                |req: sse_runtime::Request| {
                    assert!(!req.headers().contains_key("x-boom"), "layer bug");
                    req
                },
            ))
            .layer(CatchPanicLayer::new());
        let client = TestClient::spawn(app, protocol).await;
        let response = client.get("/endless").header("x-boom", "1").send().await;
        assert_eq!(response.status(), 500, "{protocol:?}");
        streams_then_cleans_up(&client, "/endless", &cleanups).await;
    }
}

#[tokio::test]
async fn compression_leaves_event_streams_alone_and_compresses_json() {
    async fn document() -> Json<serde_json::Value> {
        Json(serde_json::json!({ "text": "compress me ".repeat(20) }))
    }
    for protocol in BOTH {
        let cleanups = Cleanups::default();
        let app = stream_app(&cleanups)
            .get("/document", document)
            .layer(CompressionLayer::new());
        let client = TestClient::spawn(app, protocol).await;

        let response = client
            .get("/endless")
            .header("accept-encoding", "gzip")
            .send()
            .await;
        assert_eq!(response.header("content-encoding"), None, "{protocol:?}");
        let events: Vec<_> = response.events().take(3).collect().await;
        assert_eq!(events[2].data, "2");
        cleanups.wait_for(1, Duration::from_secs(5)).await;

        let response = client
            .get("/document")
            .header("accept-encoding", "gzip")
            .send()
            .await;
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        // As sent (`bytes` would decode it, as a browser does).
        let first = response.chunks().next().await.expect("a chunk");
        assert_eq!(&first[..2], [0x1f, 0x8b], "gzip magic");
    }
}

/// `CompressionLayer`'s default compresses JSON Lines (unlike event streams), but flushes
/// each write, so lines are not held back; excluding the type sends them plain.
#[tokio::test]
async fn compression_flushes_json_lines_line_by_line_or_leaves_them_when_excluded() {
    use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
    async fn rows() -> JsonLines {
        JsonLines::new(
            futures_util::stream::iter([serde_json::json!({ "row": 0 })])
                .chain(futures_util::stream::pending()),
        )
    }
    let first_line = |client: TestClient| async move {
        let response = client
            .get("/rows")
            .header("accept-encoding", "gzip")
            .send()
            .await;
        let encoding = response.header("content-encoding").map(str::to_owned);
        let chunk = tokio::time::timeout(Duration::from_millis(500), response.chunks().next())
            .await
            .ok()
            .flatten();
        (encoding, chunk)
    };
    let compressed = TestClient::spawn(
        App::new().get("/rows", rows).layer(CompressionLayer::new()),
        Protocol::Http1,
    )
    .await;
    let (encoding, chunk) = first_line(compressed).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    // The gzip header and the line, sync-flushed (ending `00 00 ff ff`) while the stream
    // waits for its next line.
    let chunk = chunk.expect("the first line, flushed");
    assert_eq!(&chunk[..2], [0x1f, 0x8b]);
    assert!(chunk.ends_with(&[0, 0, 0xff, 0xff]), "{chunk:?}");

    let predicate = DefaultPredicate::new().and(NotForContentType::const_new(
        sse_runtime::JsonLines::CONTENT_TYPE,
    ));
    let flowing = TestClient::spawn(
        App::new()
            .get("/rows", rows)
            .layer(CompressionLayer::new().compress_when(predicate)),
        Protocol::Http1,
    )
    .await;
    let (encoding, chunk) = first_line(flowing).await;
    assert_eq!(encoding, None);
    assert_eq!(chunk.as_deref(), Some(&b"{\"row\":0}\n"[..]));
}

/// tower-http's `Timeout` times the response head only: a slow handler gets its status,
/// an open stream is not cut.
#[tokio::test]
async fn timeout_layer_times_the_head_not_the_stream() {
    use tower_http::timeout::TimeoutLayer;
    for protocol in BOTH {
        let cleanups = Cleanups::default();
        let app = stream_app(&cleanups)
            .get("/slow", slow)
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                Duration::from_millis(100),
            ));
        let client = TestClient::spawn(app, protocol).await;
        assert_eq!(client.get("/slow").send().await.status(), 503);
        // 20 events, 20 ms apart: the stream outlives the 100 ms timeout.
        let events: Vec<_> = client
            .get("/endless")
            .send()
            .await
            .events()
            .take(20)
            .collect()
            .await;
        assert_eq!(events.len(), 20, "{protocol:?}");
        cleanups.wait_for(1, Duration::from_secs(5)).await;
    }
}

/// An axum app with its own routes that mounts ours at `/sse`, served by axum's server;
/// it ends our streams when it stops.
async fn axum_mounting(app: App) -> (std::net::SocketAddr, sse_runtime::AppService) {
    let sse = app.build().expect("valid routes");
    let router = axum::Router::new()
        .route("/health", axum::routing::get(|| async { "axum ok" }))
        .nest_service("/sse", sse.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (addr, sse)
}

#[tokio::test]
async fn axum_mounted_app_streams_keeps_alive_and_cleans_up_like_our_server() {
    for protocol in BOTH {
        let cleanups = Cleanups::default();
        let (addr, sse) = axum_mounting(stream_app(&cleanups)).await;
        let client = TestClient::connect(addr, protocol, sse);

        // axum's own route, and ours under the prefix, 404 included.
        assert_eq!(client.get("/health").send().await.text().await, "axum ok");
        let response = client.get("/sse/missing").send().await;
        assert_eq!(response.status(), 404);
        assert_eq!(response.text().await, r#"{"detail":"Not Found"}"#);

        streams_then_cleans_up(&client, "/sse/endless", &cleanups).await;
        keep_alive_arrives_on_time(&client, "/sse/quiet").await;
        if protocol == Protocol::Http1 {
            raw_disconnect_of_an_idle_stream_cleans_up(addr, "/sse/idle", &cleanups).await;
        }
    }
}

#[tokio::test]
async fn axum_mounted_app_keeps_its_layers_and_ends_streams_on_shutdown() {
    let cleanups = Cleanups::default();
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&statuses);
    let app = stream_app(&cleanups).layer(tower::util::MapResponseLayer::new(
        move |response: sse_runtime::Response| {
            recorded.lock().unwrap().push(response.status().as_u16());
            response
        },
    ));
    let (addr, sse) = axum_mounting(app).await;
    let client = TestClient::connect(addr, Protocol::Http1, sse);
    let response = client.get("/sse/endless").send().await;
    let mut events = response.events();
    assert!(events.next().await.is_some());
    assert_eq!(*statuses.lock().unwrap(), [200]);
    // What the axum app's shutdown should do: our streams end, their cleanup runs.
    client.shutdown();
    cleanups.wait_for(1, Duration::from_secs(5)).await;
    while events.next().await.is_some() {}
}
