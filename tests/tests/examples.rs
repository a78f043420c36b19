//! Every route of every example (`examples/NAME.rs`, routes in `tests/src/scenarios/`),
//! through the test client: status, exact headers, exact event fields. Timestamps and
//! prices are checked by type and range; timing runs on tokio's paused clock.
//!
//! The last tests run the example binaries themselves: each prints
//! `listening on http://HOST:PORT` first, serves its route over TCP, and exits cleanly on
//! Ctrl-C (SIGINT), even with a stream open.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use sse_runtime::parse::Event;
use sse_runtime::testing::{Protocol, TestClient, TestResponse};
use sse_runtime::{App, Method, StatusCode};
use sse_tests::scenarios::{
    chat, chat_room, logs, notifications, quickstart, resume, safe_stream, showcase, stocks,
    typed_events, unix_timestamp,
};
use tokio::time::Instant;

fn assert_event_stream(response: &TestResponse) {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    assert_eq!(response.header("x-accel-buffering"), Some("no"));
}

/// The events of a finite stream.
async fn all_events(app: App, path: &str) -> Vec<Event> {
    let response = TestClient::new(app).get(path).send().await;
    assert_event_stream(&response);
    response.events().collect().await
}

/// Each event's arrival time since `start`, in milliseconds (paused clock: exact).
fn since(start: Instant) -> u128 {
    start.elapsed().as_millis()
}

mod quickstart_example {
    use super::*;

    #[tokio::test]
    async fn stream_sends_ten_messages_with_timestamps() {
        let before = unix_timestamp();
        let response = TestClient::new(quickstart::app())
            .get("/stream")
            .send()
            .await;
        assert_event_stream(&response);
        let body = response.text().await;
        let after = unix_timestamp();

        let blocks: Vec<&str> = body.split_terminator("\n\n").collect();
        assert_eq!(blocks.len(), 10, "{body:?}");
        let mut last = before;
        for (i, block) in blocks.iter().enumerate() {
            // Exactly one field, `data`, with the keys in FastAPI's order.
            let prefix = format!("data: {{\"message\":\"Event {i}\",\"timestamp\":");
            assert!(block.starts_with(&prefix), "{block:?}");
            assert!(!block.contains('\n'), "{block:?}");
            let data: Value = serde_json::from_str(&block["data: ".len()..]).expect("JSON");
            let object = data.as_object().expect("an object");
            assert_eq!(object.len(), 2);
            let timestamp = data["timestamp"].as_f64().expect("a float timestamp");
            assert!(
                (last..=after).contains(&timestamp),
                "{timestamp} not in {last}..={after}"
            );
            last = timestamp;
        }
    }

    #[tokio::test]
    async fn events_are_unnamed_and_unnumbered() {
        let events = all_events(quickstart::app(), "/stream").await;
        assert_eq!(events.len(), 10);
        for event in &events {
            assert_eq!(event.event, "message");
            assert_eq!(event.id, None);
            assert_eq!(event.retry, None);
        }
    }
}

mod typed_events_example {
    use super::*;
    use typed_events::{EventData, MESSAGES};

    #[tokio::test]
    async fn events_are_typed_event_data() {
        let before = unix_timestamp();
        let events = all_events(typed_events::app(), "/events").await;
        let after = unix_timestamp();
        assert_eq!(events.len(), MESSAGES.len());
        for (event, message) in events.iter().zip(MESSAGES) {
            assert_eq!(event.event, "message");
            assert_eq!(event.id, None);
            let data: EventData = event.json().expect("EventData");
            assert_eq!(data.message, message);
            assert!((before..=after).contains(&data.timestamp));
            let raw: Value = serde_json::from_str(&event.data).expect("JSON");
            assert_eq!(raw.as_object().map(|o| o.len()), Some(2));
        }
    }
}

mod notifications_example {
    use super::*;

    #[tokio::test]
    async fn notification_has_every_field() {
        let response = TestClient::new(notifications::app())
            .get("/notifications")
            .send()
            .await;
        assert_event_stream(&response);
        assert_eq!(
            response.text().await,
            "event: notification\n\
             data: {\"type\":\"alert\",\"content\":\"系统更新\"}\n\
             id: 123\n\
             retry: 3000\n\n"
        );
    }

    #[tokio::test]
    async fn browser_sees_a_notification_event() {
        let events = all_events(notifications::app(), "/notifications").await;
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.event, "notification");
        assert_eq!(event.id.as_deref(), Some("123"));
        assert_eq!(event.last_event_id, "123");
        assert_eq!(event.retry, Some(3000));
        let data: notifications::Notification = event.json().expect("Notification");
        assert_eq!(data.kind, "alert");
        assert_eq!(data.content, "系统更新");
    }
}

mod logs_example {
    use super::*;

    #[tokio::test]
    async fn log_lines_are_sent_raw() {
        let response = TestClient::new(logs::app())
            .get("/logs/stream")
            .send()
            .await;
        assert_event_stream(&response);
        assert_eq!(
            response.text().await,
            "data: 2025-01-01 INFO Application started\n\n\
             data: 2025-01-01 DEBUG Connected to database\n\n\
             data: 2025-01-01 WARN High memory usage detected\n\n"
        );
    }
}

mod chat_example {
    use super::*;
    use chat::{ChatModel, Model, ModelError, Reply, ScriptedModel};

    #[tokio::test(start_paused = true)]
    async fn reply_streams_ai_response_events_half_a_second_apart() {
        let client = TestClient::new(chat::app());
        let start = Instant::now();
        let response = client
            .post("/chat/stream")
            .query(&[("query", "Rust 的 SSE")])
            .send()
            .await;
        assert_event_stream(&response);
        let mut events = response.events();
        let mut seen = Vec::new();
        while let Some(event) = events.next().await {
            seen.push((event, since(start)));
        }
        let expected = ScriptedModel::pieces("Rust 的 SSE");
        assert_eq!(seen.len(), expected.len());
        for (i, ((event, at), piece)) in seen.iter().zip(&expected).enumerate() {
            assert_eq!(event.event, "ai_response");
            assert_eq!(event.id, None);
            // A JSON string, quoted on the wire.
            assert_eq!(event.data, serde_json::to_string(piece).unwrap());
            assert_eq!(*at, 500 * i as u128, "event {i} at {at} ms");
        }
        assert_eq!(
            seen[3].0.json::<String>().unwrap(),
            "The answer about Rust 的 SSE is..."
        );
    }

    #[tokio::test(start_paused = true)]
    async fn wire_format_is_event_then_quoted_data() {
        let text = TestClient::new(chat::app())
            .post("/chat/stream?query=tokio")
            .send()
            .await
            .text()
            .await;
        assert_eq!(
            text,
            "event: ai_response\ndata: \"Thinking...\"\n\n\
             event: ai_response\ndata: \"Analyzing your question\"\n\n\
             event: ai_response\ndata: \"Based on my knowledge base\"\n\n\
             event: ai_response\ndata: \"The answer about tokio is...\"\n\n"
        );
    }

    #[tokio::test]
    async fn missing_query_is_422_and_get_is_405() {
        let client = TestClient::new(chat::app());
        let response = client.post("/chat/stream").send().await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = response.json().await;
        assert_eq!(body["detail"][0]["loc"], json!(["query", "query"]));

        let response = client.get("/chat/stream?query=x").send().await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    /// A model that fails after `ok_pieces` pieces: what a real client's error looks like.
    struct FailingModel {
        ok_pieces: usize,
    }

    impl ChatModel for FailingModel {
        fn reply(&self, _query: &str) -> Reply {
            let ok = self.ok_pieces;
            Box::pin(sse_runtime::stream! {
                for i in 0..ok {
                    yield Ok(format!("piece {i}"));
                }
                yield Err(ModelError("rate limited".to_owned()));
            })
        }
    }

    fn failing_app(ok_pieces: usize) -> App {
        chat::routes_with(App::new(), Model::new(FailingModel { ok_pieces }))
    }

    #[tokio::test]
    async fn a_model_failure_before_the_first_piece_is_502() {
        let response = TestClient::new(failing_app(0))
            .post("/chat/stream?query=x")
            .send()
            .await;
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(response.header("content-type"), Some("application/json"));
        let body: Value = response.json().await;
        assert_eq!(body, json!({ "detail": "the model failed: rate limited" }));
    }

    #[tokio::test]
    async fn a_model_failure_mid_reply_ends_with_an_error_event() {
        let response = TestClient::new(failing_app(2))
            .post("/chat/stream?query=x")
            .send()
            .await;
        assert_event_stream(&response);
        let events: Vec<Event> = response.events().collect().await;
        let types: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(types, ["ai_response", "ai_response", "error"]);
        let error: Value = events[2].json().expect("JSON error");
        assert_eq!(
            error,
            json!({ "status": 502, "detail": "the model failed: rate limited" })
        );
    }
}

mod stocks_example {
    use super::*;
    use stocks::{PriceFeed, StockUpdate, MAX_CHANGE, PRICE_RANGE};

    fn assert_cents(value: f64) {
        assert!(
            ((value * 100.0).round() - value * 100.0).abs() < 1e-6,
            "{value} is not rounded to cents"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn price_updates_every_second_within_range() {
        let client = TestClient::new(stocks::app());
        let start = Instant::now();
        let response = client.get("/stocks/aapl/stream").send().await;
        assert_event_stream(&response);
        let mut events = response.events();
        let mut previous: Option<f64> = None;
        for i in 0..5u128 {
            let event = events.next().await.expect("an endless stream");
            assert_eq!(since(start), 1000 * i);
            assert_eq!(event.event, "price_update");
            assert_eq!(event.id, None);
            let raw: Value = serde_json::from_str(&event.data).expect("JSON");
            assert!(raw["price"].is_f64() && raw["change"].is_f64(), "{raw}");
            assert_eq!(raw.as_object().map(|o| o.len()), Some(3));
            let update: StockUpdate = event.json().expect("StockUpdate");
            assert_eq!(update.symbol, "AAPL");
            assert!((PRICE_RANGE.0..=PRICE_RANGE.1).contains(&update.price));
            assert!(update.change.abs() <= MAX_CHANGE + 1e-9);
            assert_cents(update.price);
            assert_cents(update.change);
            if let Some(previous) = previous {
                assert!((previous + update.change - update.price).abs() < 0.011);
            }
            previous = Some(update.price);
        }
    }

    #[tokio::test]
    async fn an_invalid_symbol_is_400_before_the_stream() {
        let client = TestClient::new(stocks::app());
        for symbol in ["TOOLONGSYMBOL", "A%20B", "%F0%9F%93%88"] {
            let response = client.get(&format!("/stocks/{symbol}/stream")).send().await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{symbol}");
            let body: Value = response.json().await;
            assert_eq!(
                body,
                json!({ "detail": "symbol must be 1 to 10 letters, digits, '.' or '-'" })
            );
        }
        let response = client.get("/stocks/BRK.B/stream").send().await;
        assert_event_stream(&response);
    }

    #[test]
    fn the_simulated_feed_stays_in_range() {
        for seed in 0..20 {
            let mut feed = PriceFeed::new("X", seed);
            for _ in 0..2_000 {
                let update = feed.tick();
                assert!((PRICE_RANGE.0..=PRICE_RANGE.1).contains(&update.price));
                assert!(update.change.abs() <= MAX_CHANGE + 1e-9);
            }
        }
    }
}

mod resume_example {
    use super::*;
    use resume::{ITEMS, PAUSE};

    fn item_json(i: usize) -> String {
        serde_json::to_string(&ITEMS[i]).unwrap()
    }

    async fn resume_after(last_event_id: Option<&str>) -> TestResponse {
        let client = TestClient::new(resume::app());
        let mut request = client.get("/items/stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        request.send().await
    }

    #[tokio::test(start_paused = true)]
    async fn numbers_every_item_with_its_index() {
        let response = resume_after(None).await;
        assert_event_stream(&response);
        let mut expected = String::from("retry: 1000\n\n");
        for i in 0..ITEMS.len() {
            expected.push_str(&format!("data: {}\nid: {i}\n\n", item_json(i)));
        }
        assert_eq!(response.text().await, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn items_come_a_pause_apart() {
        let start = Instant::now();
        let mut events = resume_after(None).await.events();
        for i in 0..ITEMS.len() {
            let event = events.next().await.expect("an item");
            assert_eq!(event.id, Some(i.to_string()));
            assert_eq!(since(start), PAUSE.as_millis() * i as u128);
        }
        assert!(events.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn last_event_id_continues_after_it() {
        let response = resume_after(Some("2")).await;
        assert_event_stream(&response);
        assert_eq!(
            response.text().await,
            format!(
                "retry: 1000\n\ndata: {}\nid: 3\n\ndata: {}\nid: 4\n\n",
                item_json(3),
                item_json(4)
            )
        );
    }

    #[tokio::test(start_paused = true)]
    async fn after_the_last_item_there_is_nothing_more() {
        for id in ["4", "5", &usize::MAX.to_string()] {
            let response = resume_after(Some(id)).await;
            assert_event_stream(&response);
            assert_eq!(
                response.text().await,
                "retry: 1000\n\n",
                "Last-Event-ID {id}"
            );
        }
    }

    #[tokio::test]
    async fn a_last_event_id_that_is_not_a_number_is_422() {
        let response = resume_after(Some("abc")).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = response.json().await;
        assert_eq!(body["detail"][0]["loc"], json!(["header", "last-event-id"]));
    }

    /// What a browser does: read some events, lose the connection, reconnect with the
    /// last id it saw, and get exactly the rest — over a real socket.
    #[tokio::test]
    async fn reconnect_over_tcp_resumes_where_it_stopped() {
        let client = TestClient::spawn(resume::app(), Protocol::Http1).await;
        let mut events = client.get("/items/stream").send().await.events();
        let first = events.next().await.expect("item 0");
        let second = events.next().await.expect("item 1");
        assert_eq!(second.last_event_id, "1");
        drop(events); // connection lost

        let rest: Vec<Event> = client
            .get("/items/stream")
            .header("Last-Event-ID", &second.last_event_id)
            .send()
            .await
            .events()
            .collect()
            .await;
        let mut ids: Vec<String> = vec![first.last_event_id, second.last_event_id];
        ids.extend(rest.iter().map(|e| e.last_event_id.clone()));
        assert_eq!(ids, ["0", "1", "2", "3", "4"]);
        assert_eq!(rest[0].data, item_json(2));
    }
}

mod safe_stream_example {
    use super::*;
    use safe_stream::{StreamControl, COUNT};

    fn app(control: &StreamControl) -> App {
        safe_stream::routes_with(App::new(), control.clone())
    }

    async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        for _ in 0..500 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting until {what}");
    }

    #[tokio::test(start_paused = true)]
    async fn counts_once_a_second_to_100_then_cleans_up() {
        let control = StreamControl::new();
        let start = Instant::now();
        let response = TestClient::new(app(&control))
            .get("/safe-stream")
            .send()
            .await;
        assert_event_stream(&response);
        let mut events = response.events();
        let mut count = 0;
        while let Some(event) = events.next().await {
            assert_eq!(event.event, "message");
            assert_eq!(event.data, format!("{{\"count\":{count}}}"));
            assert_eq!(since(start), 1000 * count as u128);
            count += 1;
        }
        assert_eq!(count, COUNT);
        assert_eq!(control.running(), 0);
        assert_eq!(
            control.disconnected(),
            0,
            "a complete stream is no disconnect"
        );
    }

    #[tokio::test]
    async fn a_disconnect_runs_the_cleanup() {
        let control = StreamControl::new();
        let client = TestClient::spawn(app(&control), Protocol::Http1).await;
        let mut events = client.get("/safe-stream").send().await.events();
        let first = events.next().await.expect("count 0");
        assert_eq!(first.data, r#"{"count":0}"#);
        assert_eq!(control.running(), 1);
        drop(events); // the client goes away mid-stream
        wait_until("the stream is cleaned up", || control.running() == 0).await;
        assert_eq!(control.disconnected(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_stop_signal_ends_every_running_stream() {
        let control = StreamControl::new();
        let client = TestClient::new(app(&control));
        let mut a = client.get("/safe-stream").send().await.events();
        let mut b = client.get("/safe-stream").send().await.events();
        assert!(a.next().await.is_some());
        assert!(b.next().await.is_some());
        assert_eq!(control.running(), 2);

        let response = client.post("/safe-stream/stop").send().await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.json::<Value>().await, json!({ "stopped": 2 }));

        // Both end at once (no more counts), cleanly.
        let start = Instant::now();
        assert!(a.next().await.is_none());
        assert!(b.next().await.is_none());
        assert_eq!(since(start), 0);
        assert_eq!(control.running(), 0);
        assert_eq!(control.disconnected(), 0);

        // A stream started after the signal runs normally.
        let mut c = client.get("/safe-stream").send().await.events();
        assert_eq!(
            c.next().await.map(|e| e.data),
            Some(r#"{"count":0}"#.into())
        );
        assert_eq!(
            c.next().await.map(|e| e.data),
            Some(r#"{"count":1}"#.into())
        );
    }
}

mod chat_room_example {
    use super::*;
    use sse_runtime::testing::Events;

    async fn next_event(events: &mut Events) -> Event {
        match tokio::time::timeout(Duration::from_secs(10), events.next()).await {
            Ok(Some(event)) => event,
            Ok(None) => panic!("the stream ended"),
            Err(_) => panic!("no event within 10 s"),
        }
    }

    /// Posts `{"user", "text"}` to `room`; returns the response's status and body.
    async fn post(client: &TestClient, room: &str, user: &str, text: &str) -> (StatusCode, Value) {
        let response = client
            .post(&format!("/rooms/{room}/messages"))
            .json(&json!({ "user": user, "text": text }))
            .send()
            .await;
        (response.status(), response.json().await)
    }

    async fn subscribe(client: &TestClient, room: &str, last: Option<&str>) -> Events {
        let mut request = client.get(&format!("/rooms/{room}/events"));
        if let Some(last) = last {
            request = request.header("last-event-id", last);
        }
        let response = request.send().await;
        assert_event_stream(&response);
        response.events()
    }

    fn message(event: &Event) -> chat_room::ChatMessage {
        assert_eq!(event.event, "message", "{event:?}");
        event.json().expect("a chat message")
    }

    #[tokio::test]
    async fn a_message_reaches_every_client_of_its_room_with_its_id() {
        for protocol in [None, Some(Protocol::Http1), Some(Protocol::Http2)] {
            let client = match protocol {
                None => TestClient::new(chat_room::app()),
                Some(protocol) => TestClient::spawn(chat_room::app(), protocol).await,
            };
            let mut ann = subscribe(&client, "lobby", None).await;
            let mut bob = subscribe(&client, "lobby", None).await;
            let mut elsewhere = subscribe(&client, "kitchen", None).await;
            let (status, body) = post(&client, "lobby", "  ann ", " hi all\n").await;
            assert_eq!(status, StatusCode::CREATED, "{protocol:?}");
            let id = body["id"].as_str().expect("the event id").to_owned();
            for events in [&mut ann, &mut bob] {
                let event = next_event(events).await;
                assert_eq!(event.data, r#"{"user":"ann","text":"hi all"}"#, "trimmed");
                assert_eq!(event.id.as_deref(), Some(id.as_str()));
            }
            // Another room's clients do not get it.
            post(&client, "kitchen", "cook", "soup").await;
            assert_eq!(message(&next_event(&mut elsewhere).await).text, "soup");
        }
    }

    #[tokio::test]
    async fn history_first_then_resume_after_last_event_id_or_reset() {
        let client = TestClient::new(chat_room::app());
        let mut ids = Vec::new();
        for text in ["one", "two", "three"] {
            let (status, body) = post(&client, "r", "ann", text).await;
            assert_eq!(status, StatusCode::CREATED);
            ids.push(body["id"].as_str().expect("id").to_owned());
        }
        // A new client: the history, then live.
        let mut events = subscribe(&client, "r", None).await;
        for (text, id) in ["one", "two", "three"].iter().zip(&ids) {
            let event = next_event(&mut events).await;
            assert_eq!(message(&event).text, *text);
            assert_eq!(event.id.as_ref(), Some(id));
        }
        post(&client, "r", "bob", "four").await;
        assert_eq!(message(&next_event(&mut events).await).text, "four");
        // A returning client: only what came after its id.
        let mut events = subscribe(&client, "r", Some(&ids[1])).await;
        assert_eq!(message(&next_event(&mut events).await).text, "three");
        assert_eq!(message(&next_event(&mut events).await).text, "four");
        // An id the room does not have: a reset (no id), then the history.
        let mut events = subscribe(&client, "r", Some("1-0")).await;
        let reset = next_event(&mut events).await;
        assert_eq!(reset.event, "reset");
        assert_eq!(reset.id, None);
        assert_eq!(reset.data, r#"{"last_event_id":"1-0"}"#);
        assert_eq!(message(&next_event(&mut events).await).text, "one");
    }

    #[tokio::test]
    async fn bad_rooms_and_messages_are_422() {
        let client = TestClient::new(chat_room::app());
        let long_room = "r".repeat(65);
        for room in ["a%20b", "caf%C3%A9", long_room.as_str()] {
            let (status, body) = post(&client, room, "ann", "hi").await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "POST {room}");
            assert!(body["detail"].as_str().is_some_and(|d| d.contains("room")));
            let response = client.get(&format!("/rooms/{room}/events")).send().await;
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "GET {room}"
            );
        }
        let long_text = "x".repeat(2001);
        for (user, text) in [
            ("", "hi"),
            ("ann", "   "),
            (&*"u".repeat(33), "hi"),
            ("ann", &*long_text),
        ] {
            let (status, _) = post(&client, "lobby", user, text).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{user:?} {text:?}"
            );
        }
        let missing = client
            .post("/rooms/lobby/messages")
            .json(&json!({ "text": "who am I" }))
            .send()
            .await;
        assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // Nothing was published.
        let (status, _) = post(&client, "lobby", "ann", "first").await;
        assert_eq!(status, StatusCode::CREATED);
        let mut events = subscribe(&client, "lobby", None).await;
        assert_eq!(message(&next_event(&mut events).await).text, "first");
    }
}

mod showcase_example {
    use super::*;

    #[tokio::test]
    async fn index_is_the_html_page() {
        let response = TestClient::new(showcase::app()).get("/").send().await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        let html = response.text().await;
        assert_eq!(html, showcase::INDEX_HTML);
        assert!(html.starts_with("<!doctype html>"));
        for needle in [
            "new EventSource(",
            "getReader()",
            "\"/stream\"",
            "\"/events\"",
            "\"/notifications\"",
            "\"/logs/stream\"",
            "\"/items/stream\"",
            "\"/safe-stream\"",
            "\"/safe-stream/stop\"",
            "\"/stocks/\"",
            "\"/chat/stream?query=\"",
            "\"/rooms/\"",
            "\"/messages\"",
            "Last-Event-ID",
        ] {
            assert!(html.contains(needle), "the page does not use {needle}");
        }
    }

    #[test]
    fn composes_every_example_route() {
        let service = showcase::app().build().expect("no conflicting routes");
        let mut routes = service.routes();
        routes.sort();
        let mut expected = vec![
            (Method::GET, "/".to_owned()),
            (Method::GET, "/stream".to_owned()),
            (Method::GET, "/events".to_owned()),
            (Method::GET, "/notifications".to_owned()),
            (Method::GET, "/logs/stream".to_owned()),
            (Method::POST, "/chat/stream".to_owned()),
            (Method::GET, "/stocks/{symbol}/stream".to_owned()),
            (Method::GET, "/items/stream".to_owned()),
            (Method::GET, "/safe-stream".to_owned()),
            (Method::POST, "/safe-stream/stop".to_owned()),
            (Method::GET, "/rooms/{room}/events".to_owned()),
            (Method::POST, "/rooms/{room}/messages".to_owned()),
            // The OpenAPI document and the docs page (`OpenApiConfig` in `showcase::app`).
            (Method::GET, "/openapi.json".to_owned()),
            (Method::GET, "/docs".to_owned()),
        ];
        expected.sort();
        assert_eq!(routes, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn every_stream_answers_through_the_showcase() {
        let client = TestClient::new(showcase::app());
        // The chat room streams what was posted to it (history first).
        let posted = client
            .post("/rooms/showcase/messages")
            .json(&json!({"user": "ann", "text": "hello"}))
            .send()
            .await;
        assert_eq!(posted.status(), StatusCode::CREATED);
        for (method, path) in [
            (Method::GET, "/stream"),
            (Method::GET, "/events"),
            (Method::GET, "/notifications"),
            (Method::GET, "/logs/stream"),
            (Method::POST, "/chat/stream?query=q"),
            (Method::GET, "/stocks/AAPL/stream"),
            (Method::GET, "/items/stream"),
            (Method::GET, "/safe-stream"),
            (Method::GET, "/rooms/showcase/events"),
        ] {
            let response = client.request(method.clone(), path).send().await;
            assert_event_stream(&response);
            let first = response.events().next().await;
            assert!(first.is_some(), "{method} {path} sent no event");
        }
    }
}

/// The example binaries themselves, as `cargo run --example NAME` runs them.
mod binaries {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

    use super::Duration;

    /// `target/<profile>/examples/NAME`, freshly built: `cargo test` builds the examples,
    /// but `cargo test --test examples` alone does not, so build them (a no-op when fresh).
    fn example_binary(name: &str) -> PathBuf {
        static BUILT: std::sync::Once = std::sync::Once::new();
        BUILT.call_once(|| {
            let mut cargo = Command::new(env!("CARGO"));
            cargo.args(["build", "--quiet", "-p", "sse-tests", "--examples"]);
            if !cfg!(debug_assertions) {
                cargo.arg("--release");
            }
            let status = cargo.status().expect("run cargo");
            assert!(status.success(), "cargo build --examples failed");
        });
        // This test runs from target/<profile>/deps/.
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target/<profile>");
        let binary = profile_dir
            .join("examples")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        assert!(binary.exists(), "{} was not built", binary.display());
        binary
    }

    /// Kills the example if the test fails before it stops it.
    struct Running(Child);

    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Starts the example on a free port; returns it and its `HOST:PORT`.
    fn start(name: &str) -> (Running, String) {
        let mut child = Command::new(example_binary(name))
            .env("ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the example");
        let stdout = child.stdout.take().expect("stdout");
        let running = Running(child);
        let mut first_line = String::new();
        BufReader::new(stdout)
            .read_line(&mut first_line)
            .expect("read the first line");
        let addr = first_line
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.strip_suffix('\n'))
            .unwrap_or_else(|| panic!("{name}: first line was {first_line:?}"))
            .to_owned();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        (running, addr)
    }

    /// Sends one request and reads until `until` shows up; leaves the connection open.
    fn request_until(addr: &str, method: &str, path: &str, until: &str) -> (TcpStream, String) {
        let mut socket = TcpStream::connect(addr).expect("connect");
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            socket,
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\ncontent-length: 0\r\n\r\n"
        )
        .expect("send the request");
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains(until) {
            let n = socket.read(&mut buf).expect("read the response");
            assert!(n > 0, "connection closed before {until:?}: {seen:?}");
            seen.extend_from_slice(&buf[..n]);
        }
        (socket, String::from_utf8_lossy(&seen).into_owned())
    }

    /// Ctrl-C: SIGINT, then a clean exit within the shutdown grace period.
    fn interrupt_and_wait(mut running: Running, name: &str) {
        let pid = running.0.id().to_string();
        let status = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = running.0.try_wait().expect("wait") {
                assert!(status.success(), "{name} exited with {status} after Ctrl-C");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name} still running 10 s after Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Each example serves its route over TCP and stops on Ctrl-C, with the stream
    /// still open (the endless ones never end on their own).
    #[test]
    #[cfg(unix)]
    fn every_example_prints_its_address_serves_and_stops_on_ctrl_c() {
        let cases = [
            ("quickstart", "GET", "/stream", "\"message\":\"Event 0\""),
            ("typed_events", "GET", "/events", "\"message\":\"Hello\""),
            (
                "notifications",
                "GET",
                "/notifications",
                "event: notification",
            ),
            (
                "logs",
                "GET",
                "/logs/stream",
                "data: 2025-01-01 INFO Application started",
            ),
            (
                "chat",
                "POST",
                "/chat/stream?query=Rust",
                "data: \"Thinking...\"",
            ),
            (
                "stocks",
                "GET",
                "/stocks/AAPL/stream",
                "event: price_update",
            ),
            ("resume", "GET", "/items/stream", "id: 0"),
            ("safe_stream", "GET", "/safe-stream", "data: {\"count\":0}"),
            ("chat_room", "GET", "/rooms/lobby/events", "retry: 1000"),
            (
                "showcase",
                "GET",
                "/",
                "<title>sse-runtime showcase</title>",
            ),
        ];
        for (name, method, path, until) in cases {
            let (running, addr) = start(name);
            let (socket, seen) = request_until(&addr, method, path, until);
            if path != "/" {
                assert!(
                    seen.contains("content-type: text/event-stream; charset=utf-8"),
                    "{name}: {seen}"
                );
            }
            interrupt_and_wait(running, name);
            drop(socket);
        }
    }
}
