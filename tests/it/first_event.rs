//! The error contract of a stream before its first event: the response headers wait for
//! the first item (an event, a comment, the end, an `Err`) up to the first-event window
//! (`App::first_event_window`, default 10 s; `Sse::first_event_window`;
//! `first_event_window = ".."` on a route), so a failure within it is a real HTTP status
//! with its JSON body, and one after it an `event: error`. The guide's Errors table
//! (docs/guide.md) names these tests.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use sse_runtime::broadcast::{Broadcast, Resume};
use sse_runtime::testing::{Protocol, TestClient, TestResponse};
use sse_runtime::{App, HttpError, JsonLines, KeepAlive, ServerSentEvent, Sse, State, StatusCode};
use sse_tests::cleanups::Cleanups;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// The status, content type and JSON body of an error response.
async fn error_of(response: TestResponse) -> (StatusCode, Option<String>, Value) {
    let status = response.status();
    let content_type = response.header("content-type").map(str::to_owned);
    (status, content_type, response.json::<Value>().await)
}

/// An upstream that answers after `delay` with 502 (an LLM API, an auth service).
fn failing_after(delay: Duration) -> Sse {
    Sse::try_new(async_stream::stream! {
        tokio::time::sleep(delay).await;
        yield Err::<u32, _>(HttpError::new(StatusCode::BAD_GATEWAY, "the model is unavailable"));
    })
}

/// Over a real socket and clock, HTTP/1.1 and h2c: a handler that fails after 1 s answers
/// `502` with its JSON body, not `200` and an error event.
#[tokio::test]
async fn a_failure_one_second_in_is_an_http_status_over_a_socket() {
    let app = || {
        App::new().get("/upstream", || async {
            failing_after(Duration::from_secs(1))
        })
    };
    for protocol in [Protocol::Http1, Protocol::Http2] {
        let client = TestClient::spawn(app(), protocol).await;
        let started = std::time::Instant::now();
        let response = client.get("/upstream").send().await;
        assert!(started.elapsed() >= Duration::from_secs(1), "{protocol:?}");
        assert_eq!(
            error_of(response).await,
            (
                StatusCode::BAD_GATEWAY,
                Some("application/json".to_owned()),
                json!({ "detail": "the model is unavailable" })
            ),
            "{protocol:?}"
        );
    }
}

/// A failure after the window: the headers went out when it passed (`200`), and the
/// failure is one `event: error`.
#[tokio::test(start_paused = true)]
async fn a_failure_after_the_window_is_a_200_and_an_error_event() {
    let app = App::new().get("/late", || async { failing_after(Duration::from_secs(30)) });
    let start = Instant::now();
    let response = TestClient::new(app).get("/late").send().await;
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(10),
        "the default window"
    );
    assert_eq!(response.status(), StatusCode::OK);
    let events: Vec<_> = response.events().collect().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, "error");
    assert_eq!(
        events[0].json::<Value>().expect("JSON"),
        json!({ "status": 502, "detail": "the model is unavailable" })
    );
    assert_eq!(start.elapsed(), Duration::from_secs(30));
}

/// After the first event, a failure is one `event: error` however soon it comes.
#[tokio::test(start_paused = true)]
async fn a_failure_after_the_first_event_is_an_error_event() {
    async fn partial() -> Sse {
        Sse::try_new(async_stream::stream! {
            yield Ok(ServerSentEvent::new().raw_data("a first piece"));
            tokio::time::sleep(Duration::from_secs(1)).await;
            yield Err(HttpError::new(StatusCode::BAD_GATEWAY, "the model went away"));
        })
    }
    let response = TestClient::new(App::new().get("/partial", partial))
        .get("/partial")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.text().await,
        "data: a first piece\n\nevent: error\ndata: {\"status\":502,\"detail\":\"the model went away\"}\n\n"
    );
}

/// A comment releases the headers at once: the failure after it is an event.
#[tokio::test(start_paused = true)]
async fn a_comment_releases_the_headers_and_a_later_failure_is_an_event() {
    async fn ready() -> Sse {
        Sse::try_new(async_stream::stream! {
            yield Ok(ServerSentEvent::new().comment("connected"));
            tokio::time::sleep(Duration::from_secs(1)).await;
            yield Err(HttpError::new(StatusCode::BAD_GATEWAY, "upstream down"));
        })
    }
    let start = Instant::now();
    let response = TestClient::new(App::new().get("/ready", ready))
        .get("/ready")
        .send()
        .await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.text().await,
        ": connected\n\nevent: error\ndata: {\"status\":502,\"detail\":\"upstream down\"}\n\n"
    );
}

/// The window is the app's (`App::first_event_window`) unless the response
/// (`Sse::first_event_window`, `JsonLines::first_event_window`) chooses its own, and
/// never outlasts the first keep-alive (which cannot go out before the headers).
#[tokio::test(start_paused = true)]
async fn the_window_is_the_apps_the_responses_or_the_keep_alive_interval() {
    async fn at_once() -> Sse {
        failing_after(Duration::from_secs(5)).first_event_window(Duration::ZERO)
    }
    async fn pinged() -> Sse {
        failing_after(Duration::from_secs(5))
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(2)))
    }
    async fn lines() -> JsonLines {
        JsonLines::try_new(async_stream::stream! {
            tokio::time::sleep(Duration::from_secs(5)).await;
            yield Err::<u32, _>(HttpError::new(StatusCode::BAD_GATEWAY, "down"));
        })
        .first_event_window(Duration::from_secs(1))
    }
    let app = App::new()
        .get("/app", || async { failing_after(Duration::from_secs(5)) })
        .get("/at-once", at_once)
        .get("/pinged", pinged)
        .get("/lines", lines)
        .first_event_window(Duration::from_secs(6))
        .build()
        .expect("valid app");
    let client = TestClient::new(app);

    let start = Instant::now();
    let (status, _, body) = error_of(client.get("/app").send().await).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_GATEWAY,
            json!({ "detail": "the model is unavailable" })
        )
    );
    assert_eq!(start.elapsed(), Duration::from_secs(5));

    for (path, headers_after) in [("/at-once", 0), ("/pinged", 2), ("/lines", 1)] {
        let start = Instant::now();
        let response = client.get(path).send().await;
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(headers_after),
            "{path}"
        );
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let text = response.text().await;
        assert!(text.contains("502"), "{path}: {text}");
    }
}

/// A broadcast subscription sends its headers as soon as it is subscribed — returned as
/// it is, mapped, looped over in a generator, polled on another task that forwards its
/// messages through a channel, or raced in a `select!` — so a client may publish once it
/// sees them and gets that message (the ready step, `Message::Open`, travels with the data).
#[tokio::test(start_paused = true)]
async fn a_subscription_sends_its_headers_at_once() {
    type Hub = Broadcast<u64>;
    async fn direct(State(hub): State<Hub>) -> sse_runtime::broadcast::Subscription<u64> {
        hub.subscribe("t", Resume::live())
    }
    async fn generator(State(hub): State<Hub>) -> Sse {
        Sse::new(async_stream::stream! {
            let mut subscription = hub.subscribe("t", Resume::live());
            while let Some(message) = subscription.next().await {
                yield message.into_event_with(|n| ServerSentEvent::new().data(n * 10));
            }
        })
    }
    async fn mapped(State(hub): State<Hub>) -> Sse {
        Sse::new(
            hub.subscribe("t", Resume::live())
                .map(|message| message.into_event_with(|n| ServerSentEvent::new().data(n))),
        )
    }
    async fn forwarded(State(hub): State<Hub>) -> Sse {
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let mut subscription = hub.subscribe("t", Resume::live());
        // Polled on a task of its own, not the response's.
        tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                if tx.send(message).await.is_err() {
                    break;
                }
            }
        });
        Sse::new(async_stream::stream! {
            while let Some(message) = rx.recv().await {
                yield message;
            }
        })
    }
    async fn selected(State(hub): State<Hub>) -> Sse {
        Sse::new(async_stream::stream! {
            let mut subscription = hub.subscribe("t", Resume::live());
            let mut never = std::pin::pin!(std::future::pending::<()>());
            loop {
                tokio::select! {
                    message = subscription.next() => match message {
                        Some(message) => yield message,
                        None => break,
                    },
                    () = &mut never => break,
                }
            }
        })
    }
    let hub = Hub::new();
    let client = TestClient::new(
        App::new()
            .get("/direct", direct)
            .get("/generator", generator)
            .get("/mapped", mapped)
            .get("/forwarded", forwarded)
            .get("/selected", selected)
            .state(hub.clone()),
    );
    for (path, data) in [
        ("/direct", "1"),
        ("/generator", "20"),
        ("/mapped", "3"),
        ("/forwarded", "4"),
        ("/selected", "5"),
    ] {
        let start = Instant::now();
        let response = client.get(path).send().await;
        assert_eq!(start.elapsed(), Duration::ZERO, "{path}: headers at once");
        assert_eq!(response.status(), StatusCode::OK);
        let mut events = response.events();
        let n = data.parse::<u64>().expect("a number");
        hub.publish("t", if path == "/generator" { n / 10 } else { n })
            .await
            .expect("published");
        let event = events.next().await.expect("the message");
        assert_eq!(event.data, data, "{path}");
    }
}

/// A stream that panics before its first event, within the window: `500` with the
/// generic body; the panic is only logged.
#[tokio::test]
async fn a_panic_before_the_first_event_is_a_500() {
    async fn broken() -> Sse {
        Sse::new(async_stream::stream! {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if true {
                panic!("generator bug");
            }
            yield ServerSentEvent::new().data("never");
        })
    }
    let client = TestClient::new(App::new().get("/broken", broken));
    assert_eq!(
        error_of(client.get("/broken").send().await).await,
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("application/json".to_owned()),
            json!({ "detail": "Internal Server Error" })
        )
    );
}

/// A client that leaves while the headers wait: the stream is dropped (its cleanup runs)
/// at once, not when the window ends.
#[tokio::test]
async fn a_client_gone_while_the_headers_wait_drops_the_stream() {
    async fn slow(State(cleanups): State<Cleanups>) -> Sse {
        Sse::new(async_stream::stream! {
            let _guard = cleanups.guard();
            tokio::time::sleep(Duration::from_secs(3600)).await;
            yield ServerSentEvent::new().data("never");
        })
    }
    let cleanups = Cleanups::default();
    let client = TestClient::spawn(
        App::new()
            .get("/slow", slow)
            .state(cleanups.clone())
            .first_event_window(Duration::from_secs(60)),
        Protocol::Http1,
    )
    .await;
    let addr = client.addr().expect("spawned");
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket
        .write_all(b"GET /slow HTTP/1.1\r\nhost: test\r\naccept: text/event-stream\r\n\r\n")
        .await
        .expect("request");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut nothing = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_millis(10), socket.read(&mut nothing)).await;
    assert!(read.is_err(), "no headers yet");
    drop(socket);
    cleanups.wait_for(1, Duration::from_secs(5)).await;
}
