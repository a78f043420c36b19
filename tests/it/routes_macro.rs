//! `routes! { ... }`: route functions whose bodies `yield` directly, on stable Rust —
//! the product's headline syntax — exercised in process and over a real socket.

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{
    routes, App, HttpError, Json, LastEventId, Path, Query, ServerSentEvent, State, Stream,
};

#[derive(Clone)]
struct Quotes {
    base: f64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct StockUpdate {
    symbol: String,
    price: f64,
    seq: u32,
}

#[derive(Deserialize)]
struct Limit {
    n: u32,
}

#[derive(Deserialize)]
struct Prompt {
    words: Vec<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Token {
    text: String,
}

routes! {
    /// The README's route: typed items, a path and a query parameter, state.
    #[get("/stocks/{symbol}/stream", sse, keep_alive = "15s")]
    async fn stocks(
        Path(symbol): Path<String>,
        Query(limit): Query<Limit>,
        State(quotes): State<Quotes>,
    ) -> impl Stream<Item = StockUpdate> {
        for seq in 0..limit.n {
            yield StockUpdate { symbol: symbol.clone(), price: quotes.base + f64::from(seq), seq };
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// `ServerSentEvent` items with ids, resuming after `Last-Event-ID`.
    #[get("/items", sse)]
    async fn items(LastEventId(last): LastEventId<u32>) -> impl Stream<Item = ServerSentEvent> {
        let start = last.map_or(1, |id| id + 1);
        for id in start..start + 3 {
            yield ServerSentEvent::new().event("item").id(id.to_string()).data(id);
        }
    }

    /// `Result` items and `?`: a `try_stream!`; an error before the first event is a 4xx.
    #[post("/complete", sse)]
    async fn complete(Json(prompt): Json<Prompt>) -> impl Stream<Item = Result<Token, HttpError>> {
        if prompt.words.is_empty() {
            Err(HttpError::bad_request("empty prompt"))?;
        }
        for text in prompt.words {
            check(&text)?;
            yield Token { text };
        }
    }

    /// JSON Lines from a bare generator.
    #[route(GET, "/numbers", ndjson)]
    fn numbers(Query(limit): Query<Limit>) -> impl Stream<Item = u32> {
        for n in 1..=limit.n {
            yield n;
        }
    }

    /// A plain route beside them.
    #[sse_runtime::get("/health")]
    async fn health() -> Json<&'static str> {
        Json("ok")
    }

    /// A helper passes through untouched.
    fn check(word: &str) -> Result<(), HttpError> {
        if word == "boom" {
            return Err(HttpError::bad_request("boom is not a word"));
        }
        Ok(())
    }
}

fn app() -> App {
    App::new()
        .route(stocks)
        .route(items)
        .route(complete)
        .route(numbers)
        .route(health)
        .state(Quotes { base: 100.0 })
}

async fn exercise(client: &TestClient) {
    let response = client.get("/stocks/ACME/stream?n=3").send().await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    let events: Vec<_> = response.events().collect().await;
    let updates: Vec<StockUpdate> = events
        .iter()
        .map(|event| serde_json::from_str(&event.data).expect("a JSON stock update"))
        .collect();
    assert_eq!(
        updates,
        (0..3)
            .map(|seq| StockUpdate {
                symbol: "ACME".into(),
                price: 100.0 + f64::from(seq),
                seq
            })
            .collect::<Vec<_>>()
    );

    // The query is extracted before the generator starts: a bad one is a 422.
    let bad = client.get("/stocks/ACME/stream?n=many").send().await;
    assert_eq!(bad.status(), 422);

    let resumed = client
        .get("/items")
        .header("last-event-id", "7")
        .send()
        .await
        .text()
        .await;
    assert_eq!(
        resumed,
        "event: item\ndata: 8\nid: 8\n\nevent: item\ndata: 9\nid: 9\n\nevent: item\ndata: 10\nid: 10\n\n"
    );

    let ok = client
        .post("/complete")
        .json(&json!({"words": ["a", "b"]}))
        .send()
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.text().await,
        "data: {\"text\":\"a\"}\n\ndata: {\"text\":\"b\"}\n\n"
    );
    let empty = client
        .post("/complete")
        .json(&json!({"words": []}))
        .send()
        .await;
    assert_eq!(empty.status(), 400);
    assert_eq!(empty.text().await, r#"{"detail":"empty prompt"}"#);
    let late = client
        .post("/complete")
        .json(&json!({"words": ["a", "boom"]}))
        .send()
        .await;
    assert_eq!(late.status(), 200);
    assert_eq!(
        late.text().await,
        "data: {\"text\":\"a\"}\n\nevent: error\ndata: {\"status\":400,\"detail\":\"boom is not a word\"}\n\n"
    );

    // (A local variable cannot be named `numbers`: that is the route's unit struct.)
    let lines = client.get("/numbers?n=3").send().await;
    assert_eq!(lines.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(lines.text().await, "1\n2\n3\n");

    assert_eq!(client.get("/health").send().await.text().await, "\"ok\"");
}

#[tokio::test]
async fn in_process() {
    exercise(&TestClient::new(app())).await;
}

#[tokio::test]
async fn over_a_socket() {
    exercise(&TestClient::spawn(app(), Protocol::Http1).await).await;
}

#[tokio::test]
async fn functions_can_still_be_called_directly() {
    let ticks: Vec<u32> = numbers::call(Query(Limit { n: 4 })).collect().await;
    assert_eq!(ticks, [1, 2, 3, 4]);
    let tokens: Vec<Result<Token, HttpError>> = complete::call(Json(Prompt {
        words: vec!["x".into()],
    }))
    .await
    .collect()
    .await;
    assert_eq!(tokens.len(), 1);
    assert!(matches!(&tokens[0], Ok(token) if token.text == "x"));
}

// ---------------------------------------------------------------------------------------
// Typed events: `Event<T>` items in `sse` and `ndjson` routes.

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Chunk {
    delta: String,
}

/// One generator for both formats: typed chunks with SSE fields, then a raw terminator.
fn chunks(words: &'static [&'static str]) -> impl Stream<Item = sse_runtime::Event<Chunk>> {
    sse_runtime::stream! {
        for (i, word) in words.iter().enumerate() {
            let chunk = Chunk { delta: (*word).to_owned() };
            yield sse_runtime::Event::new(chunk).id(i.to_string()).event("chunk");
        }
        yield sse_runtime::Event::comment_only("almost done");
        yield sse_runtime::Event::raw("[DONE]");
    }
}

routes! {
    #[get("/typed/sse", sse)]
    async fn typed_sse() -> impl Stream<Item = sse_runtime::Event<Chunk>> {
        chunks(&["a", "b"])
    }

    #[get("/typed/lines", ndjson)]
    async fn typed_lines() -> impl Stream<Item = sse_runtime::Event<Chunk>> {
        chunks(&["a", "b"])
    }

    #[get("/typed/failing", sse)]
    async fn typed_failing() -> impl Stream<Item = Result<sse_runtime::Event<Chunk>, HttpError>> {
        yield sse_runtime::Event::new(Chunk { delta: "a".to_owned() }).id("0");
        Err(HttpError::new(sse_runtime::StatusCode::BAD_GATEWAY, "upstream failed"))?;
        yield sse_runtime::Event::raw("[DONE]");
    }
}

#[tokio::test]
async fn typed_events_in_sse_and_json_lines_routes() {
    let client = TestClient::new(
        App::new()
            .route(typed_sse)
            .route(typed_lines)
            .route(typed_failing),
    );

    let response = client.get("/typed/sse").send().await;
    response.assert_event_stream();
    assert_eq!(
        response.text().await,
        "event: chunk\ndata: {\"delta\":\"a\"}\nid: 0\n\n\
         event: chunk\ndata: {\"delta\":\"b\"}\nid: 1\n\n\
         : almost done\n\n\
         data: [DONE]\n\n"
    );

    // The same items as JSON Lines: the payloads only.
    let lines = client.get("/typed/lines").send().await;
    assert_eq!(lines.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(lines.text().await, "{\"delta\":\"a\"}\n{\"delta\":\"b\"}\n");

    // A failure after a typed event ends the stream (with the format's error event) and
    // the raw terminator is never sent.
    let events: Vec<_> = client
        .get("/typed/failing")
        .send()
        .await
        .events()
        .collect()
        .await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        events[0].json::<Chunk>().ok(),
        Some(Chunk {
            delta: "a".to_owned()
        })
    );
    assert_ne!(events[1].data, "[DONE]");
    assert!(
        events[1].data.contains("upstream failed"),
        "{:?}",
        events[1]
    );
}
