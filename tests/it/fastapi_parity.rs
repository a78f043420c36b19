//! FastAPI parity: our own test for each behaviour FastAPI's SSE test suite checks.
//!
//! Module and test names follow FastAPI's: `test_sse::async_generator_with_model` is the
//! counterpart of `test_async_generator_with_model` in FastAPI's `tests/test_sse.py`, and
//! `tutorial004::resume_from_last_event_id` of `test_resume_from_last_event_id` in
//! `tests/test_tutorial/test_server_sent_events/test_tutorial004.py`. The facts carry
//! over; the code is ours.
//!
//! Deliberate differences, each noted at its test:
//! - JSON `data` is compact (`{"key":"value"}`); FastAPI's check for a `dict` accepts
//!   `{"key": "value"}` too (its Pydantic models are compact as well).
//! - A route-wide `retry` is sent once, as the stream's first line, not on every event:
//!   for a browser it means the same (the last `retry` seen sets the reconnection time).
//! - A negative or fractional `retry` cannot be written at all (`u64` milliseconds or a
//!   `Duration`), so FastAPI's run-time rejections of them have no run-time counterpart.
//! - Sync generators, unannotated routes and routers with prefixes are Python-specific;
//!   their Rust counterparts (a stream from an iterator, a hand-written `Sse` handler, a
//!   route from another module) are tested instead.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sse_runtime::testing::TestClient;
use sse_runtime::{
    get, post, stream, App, EventError, Json, LastEventId, ServerSentEvent, Sse, State, StatusCode,
    Stream,
};

// Two of the examples (`examples/`), whose routes the tutorials below run as they are.
use crate::showcase::{logs, quickstart};

const EVENT_STREAM: &str = "text/event-stream; charset=utf-8";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    name: String,
    description: Option<String>,
}

fn items() -> Vec<Item> {
    [
        ("Plumbus", "A multi-purpose household device."),
        ("Portal Gun", "A portal opening device."),
        ("Meeseeks Box", "A box that summons a Meeseeks."),
    ]
    .into_iter()
    .map(|(name, description)| Item {
        name: name.to_owned(),
        description: Some(description.to_owned()),
    })
    .collect()
}

/// The `data: ` lines of a body, as FastAPI's tests pick them.
fn lines_starting_with<'a>(body: &'a str, prefix: &str) -> Vec<&'a str> {
    body.trim()
        .split('\n')
        .filter(|line| line.starts_with(prefix))
        .collect()
}

/// GETs `path`, checks the exact event-stream status and headers, returns the body.
async fn get_stream(app: App, path: &str) -> String {
    let response = TestClient::new(app).get(path).send().await;
    response.assert_event_stream();
    response.text().await
}

/// Counterparts of `tests/test_sse.py`.
mod test_sse {
    use super::*;

    #[get("/items/stream", sse)]
    async fn sse_items() -> impl Stream<Item = Item> {
        stream! {
            for item in items() {
                yield item;
            }
        }
    }

    /// A stream value built from an iterator: the counterpart of a sync generator.
    #[get("/items/stream-sync", sse)]
    async fn sse_items_sync() -> impl Stream<Item = Item> {
        futures_util::stream::iter(items())
    }

    /// No route attribute at all: the counterpart of a route without a return annotation.
    async fn sse_items_no_annotation() -> Sse {
        Sse::new(futures_util::stream::iter(items()))
    }

    #[get("/items/stream-dict", sse)]
    async fn sse_items_dict() -> impl Stream<Item = serde_json::Value> {
        stream! {
            for item in items() {
                yield serde_json::json!({ "name": item.name, "description": item.description });
            }
        }
    }

    #[get("/items/stream-sse-event", sse)]
    async fn sse_items_event() -> impl Stream<Item = ServerSentEvent> {
        stream! {
            yield ServerSentEvent::new()
                .data("hello")
                .event("greeting")
                .id("1");
            yield ServerSentEvent::new()
                .data(serde_json::json!({ "key": "value" }))
                .event("json-data")
                .id("2");
            yield ServerSentEvent::new().comment("just a comment");
            yield ServerSentEvent::new().data("retry-test").retry(std::time::Duration::from_millis(5000));
        }
    }

    /// Plain items and `ServerSentEvent`s in one stream: in Rust a stream has one item
    /// type, so the plain items go through `.data(item)`.
    #[get("/items/stream-mixed", sse)]
    async fn sse_items_mixed() -> impl Stream<Item = ServerSentEvent> {
        stream! {
            let items = items();
            yield ServerSentEvent::new().data(&items[0]);
            yield ServerSentEvent::new().data("custom-event").event("special");
            yield ServerSentEvent::new().data(&items[1]);
        }
    }

    #[get("/items/stream-string", sse)]
    async fn sse_items_string() -> impl Stream<Item = ServerSentEvent> {
        stream! {
            yield ServerSentEvent::new().data("plain text data");
        }
    }

    #[post("/items/stream-post", sse)]
    async fn sse_items_post() -> impl Stream<Item = Item> {
        stream! {
            for item in items() {
                yield item;
            }
        }
    }

    #[get("/items/stream-raw", sse)]
    async fn sse_items_raw() -> impl Stream<Item = ServerSentEvent> {
        stream! {
            yield ServerSentEvent::new().raw_data("plain text without quotes");
            yield ServerSentEvent::new()
                .raw_data("<div>html fragment</div>")
                .event("html");
            yield ServerSentEvent::new()
                .raw_data("cpu,87.3,1709145600")
                .event("csv");
        }
    }

    /// A route from another module, registered under `/api`: the counterpart of an
    /// `APIRouter` included with a prefix.
    mod router {
        use super::*;

        #[get("/api/events", sse)]
        pub async fn stream_events() -> impl Stream<Item = serde_json::Value> {
            stream! {
                yield serde_json::json!({ "msg": "hello" });
                yield serde_json::json!({ "msg": "world" });
            }
        }
    }

    fn app() -> App {
        App::new()
            .route(sse_items)
            .route(sse_items_sync)
            .get("/items/stream-no-annotation", sse_items_no_annotation)
            .route(sse_items_dict)
            .route(sse_items_event)
            .route(sse_items_mixed)
            .route(sse_items_string)
            .route(sse_items_post)
            .route(sse_items_raw)
            .route(router::stream_events)
    }

    fn assert_three_items(body: &str) {
        let data = lines_starting_with(body, "data: ");
        assert_eq!(data.len(), 3, "{body:?}");
        for (line, item) in data.iter().zip(items()) {
            let json = line.strip_prefix("data: ").unwrap_or_default();
            let parsed: Item = serde_json::from_str(json).expect("each data line is an Item");
            assert_eq!(parsed, item);
        }
    }

    #[tokio::test]
    async fn async_generator_with_model() {
        let body = get_stream(app(), "/items/stream").await;
        assert_three_items(&body);
        let data = lines_starting_with(&body, "data: ");
        assert!(data[0].contains(r#""name":"Plumbus""#));
        assert!(data[1].contains(r#""name":"Portal Gun""#));
        assert!(data[2].contains(r#""name":"Meeseeks Box""#));
    }

    #[tokio::test]
    async fn sync_generator_with_model() {
        let body = get_stream(app(), "/items/stream-sync").await;
        assert_three_items(&body);
    }

    #[tokio::test]
    async fn async_generator_no_annotation() {
        let body = get_stream(app(), "/items/stream-no-annotation").await;
        assert_three_items(&body);
    }

    #[tokio::test]
    async fn dict_items() {
        let body = get_stream(app(), "/items/stream-dict").await;
        let data = lines_starting_with(&body, "data: ");
        assert_eq!(data.len(), 3);
        assert!(data[0].contains(r#""name""#));
        assert_three_items(&body);
    }

    /// SSE works with POST (needed for MCP compatibility).
    #[tokio::test]
    async fn post_method_sse() {
        let client = TestClient::new(app());
        let response = client.post("/items/stream-post").send().await;
        response.assert_event_stream();
        assert_three_items(&response.text().await);
    }

    #[tokio::test]
    async fn sse_events_with_fields() {
        let text = get_stream(app(), "/items/stream-sse-event").await;
        assert!(text.contains("event: greeting\n"));
        assert!(text.contains("data: \"hello\"\n"));
        assert!(text.contains("id: 1\n"));
        assert!(text.contains("event: json-data\n"));
        assert!(text.contains("id: 2\n"));
        // Compact JSON (FastAPI's dict check also accepts `{"key": "value"}`).
        assert!(text.contains("data: {\"key\":\"value\"}\n"));
        assert!(text.contains(": just a comment\n"));
        assert!(text.contains("retry: 5000\n"));
        assert!(text.contains("data: \"retry-test\"\n"));
        // And the exact bytes, in order.
        assert_eq!(
            text,
            "event: greeting\ndata: \"hello\"\nid: 1\n\n\
             event: json-data\ndata: {\"key\":\"value\"}\nid: 2\n\n\
             : just a comment\n\n\
             data: \"retry-test\"\nretry: 5000\n\n"
        );
    }

    #[tokio::test]
    async fn mixed_plain_and_sse_events() {
        let text = get_stream(app(), "/items/stream-mixed").await;
        assert!(text.contains("event: special\n"));
        assert!(text.contains("data: \"custom-event\"\n"));
        assert!(text.contains(r#""name""#));
        let events: Vec<_> = TestClient::new(app())
            .get("/items/stream-mixed")
            .send()
            .await
            .events()
            .collect()
            .await;
        let types: Vec<_> = events.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(types, ["message", "special", "message"]);
    }

    /// Strings are always JSON-encoded (quoted).
    #[tokio::test]
    async fn string_data_json_encoded() {
        let text = get_stream(app(), "/items/stream-string").await;
        assert_eq!(text, "data: \"plain text data\"\n\n");
    }

    #[test]
    fn server_sent_event_null_id_rejected() {
        let event = ServerSentEvent::new().data("test").id("has\0null");
        assert_eq!(event.validate(), Err(EventError::NulInId));
        assert!(event.validate().unwrap_err().to_string().contains("NUL"));
    }

    #[test]
    fn server_sent_event_single_line_fields_reject_newlines() {
        for value in ["first\nsecond", "first\rsecond", "first\r\nsecond"] {
            let event = ServerSentEvent::new().data("test").event(value);
            let err = event.validate().expect_err("event with a line break");
            assert_eq!(err, EventError::LineBreak { field: "event" });
            assert!(err
                .to_string()
                .contains("SSE `event` must be a single line"));

            let event = ServerSentEvent::new().data("test").id(value);
            let err = event.validate().expect_err("id with a line break");
            assert_eq!(err, EventError::LineBreak { field: "id" });
            assert!(err.to_string().contains("SSE `id` must be a single line"));
        }
    }

    /// FastAPI rejects `retry=-1` and `retry=1.5` at run time; here `retry` takes a
    /// `u64` and `retry` a `Duration`, so neither can be written. What is left to check:
    /// a `Duration` is sent in whole milliseconds.
    #[test]
    fn server_sent_event_retry_is_whole_non_negative_milliseconds() {
        let event = ServerSentEvent::new().retry(Duration::from_micros(1_500_900));
        assert_eq!(event.get_retry(), Some(1500));
        assert_eq!(event.to_string(), "retry: 1500\n\n");
    }

    /// `raw_data` is sent as is, not JSON-encoded.
    #[tokio::test]
    async fn raw_data_sent_without_json_encoding() {
        let text = get_stream(app(), "/items/stream-raw").await;
        assert!(text.contains("data: plain text without quotes\n"));
        assert!(!text.contains("data: \"plain text without quotes\""));
        assert!(text.contains("event: html\n"));
        assert!(text.contains("data: <div>html fragment</div>\n"));
        assert!(text.contains("event: csv\n"));
        assert!(text.contains("data: cpu,87.3,1709145600\n"));
    }

    /// Cannot set both `data` and `raw_data`.
    #[test]
    fn data_and_raw_data_mutually_exclusive() {
        for event in [
            ServerSentEvent::new().data("json").raw_data("raw"),
            ServerSentEvent::new().raw_data("raw").data("json"),
        ] {
            let err = event.validate().expect_err("both data and raw_data");
            assert_eq!(err, EventError::DataAndRawData);
            assert!(err.to_string().contains("cannot set both"));
        }
    }

    #[tokio::test]
    async fn sse_on_router_included_in_app() {
        let text = get_stream(app(), "/api/events").await;
        assert_eq!(
            lines_starting_with(&text, "data: "),
            [r#"data: {"msg":"hello"}"#, r#"data: {"msg":"world"}"#]
        );
    }

    // Keep-alive pings. FastAPI monkeypatches its 15 s interval down to 0.05 s; here the
    // route sets `keep_alive = "50ms"` and tokio's clock is paused, so the 0.3 s pause
    // takes no real time and the timing is exact.

    #[get("/slow-async", sse, keep_alive = "50ms")]
    async fn slow_async_stream() -> impl Stream<Item = serde_json::Value> {
        stream! {
            yield serde_json::json!({ "n": 1 });
            tokio::time::sleep(Duration::from_millis(300)).await;
            yield serde_json::json!({ "n": 2 });
        }
    }

    /// A stream value whose second item comes late (no generator at all).
    #[get("/slow-sync", sse, keep_alive = "50ms")]
    async fn slow_sync_stream() -> impl Stream<Item = serde_json::Value> {
        futures_util::stream::iter([1, 2]).then(|n| async move {
            if n == 2 {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            serde_json::json!({ "n": n })
        })
    }

    async fn assert_pings_between_two_events(path: &str) {
        let app = App::new().route(slow_async_stream).route(slow_sync_stream);
        let response = TestClient::new(app).get(path).send().await;
        response.assert_event_stream();
        let text = response.text().await;
        assert!(text.contains(": ping\n"), "{text:?}");
        assert_eq!(lines_starting_with(&text, "data: ").len(), 2);
        // The pings come between the two events, at 50, 100, ..., 250 ms; at 300 ms the
        // second event is due together with a sixth ping, and the event goes out instead.
        assert_eq!(
            text,
            format!(
                "data: {{\"n\":1}}\n\n{}data: {{\"n\":2}}\n\n",
                ": ping\n\n".repeat(5)
            )
        );
    }

    #[tokio::test(start_paused = true)]
    async fn keepalive_ping_async() {
        assert_pings_between_two_events("/slow-async").await;
    }

    #[tokio::test(start_paused = true)]
    async fn keepalive_ping_sync() {
        assert_pings_between_two_events("/slow-sync").await;
    }

    /// No keep-alive comment when items arrive quickly.
    #[tokio::test]
    async fn no_keepalive_when_fast() {
        let text = get_stream(app(), "/items/stream").await;
        assert!(!text.contains(": ping\n"));
    }

    // `format_sse_event` validation: the encoder refuses what the builder refuses, and a
    // stream that yields such an event ends with `event: error` instead of sending it.

    #[test]
    fn format_sse_event_rejects_multiline_event() {
        for value in ["first\nsecond", "first\rsecond", "first\r\nsecond"] {
            let event = ServerSentEvent::new().event(value);
            assert_eq!(
                event.to_string(),
                "<invalid event: SSE `event` must be a single line (no CR or LF)>"
            );
        }
    }

    #[test]
    fn format_sse_event_rejects_multiline_id() {
        for value in ["first\nsecond", "first\rsecond", "first\r\nsecond"] {
            let event = ServerSentEvent::new().id(value);
            assert_eq!(
                event.to_string(),
                "<invalid event: SSE `id` must be a single line (no CR or LF)>"
            );
        }
    }

    #[test]
    fn format_sse_event_rejects_null_id() {
        let event = ServerSentEvent::new().id("has\0null");
        assert_eq!(
            event.to_string(),
            "<invalid event: SSE `id` must not contain NUL characters>"
        );
    }

    /// Line breaks in `event` / `id` never produce extra field lines, not even through a
    /// running stream.
    #[tokio::test]
    async fn format_sse_event_injection_prevented() {
        #[get("/inject", sse)]
        async fn inject() -> impl Stream<Item = ServerSentEvent> {
            stream! {
                yield ServerSentEvent::new().raw_data("safe").id("1");
                yield ServerSentEvent::new()
                    .event("legit\ndata: injected")
                    .raw_data("safe");
                yield ServerSentEvent::new().raw_data("never sent");
            }
        }
        let text = TestClient::new(App::new().route(inject))
            .get("/inject")
            .send()
            .await
            .text()
            .await;
        assert!(!text.contains("injected"), "{text:?}");
        assert!(!text.contains("never sent"), "{text:?}");
        assert!(text.starts_with("data: safe\nid: 1\n\n"));
        assert!(text.contains("event: error\n"), "{text:?}");
    }
}

/// Multi-line data: each line of the data becomes its own `data:` line, and a client
/// joins them back with `\n` (FastAPI's `format_sse_event` splits `data_str` the same
/// way).
mod multi_line_data {
    use super::*;

    #[get("/multi", sse)]
    async fn multi() -> impl Stream<Item = ServerSentEvent> {
        stream! {
            yield ServerSentEvent::new().raw_data("first line\nsecond line\r\nthird line\rfourth");
            yield ServerSentEvent::new().data("a\nb");
        }
    }

    #[tokio::test]
    async fn raw_data_lines_become_data_fields_and_join_back() {
        let response = TestClient::new(App::new().route(multi))
            .get("/multi")
            .send()
            .await;
        let text = response.text().await;
        assert_eq!(
            text,
            "data: first line\ndata: second line\ndata: third line\ndata: fourth\n\n\
             data: \"a\\nb\"\n\n"
        );
        let events: Vec<_> = TestClient::new(App::new().route(multi))
            .get("/multi")
            .send()
            .await
            .events()
            .collect()
            .await;
        assert_eq!(
            events[0].data,
            "first line\nsecond line\nthird line\nfourth"
        );
        // JSON data escapes its line breaks, so it always stays on one line.
        assert_eq!(events[1].json::<String>().unwrap(), "a\nb");
    }
}

/// `test_tutorial002.py`: an introductory comment, then events with every field.
mod tutorial002 {
    use super::*;

    #[get("/items/stream", sse)]
    async fn stream_items_route() -> impl Stream<Item = ServerSentEvent> {
        stream! {
            yield ServerSentEvent::new().comment("stream of item updates");
            for (i, item) in items().into_iter().enumerate() {
                yield ServerSentEvent::new()
                    .data(item)
                    .event("item_update")
                    .id((i + 1).to_string())
                    .retry(std::time::Duration::from_millis(5000));
            }
        }
    }

    #[tokio::test]
    async fn stream_items() {
        let text = get_stream(App::new().route(stream_items_route), "/items/stream").await;
        let lines: Vec<_> = text.trim().split('\n').collect();
        assert_eq!(lines[0], ": stream of item updates");
        assert_eq!(
            lines_starting_with(&text, "event: "),
            ["event: item_update"; 3]
        );
        assert_eq!(lines_starting_with(&text, "data: ").len(), 3);
        assert_eq!(
            lines_starting_with(&text, "id: "),
            ["id: 1", "id: 2", "id: 3"]
        );
        assert_eq!(lines_starting_with(&text, "retry: "), ["retry: 5000"; 3]);
    }
}

/// `test_tutorial003.py`: log lines with `raw_data`, through the `logs` example's route.
mod tutorial003 {
    use super::*;

    #[tokio::test]
    async fn stream_logs() {
        let text = get_stream(logs::app(), "/logs/stream").await;
        // FastAPI's tutorial pads the level to five characters; the guide (and this
        // example) does not. Either way the line arrives unquoted, exactly as written.
        assert_eq!(
            lines_starting_with(&text, "data: "),
            [
                "data: 2025-01-01 INFO Application started",
                "data: 2025-01-01 DEBUG Connected to database",
                "data: 2025-01-01 WARN High memory usage detected",
            ]
        );
    }
}

/// `test_tutorial004.py`: resume with `Last-Event-ID`.
mod tutorial004 {
    use super::*;

    #[get("/items/stream", sse)]
    async fn stream_items(
        LastEventId(last): LastEventId<usize>,
    ) -> impl Stream<Item = ServerSentEvent> {
        stream! {
            let start = last.map_or(0, |id| id.saturating_add(1));
            for (i, item) in items().into_iter().enumerate().skip(start) {
                yield ServerSentEvent::new().data(item).id(i.to_string());
            }
        }
    }

    async fn ids_and_data(last_event_id: Option<&str>) -> (Vec<String>, usize) {
        let client = TestClient::new(App::new().route(stream_items));
        let mut request = client.get("/items/stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await;
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await;
        let ids = lines_starting_with(&text, "id: ")
            .into_iter()
            .map(str::to_owned)
            .collect();
        (ids, lines_starting_with(&text, "data: ").len())
    }

    #[tokio::test]
    async fn stream_all_items() {
        assert_eq!(
            ids_and_data(None).await,
            (vec!["id: 0".into(), "id: 1".into(), "id: 2".into()], 3)
        );
    }

    #[tokio::test]
    async fn resume_from_last_event_id() {
        assert_eq!(
            ids_and_data(Some("0")).await,
            (vec!["id: 1".into(), "id: 2".into()], 2)
        );
    }

    #[tokio::test]
    async fn resume_from_last_item() {
        assert_eq!(ids_and_data(Some("1")).await, (vec!["id: 2".into()], 1));
    }

    /// FastAPI declares the header `int | None`; a value that is not one is a 422.
    #[tokio::test]
    async fn invalid_last_event_id_is_422() {
        let response = TestClient::new(App::new().route(stream_items))
            .get("/items/stream")
            .header("last-event-id", "not-a-number")
            .send()
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: serde_json::Value = response.json().await;
        assert_eq!(
            body["detail"][0]["loc"],
            serde_json::json!(["header", "last-event-id"])
        );
    }
}

/// `test_tutorial005.py`: a chat streamed over POST with a JSON body.
mod tutorial005 {
    use super::*;

    #[derive(Deserialize)]
    struct Prompt {
        text: String,
    }

    #[post("/chat/stream", sse)]
    async fn stream_chat_route(Json(prompt): Json<Prompt>) -> impl Stream<Item = ServerSentEvent> {
        stream! {
            for word in prompt.text.split_whitespace() {
                yield ServerSentEvent::new().data(word).event("token");
            }
            yield ServerSentEvent::new().raw_data("[DONE]").event("done");
        }
    }

    #[tokio::test]
    async fn stream_chat() {
        let response = TestClient::new(App::new().route(stream_chat_route))
            .post("/chat/stream")
            .json(&serde_json::json!({ "text": "hello world" }))
            .send()
            .await;
        response.assert_event_stream();
        let text = response.text().await;
        assert_eq!(
            lines_starting_with(&text, "event: "),
            ["event: token", "event: token", "event: done"]
        );
        assert_eq!(
            lines_starting_with(&text, "data: "),
            ["data: \"hello\"", "data: \"world\"", "data: [DONE]"]
        );
    }

    /// A body that is not a `Prompt` is refused before the stream starts.
    #[tokio::test]
    async fn invalid_body_is_422() {
        let response = TestClient::new(App::new().route(stream_chat_route))
            .post("/chat/stream")
            .json(&serde_json::json!({ "wrong": 1 }))
            .send()
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

/// `test_tutorial006.py`: a route-wide default `retry`, and events that override it.
mod tutorial006 {
    use super::*;

    #[get("/items/stream", sse, retry = "3s")]
    async fn stream_items_with_default_retry_route() -> impl Stream<Item = Item> {
        stream! {
            for item in items() {
                yield item;
            }
        }
    }

    #[get("/items/stream-override", sse, retry = "3s")]
    async fn stream_items_override_retry_route() -> impl Stream<Item = ServerSentEvent> {
        stream! {
            for item in items() {
                yield ServerSentEvent::new().data(item).retry(std::time::Duration::from_millis(10_000));
            }
        }
    }

    fn app() -> App {
        App::new()
            .route(stream_items_with_default_retry_route)
            .route(stream_items_override_retry_route)
    }

    /// The default is sent once, first (FastAPI repeats it on every event).
    #[tokio::test]
    async fn stream_items_with_default_retry() {
        let text = get_stream(app(), "/items/stream").await;
        assert!(text.starts_with("retry: 3000\n\n"), "{text:?}");
        assert_eq!(lines_starting_with(&text, "retry: "), ["retry: 3000"]);
        assert_eq!(lines_starting_with(&text, "data: ").len(), 3);
    }

    /// Each event's own `retry` follows the default, and a client keeps the last one.
    #[tokio::test]
    async fn stream_items_override_retry() {
        let text = get_stream(app(), "/items/stream-override").await;
        assert_eq!(
            lines_starting_with(&text, "retry: "),
            [
                "retry: 3000",
                "retry: 10000",
                "retry: 10000",
                "retry: 10000"
            ]
        );
        let frames: Vec<_> = TestClient::new(app())
            .get("/items/stream-override")
            .send()
            .await
            .frames()
            .collect()
            .await;
        assert_eq!(frames.last().and_then(|f| f.retry), Some(10_000));
    }

    #[tokio::test]
    async fn stream_items_plain() {
        let text = get_stream(app(), "/items/stream").await;
        let data = lines_starting_with(&text, "data: ");
        assert!(data[0].contains(r#""name":"Plumbus""#));
        assert!(data[1].contains(r#""name":"Portal Gun""#));
        assert!(data[2].contains(r#""name":"Meeseeks Box""#));
    }
}

/// `test_tutorial007.py`: a callback when the client disconnects — here a `Drop` guard,
/// which runs once per response, whether the stream completed or the client left.
mod tutorial007 {
    use super::*;

    #[derive(Clone, Default)]
    struct Disconnects(Arc<AtomicUsize>);

    struct OnDisconnect(Disconnects);

    impl Drop for OnDisconnect {
        fn drop(&mut self) {
            self.0 .0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[get("/items/stream", sse)]
    async fn stream_items(
        State(disconnects): State<Disconnects>,
    ) -> impl Stream<Item = ServerSentEvent> {
        stream! {
            let _on_disconnect = OnDisconnect(disconnects);
            for (i, item) in items().into_iter().enumerate() {
                yield ServerSentEvent::new()
                    .data(item)
                    .event("item_update")
                    .id((i + 1).to_string());
            }
        }
    }

    fn app(disconnects: &Disconnects) -> App {
        App::new().route(stream_items).state(disconnects.clone())
    }

    async fn wait_for(disconnects: &Disconnects, n: usize) {
        for _ in 0..200 {
            if disconnects.0.load(Ordering::SeqCst) >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(disconnects.0.load(Ordering::SeqCst), n);
    }

    #[tokio::test]
    async fn disconnect_callback_called() {
        let disconnects = Disconnects::default();
        let client = TestClient::new(app(&disconnects));
        let response = client.get("/items/stream").send().await;
        assert_eq!(response.status(), StatusCode::OK);
        let _ = response.text().await;
        wait_for(&disconnects, 1).await;
    }

    #[tokio::test]
    async fn disconnect_callback_multiple_requests() {
        let disconnects = Disconnects::default();
        let client = TestClient::new(app(&disconnects));
        for _ in 0..3 {
            let response = client.get("/items/stream").send().await;
            assert_eq!(response.status(), StatusCode::OK);
            let _ = response.text().await;
        }
        wait_for(&disconnects, 3).await;
    }

    #[tokio::test]
    async fn stream_items_with_disconnect() {
        let disconnects = Disconnects::default();
        let client = TestClient::new(app(&disconnects));
        let response = client.get("/items/stream").send().await;
        response.assert_event_stream();
        let text = response.text().await;
        assert_eq!(
            lines_starting_with(&text, "event: "),
            ["event: item_update"; 3]
        );
        assert_eq!(lines_starting_with(&text, "data: ").len(), 3);
        assert_eq!(
            lines_starting_with(&text, "id: "),
            ["id: 1", "id: 2", "id: 3"]
        );
        wait_for(&disconnects, 1).await;
    }

    /// Leaving early runs the guard too, while the stream still had items to send.
    #[tokio::test]
    async fn early_disconnect_runs_the_callback() {
        let disconnects = Disconnects::default();
        let client = TestClient::new(app(&disconnects));
        let first = client
            .get("/items/stream")
            .send()
            .await
            .events()
            .next()
            .await;
        assert_eq!(first.map(|e| e.last_event_id), Some("1".to_owned()));
        wait_for(&disconnects, 1).await;
    }
}

/// The guide's front-page example (`@app.get("/stream")` yielding ten dicts) and
/// `test_sse_basic_functionality`: status, content type, and `data:` in the body.
mod guide {
    use super::*;

    #[tokio::test]
    async fn sse_basic_functionality() {
        let response = TestClient::new(quickstart::app())
            .get("/stream")
            .send()
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.header("content-type"), Some(EVENT_STREAM));
        let text = response.text().await;
        assert!(text.contains("data:"));
        assert_eq!(lines_starting_with(&text, "data: ").len(), 10);
    }
}
