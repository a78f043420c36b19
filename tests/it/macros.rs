//! An app defined only with the route attributes (`#[get]`, `#[post]`, `#[put]`,
//! `#[patch]`, `#[delete]`, `#[route]`), exercised in process and over real sockets
//! (HTTP/1.1 and HTTP/2): extractors of every kind, typed and `ServerSentEvent` items,
//! `Result` items with `?` and with explicit `Err`, streams returned without a
//! generator, JSON Lines, per-route keep-alive and retry, and plain JSON routes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{
    delete, get, patch, post, put, route, stream, try_stream, App, HeaderMap, HttpError, Json,
    LastEventId, Path, Query, ServerSentEvent, State, StatusCode, Stream,
};

// ---- state -----------------------------------------------------------------------------

#[derive(Clone)]
struct Prices {
    base: f64,
}

#[derive(Clone)]
struct Feed(tokio::sync::broadcast::Sender<String>);

#[derive(Clone, Default)]
struct Store(Arc<Mutex<Vec<Item>>>);

// ---- types -----------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    #[serde(default)]
    fail_at: Option<usize>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Token {
    text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    id: u32,
    name: String,
}

#[derive(Deserialize)]
struct NewItem {
    name: String,
}

// ---- streaming routes ------------------------------------------------------------------

/// Typed `Serialize` items from a generator; path, query and state extractors.
#[get("/stocks/{symbol}/stream", sse)]
async fn stocks(
    Path(symbol): Path<String>,
    Query(limit): Query<Limit>,
    State(prices): State<Prices>,
) -> impl Stream<Item = StockUpdate> {
    stream! {
        for seq in 0..limit.n {
            yield StockUpdate { symbol: symbol.clone(), price: prices.base + f64::from(seq), seq };
        }
    }
}

/// `ServerSentEvent` items; header extractors; `retry` and `keep_alive = off` options.
#[get("/counter", sse, retry = "3s", keep_alive = off)]
async fn counter(
    last: LastEventId<u32>,
    headers: HeaderMap,
) -> impl Stream<Item = ServerSentEvent> {
    let start = last.0.map_or(0, |id| id + 1);
    let tag = headers
        .get("x-tag")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("none")
        .to_owned();
    stream! {
        for i in start..start + 3 {
            yield ServerSentEvent::new()
                .event("tick")
                .data(json!({ "i": i, "tag": tag }))
                .id(i.to_string());
        }
    }
}

/// Fails the prompt if a word is not plain ASCII.
fn check_word(word: &str) -> Result<(), HttpError> {
    if word.is_ascii() {
        Ok(())
    } else {
        Err(HttpError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("not ASCII: {word}"),
        ))
    }
}

/// POST with a JSON body; `Result` items with `?` (a `try_stream!`).
#[post("/complete", sse)]
async fn complete(Json(prompt): Json<Prompt>) -> impl Stream<Item = Result<Token, HttpError>> {
    try_stream! {
        if prompt.words.is_empty() {
            Err(HttpError::bad_request("empty prompt"))?;
        }
        for (i, text) in prompt.words.into_iter().enumerate() {
            if prompt.fail_at == Some(i) {
                Err(HttpError::new(StatusCode::SERVICE_UNAVAILABLE, "model overloaded"))?;
            }
            check_word(&text)?;
            yield Token { text };
        }
    }
}

/// Rejects symbols with lowercase letters.
fn check_symbol(symbol: &str) -> Result<(), HttpError> {
    if symbol.chars().any(char::is_lowercase) {
        return Err(HttpError::bad_request(format!(
            "symbols are uppercase: {symbol}"
        )));
    }
    Ok(())
}

/// `Result` items in a `stream!`: `yield Ok(..)` / `yield Err(..)`, and `?` (which yields
/// the `Err` and ends the stream).
#[get("/lookup/{symbol}", sse)]
async fn lookup(Path(symbol): Path<String>) -> impl Stream<Item = Result<StockUpdate, HttpError>> {
    stream! {
        check_symbol(&symbol)?;
        if symbol != "ACME" {
            yield Err(HttpError::not_found(format!("no such symbol: {symbol}")));
            return;
        }
        yield Ok(StockUpdate { symbol, price: 1.5, seq: 0 });
    }
}

/// No generator: a broadcast subscription returned as a stream. Nothing comes until
/// something is sent, so the headers go out at once (the test sends after they arrive).
#[get("/feed", sse, first_event_window = "0s")]
async fn feed(State(Feed(sender)): State<Feed>) -> impl Stream<Item = String> {
    let receiver = sender.subscribe();
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .ok()
            .map(|message| (message, receiver))
    })
}

/// No generator, not even `async`: a ready-made stream, as JSON Lines, via `#[route]`.
#[route(GET, "/numbers", ndjson)]
fn numbers(Query(limit): Query<Limit>) -> impl Stream<Item = u32> {
    futures_util::stream::iter(0..limit.n)
}

/// JSON Lines from a generator.
#[post("/rows", ndjson)]
async fn rows(Json(items): Json<Vec<NewItem>>) -> impl Stream<Item = Item> {
    stream! {
        for (id, item) in (1..).zip(items) {
            yield Item { id, name: item.name };
        }
    }
}

/// A slow first event: headers go out first; keep-alive comments every 50 ms meanwhile.
#[get("/slow", sse, keep_alive = "50ms")]
async fn slow() -> impl Stream<Item = &'static str> {
    stream! {
        tokio::time::sleep(Duration::from_millis(300)).await;
        yield "finally";
    }
}

// ---- plain routes ----------------------------------------------------------------------

/// A plain JSON route.
#[get("/health")]
async fn health(State(prices): State<Prices>) -> Json<Value> {
    Json(json!({ "status": "ok", "base": prices.base }))
}

#[post("/items")]
async fn create_item(
    State(store): State<Store>,
    Json(new): Json<NewItem>,
) -> (StatusCode, Json<Item>) {
    let mut items = store
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let id = u32::try_from(items.len()).unwrap_or(u32::MAX) + 1;
    let item = Item { id, name: new.name };
    items.push(item.clone());
    (StatusCode::CREATED, Json(item))
}

#[get("/items/{id}")]
async fn get_item(
    State(store): State<Store>,
    Path(id): Path<u32>,
) -> Result<Json<Item>, HttpError> {
    let items = store
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    items
        .iter()
        .find(|item| item.id == id)
        .cloned()
        .map(Json)
        .ok_or_else(|| HttpError::not_found(format!("no item {id}")))
}

#[put("/items/{id}")]
async fn rename_item(State(store): State<Store>, Path(id): Path<u32>, name: String) -> StatusCode {
    let mut items = store
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match items.iter_mut().find(|item| item.id == id) {
        Some(item) => {
            item.name = name;
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

#[patch("/items/{id}")]
fn touch_item(Path(id): Path<u32>) -> String {
    format!("touched {id}")
}

#[delete("/items/{id}")]
async fn delete_item(State(store): State<Store>, Path(id): Path<u32>) -> StatusCode {
    let mut items = store
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let before = items.len();
    items.retain(|item| item.id != id);
    if items.len() < before {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

// ---- the app ---------------------------------------------------------------------------

fn app(feed_sender: tokio::sync::broadcast::Sender<String>) -> App {
    App::new()
        .state(Prices { base: 100.0 })
        .state(Feed(feed_sender))
        .state(Store::default())
        .route(stocks)
        .route(counter)
        .route(complete)
        .route(lookup)
        .route(feed)
        .route(numbers)
        .route(rows)
        .route(slow)
        .route(health)
        .route(create_item)
        .route(get_item)
        .route(rename_item)
        .route(touch_item)
        .route(delete_item)
        // The generated struct is a handler too.
        .get("/healthz", health)
}

async fn collect_events(client: &TestClient, path: &str) -> Vec<sse_runtime::parse::ParsedEvent> {
    client.get(path).send().await.events().collect().await
}

/// Every route, through `client`.
async fn exercise(client: &TestClient, feed_sender: &tokio::sync::broadcast::Sender<String>) {
    // Typed items; path, query and state.
    let response = client.get("/stocks/ACME/stream?n=3").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    let updates: Vec<StockUpdate> = response
        .events()
        .map(|event| event.json().expect("a StockUpdate"))
        .collect()
        .await;
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

    // An extraction failure is a 422 before any stream starts, never an empty stream.
    let missing = client.get("/stocks/ACME/stream").send().await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = missing.json().await;
    assert_eq!(body["detail"][0]["loc"], json!(["query", "n"]));

    // ServerSentEvent items, Last-Event-ID and other headers, `retry` first.
    let response = client
        .get("/counter")
        .header("last-event-id", "4")
        .header("x-tag", "abc")
        .send()
        .await;
    let frames: Vec<_> = response.frames().collect().await;
    assert_eq!(frames[0].retry, Some(3000), "{frames:?}");
    let ticks: Vec<_> = frames.iter().filter(|frame| frame.data.is_some()).collect();
    assert_eq!(ticks.len(), 3);
    assert_eq!(ticks[0].event.as_deref(), Some("tick"));
    assert_eq!(ticks[0].id.as_deref(), Some("5"));
    assert_eq!(ticks[2].data.as_deref(), Some(r#"{"i":7,"tag":"abc"}"#));
    let bad_id = client
        .get("/counter")
        .header("last-event-id", "x")
        .send()
        .await;
    assert_eq!(bad_id.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // POST + JSON body + `Result` items with `?`.
    let ok = client
        .post("/complete")
        .json(&json!({ "words": ["hello", "world"] }))
        .send()
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let tokens: Vec<Token> = ok
        .events()
        .map(|event| event.json().expect("a Token"))
        .collect()
        .await;
    assert_eq!(
        tokens,
        [
            Token {
                text: "hello".into()
            },
            Token {
                text: "world".into()
            }
        ]
    );
    // `Err` before the first event: that status and a JSON body, not a 200 stream.
    let empty = client
        .post("/complete")
        .json(&json!({ "words": [] }))
        .send()
        .await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    assert_eq!(empty.header("content-type"), Some("application/json"));
    assert_eq!(
        empty.json::<Value>().await,
        json!({ "detail": "empty prompt" })
    );
    let overloaded = client
        .post("/complete")
        .json(&json!({ "words": ["a"], "fail_at": 0 }))
        .send()
        .await;
    assert_eq!(overloaded.status(), StatusCode::SERVICE_UNAVAILABLE);
    // `Err` after the first event: one `event: error`, then the stream ends.
    let late = client
        .post("/complete")
        .json(&json!({ "words": ["a", "b", "ü", "c"] }))
        .send()
        .await;
    assert_eq!(late.status(), StatusCode::OK);
    let events: Vec<_> = late.events().collect().await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[1].data, r#"{"text":"b"}"#);
    assert_eq!(events[2].event, "error");
    assert_eq!(
        events[2].json::<Value>().expect("error data"),
        json!({ "status": 422, "detail": "not ASCII: ü" })
    );
    // A body that is not JSON: the extractor's 415 / 422.
    let not_json = client.post("/complete").body("words").send().await;
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let malformed = client
        .post("/complete")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await;
    assert_eq!(malformed.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // `Result` items yielded explicitly.
    let found = collect_events(client, "/lookup/ACME").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].json::<StockUpdate>().expect("update").price, 1.5);
    let unknown = client.get("/lookup/XYZ").send().await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.json::<Value>().await,
        json!({ "detail": "no such symbol: XYZ" })
    );
    let lowercase = client.get("/lookup/acme").send().await;
    assert_eq!(lowercase.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        lowercase.json::<Value>().await,
        json!({ "detail": "symbols are uppercase: acme" })
    );

    // A stream returned without a generator: a broadcast subscription.
    let subscribed = client.get("/feed").send().await;
    assert_eq!(subscribed.status(), StatusCode::OK);
    let mut feed_events = subscribed.events();
    feed_sender.send("one".into()).expect("a subscriber");
    feed_sender.send("two".into()).expect("a subscriber");
    let first = feed_events.next().await.expect("first message");
    let second = feed_events.next().await.expect("second message");
    assert_eq!(
        (first.data.as_str(), second.data.as_str()),
        (r#""one""#, r#""two""#)
    );
    drop(feed_events);

    // JSON Lines: a plain stream and a generator.
    let response = client.get("/numbers?n=3").send().await;
    assert_eq!(
        response.header("content-type"),
        Some("application/x-ndjson")
    );
    assert_eq!(response.text().await, "0\n1\n2\n");
    let response = client
        .post("/rows")
        .json(&json!([{ "name": "a" }, { "name": "b" }]))
        .send()
        .await;
    assert_eq!(
        response.header("content-type"),
        Some("application/x-ndjson")
    );
    assert_eq!(
        response.text().await,
        "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"b\"}\n"
    );

    // A slow first event: the head arrives before it; keep-alive comments fill the gap.
    let started = Instant::now();
    let response = client.get("/slow").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "headers waited for the first event: {:?}",
        started.elapsed()
    );
    let frames: Vec<_> = response.frames().collect().await;
    let last = frames.last().expect("frames");
    assert_eq!(last.data.as_deref(), Some(r#""finally""#));
    assert!(
        frames[0].is_comment_only(),
        "expected a keep-alive before the event: {frames:?}"
    );

    // Plain routes.
    let healthy = client.get("/health").send().await;
    assert_eq!(healthy.status(), StatusCode::OK);
    assert_eq!(
        healthy.json::<Value>().await,
        json!({ "status": "ok", "base": 100.0 })
    );
    assert_eq!(client.get("/healthz").send().await.status(), StatusCode::OK);
    let created = client
        .post("/items")
        .json(&json!({ "name": "pen" }))
        .send()
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let item: Item = created.json().await;
    let path = format!("/items/{}", item.id);
    assert_eq!(
        client.put(&path).body("ink").send().await.status(),
        StatusCode::NO_CONTENT
    );
    let fetched: Item = client.get(&path).send().await.json().await;
    assert_eq!(fetched.name, "ink");
    assert_eq!(
        client.patch(&path).send().await.text().await,
        format!("touched {}", item.id)
    );
    assert_eq!(
        client.delete(&path).send().await.status(),
        StatusCode::NO_CONTENT
    );
    let gone = client.get(&path).send().await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        gone.json::<Value>().await["detail"],
        format!("no item {}", item.id)
    );
    let bad_id = client.get("/items/pen").send().await;
    assert_eq!(bad_id.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        client.post("/health").send().await.status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
}

fn new_feed() -> tokio::sync::broadcast::Sender<String> {
    tokio::sync::broadcast::channel(16).0
}

#[tokio::test]
async fn in_process() {
    let sender = new_feed();
    let client = TestClient::new(app(sender.clone()));
    exercise(&client, &sender).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http1() {
    let sender = new_feed();
    let client = TestClient::spawn(app(sender.clone()), Protocol::Http1).await;
    exercise(&client, &sender).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http2() {
    let sender = new_feed();
    let client = TestClient::spawn(app(sender.clone()), Protocol::Http2).await;
    exercise(&client, &sender).await;
}

#[test]
fn routes_are_registered_with_their_methods_and_paths() {
    let service = app(new_feed()).build().expect("valid routes");
    let routes = service.routes();
    for (method, path) in [
        ("GET", "/stocks/{symbol}/stream"),
        ("GET", "/counter"),
        ("POST", "/complete"),
        ("GET", "/numbers"),
        ("POST", "/rows"),
        ("POST", "/items"),
        ("PUT", "/items/{id}"),
        ("PATCH", "/items/{id}"),
        ("DELETE", "/items/{id}"),
    ] {
        assert!(
            routes.iter().any(|(m, p)| m == method && p == path),
            "{method} {path} missing from {routes:?}"
        );
    }
}

/// `f::call(...)` runs the function itself: the stream's items, or the plain result.
#[tokio::test]
async fn functions_can_be_called_directly() {
    let updates: Vec<StockUpdate> = stocks::call(
        Path("XYZ".into()),
        Query(Limit { n: 2 }),
        State(Prices { base: 1.0 }),
    )
    .await
    .collect()
    .await;
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[1].price, 2.0);

    let results: Vec<Result<Token, HttpError>> = complete::call(Json(Prompt {
        words: vec![],
        fail_at: None,
    }))
    .await
    .collect()
    .await;
    assert_eq!(results, [Err(HttpError::bad_request("empty prompt"))]);

    let counted: Vec<u32> = numbers::call(Query(Limit { n: 4 })).collect().await;
    assert_eq!(counted, [0, 1, 2, 3]);
    assert_eq!(touch_item::call(Path(9)), "touched 9");
    let Json(value) = health::call(State(Prices { base: 2.0 })).await;
    assert_eq!(value["base"], 2.0);
}

/// Routes named like the locals of generated code. A unit struct is in scope wherever its
/// route is, and a `let` or a parameter cannot shadow a unit struct: generated names must
/// never be plain words such as these.
mod awkward_names {
    use super::{get, stream, Limit, Path, Prices, Query, State, Stream};

    #[get("/awkward/stream", sse, keep_alive = "1s")]
    pub async fn stream(
        State(prices): State<Prices>,
        Query(limit): Query<Limit>,
    ) -> impl Stream<Item = f64> {
        stream! {
            for i in 0..limit.n {
                yield prices.base + f64::from(i);
            }
        }
    }

    #[get("/awkward/state/{id}")]
    pub async fn state(State(prices): State<Prices>, Path(id): Path<u32>) -> String {
        format!("{id}:{}", prices.base)
    }

    #[get("/awkward/req/{a}/{b}")]
    pub fn req(Path((a, b)): Path<(u32, u32)>, Query(limit): Query<Limit>) -> String {
        format!("{}", a + b + limit.n)
    }

    #[get("/awkward/parts")]
    pub fn parts() -> &'static str {
        "parts"
    }

    #[get("/awkward/body")]
    pub fn body() -> &'static str {
        "body"
    }

    #[get("/awkward/result")]
    pub fn result() -> &'static str {
        "result"
    }

    #[get("/awkward/f")]
    pub fn f() -> &'static str {
        "f"
    }

    #[get("/awkward/formatter")]
    pub fn formatter() -> &'static str {
        "formatter"
    }

    #[get("/awkward/arg0/{x}")]
    pub fn arg0(Path(x): Path<u32>) -> String {
        x.to_string()
    }

    #[get("/awkward/raw", sse)]
    pub fn r#type() -> impl Stream<Item = &'static str> {
        stream! {
            yield "raw";
        }
    }
}

#[tokio::test]
async fn route_names_never_clash_with_generated_code() {
    use awkward_names::*;
    let client = TestClient::new(
        App::new()
            .state(Prices { base: 1.0 })
            .route(stream)
            .route(state)
            .route(req)
            .route(parts)
            .route(body)
            .route(result)
            .route(f)
            .route(formatter)
            .route(arg0)
            .route(r#type),
    );
    assert_eq!(
        client.get("/awkward/stream?n=2").send().await.text().await,
        "data: 1.0\n\ndata: 2.0\n\n"
    );
    assert_eq!(
        client.get("/awkward/state/7").send().await.text().await,
        "7:1"
    );
    assert_eq!(
        client.get("/awkward/req/1/2?n=3").send().await.text().await,
        "6"
    );
    for name in ["parts", "body", "result", "f", "formatter"] {
        let path = format!("/awkward/{name}");
        assert_eq!(client.get(&path).send().await.text().await, name);
    }
    assert_eq!(client.get("/awkward/arg0/5").send().await.text().await, "5");
    assert_eq!(
        client.get("/awkward/raw").send().await.text().await,
        "data: \"raw\"\n\n"
    );
    assert_eq!(format!("{:?}", r#type), "type");
    assert_eq!(format!("{stream:?}"), "stream");
}
