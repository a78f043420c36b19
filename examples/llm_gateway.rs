//! An OpenAI-compatible gateway: `POST /v1/chat/completions` relays the stream of an
//! upstream model API (anything that speaks OpenAI's streaming chat completions: OpenAI,
//! vLLM, Ollama, llama.cpp's server, another gateway) to its own clients.
//!
//! - **Auth on both sides**: clients present the gateway's key (`Authorization: Bearer`),
//!   the gateway presents the upstream's.
//! - **Model aliases**: clients ask for a public model name, the upstream gets its own;
//!   every chunk is transformed on the way back (the public model name, the gateway's id
//!   prefix), re-emitted as it arrives, and the stream ends with `data: [DONE]`.
//! - **Errors in OpenAI's shape** (`App::error_body(error_body::OpenAi)`):
//!   `{"error": {"message", "type", "param", "code"}}` for the gateway's own refusals
//!   (401, 400, 404, 422), for the upstream's failures before the first chunk as a real
//!   status (401 from the upstream → 502, 429 → 429, 503 → 503, ...: the mapping of
//!   `sse_runtime::relay`; a `400` is the client's request, so it passes through), and as
//!   an `event: error` after it (an upstream `error` in the stream, a broken connection).
//! - **Cancellation**: a client that leaves — also while the upstream is still thinking
//!   before its first token — drops the route's stream, which drops the upstream request
//!   and closes its connection (about 1 ms, docs/guide.md "Consuming and relaying
//!   streams").
//!
//! ```text
//! cargo run --example llm_gateway     # with its own fake upstream (an echo model), no network
//! UPSTREAM_URL=http://127.0.0.1:11434/v1/chat/completions UPSTREAM_MODEL=llama3.2 \
//!     cargo run --example llm_gateway # in front of a local Ollama
//! curl -N http://127.0.0.1:8000/v1/chat/completions -H 'authorization: Bearer gateway-key' \
//!      -H 'content-type: application/json' \
//!      -d '{"model": "gateway-1", "messages": [{"role": "user", "content": "Hello there"}], "stream": true}'
//! ```
//!
//! The tests run the fake upstream (`fake_upstream`, an app of its own) on a real socket
//! in the same process, and call the gateway both in process and over TCP.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sse_runtime::client::{Client, ClientError, ParsedEvent};
use sse_runtime::{error_body, App, Event, HeaderMap, HttpError, Json, State, StatusCode, Stream};

/// The terminator of an OpenAI stream, after the last chunk (`data: [DONE]`).
pub const DONE: &str = "[DONE]";

/// The request body: what the gateway reads, and every other field kept as it is for
/// the upstream (`temperature`, `max_tokens`, `tools`, ...).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChatCompletionRequest {
    /// The model: the gateway's public name, replaced by the upstream's.
    pub model: String,
    /// The conversation.
    pub messages: Vec<Value>,
    /// Must be `true`: the gateway only streams.
    #[serde(default)]
    pub stream: bool,
    /// Every other field, forwarded.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// One `chat.completion.chunk`: the fields the gateway rewrites, and every other one
/// (`choices`, `usage`, `system_fingerprint`, ...) as the upstream sent it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionChunk {
    /// The completion's id.
    pub id: String,
    /// The model that answers.
    pub model: String,
    /// The rest of the chunk.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// The gateway's configuration, shared by its routes.
#[derive(Clone, Debug)]
pub struct Gateway {
    /// The client of the upstream: one connection pool for every request.
    pub client: Client,
    /// The upstream's `/v1/chat/completions` URL.
    pub url: String,
    /// The key the gateway presents upstream.
    pub upstream_key: String,
    /// The key clients present to the gateway.
    pub key: String,
    /// Public model name → the upstream's.
    pub models: Vec<(String, String)>,
}

impl Gateway {
    /// Checks the client's `Authorization: Bearer <key>`.
    fn authorize(&self, headers: &HeaderMap) -> Result<(), HttpError> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match token {
            Some(token) if token == self.key => Ok(()),
            _ => Err(HttpError::with_detail(
                StatusCode::UNAUTHORIZED,
                json!({ "message": "Incorrect API key provided", "code": "invalid_api_key" }),
            )),
        }
    }

    /// The upstream's name of a public model.
    fn upstream_model(&self, model: &str) -> Result<&str, HttpError> {
        self.models
            .iter()
            .find(|(public, _)| public == model)
            .map(|(_, upstream)| upstream.as_str())
            .ok_or_else(|| {
                HttpError::with_detail(
                    StatusCode::NOT_FOUND,
                    json!({
                        "message": format!("The model `{model}` does not exist"),
                        "param": "model",
                        "code": "model_not_found",
                    }),
                )
            })
    }
}

/// An upstream failure as the gateway's answer: the client's own request refused (`400`,
/// `422`: a prompt too long, a bad parameter) passes through with the upstream's OpenAI
/// error; anything else is the relay mapping (`502`, `503`, `504`, `429`).
fn upstream_error(err: ClientError) -> HttpError {
    if let Some(response) = err.response() {
        if matches!(response.status.as_u16(), 400 | 422) {
            if let Ok(body) = response.json::<Value>() {
                if let Some(error) = body.get("error").filter(|e| e.is_object()) {
                    return HttpError::with_detail(StatusCode::BAD_REQUEST, error.clone());
                }
            }
        }
    }
    HttpError::from(err)
}

/// One upstream event as a chunk of the gateway: an `error` (OpenAI sends
/// `data: {"error": {...}}`, some servers `event: error`) ends the stream with a `502`
/// carrying the upstream's message; a chunk gets the public model name and the gateway's id.
fn transform(event: &ParsedEvent, public_model: &str) -> Result<ChatCompletionChunk, HttpError> {
    let bad_gateway = |message: String, code: &str| {
        HttpError::with_detail(
            StatusCode::BAD_GATEWAY,
            json!({ "message": message, "code": code }),
        )
    };
    let data: Value = event.json().map_err(|err| {
        bad_gateway(
            format!("the upstream sent a chunk that is not JSON: {err}"),
            "upstream_bad_event",
        )
    })?;
    if let Some(error) = data.get("error") {
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the upstream failed");
        return Err(bad_gateway(message.to_owned(), "upstream_error"));
    }
    let mut chunk: ChatCompletionChunk = serde_json::from_value(data).map_err(|err| {
        bad_gateway(
            format!("the upstream sent a bad chunk: {err}"),
            "upstream_bad_event",
        )
    })?;
    chunk.model = public_model.to_owned();
    chunk.id = format!("gw-{}", chunk.id);
    Ok(chunk)
}

sse_runtime::routes! {
    /// `POST /v1/chat/completions`: the upstream's chunks, transformed, then
    /// `data: [DONE]`. Refused before the stream starts: `401` (no or a wrong key),
    /// `400` (not `"stream": true`), `404` (an unknown model), `422` (a body that does not
    /// parse), and the upstream's own refusal.
    #[post("/v1/chat/completions", sse)]
    pub async fn chat_completions(
        State(gateway): State<Gateway>,
        headers: HeaderMap,
        Json(request): Json<ChatCompletionRequest>,
    ) -> impl Stream<Item = Result<Event<ChatCompletionChunk>, HttpError>> {
        gateway.authorize(&headers)?;
        if !request.stream {
            Err(HttpError::with_detail(
                StatusCode::BAD_REQUEST,
                json!({ "message": "only `\"stream\": true` is supported", "param": "stream" }),
            ))?;
        }
        let public_model = request.model.clone();
        let upstream_request = ChatCompletionRequest {
            model: gateway.upstream_model(&public_model)?.to_owned(),
            ..request
        };
        // A POST is never re-sent: the upstream's end (or failure) is the stream's.
        let mut upstream = gateway
            .client
            .post(&gateway.url)
            .bearer_auth(&gateway.upstream_key)
            .json(&upstream_request)
            .send();
        let mut done = false;
        while let Some(event) = upstream.next().await {
            let event = event.map_err(upstream_error)?;
            if event.data == DONE {
                done = true;
                break;
            }
            if event.event == "error" {
                Err(transform(&event, &public_model).err().unwrap_or_else(|| {
                    HttpError::new(StatusCode::BAD_GATEWAY, "the upstream failed")
                }))?;
            }
            yield Event::new(transform(&event, &public_model)?);
        }
        if !done {
            Err(HttpError::with_detail(
                StatusCode::BAD_GATEWAY,
                json!({ "message": "the upstream ended before [DONE]", "code": "upstream_incomplete" }),
            ))?;
        }
        yield Event::raw(DONE);
    }
}

/// The gateway app: errors in OpenAI's shape.
pub fn app(gateway: Gateway) -> App {
    App::new()
        .error_body(error_body::OpenAi)
        .state(gateway)
        .route(chat_completions)
}

// ---------------------------------------------------------------------------------------
// The fake upstream: an OpenAI-like API whose echo model repeats the last message a word
// at a time. `cargo run` serves it when no `UPSTREAM_URL` is given; the tests run it.

/// The fake upstream's key.
pub const UPSTREAM_KEY: &str = "upstream-key";

/// What the fake upstream tells its test: a request arrived, its stream was dropped
/// (its client left, or it ended).
#[derive(Clone, Debug)]
pub struct Signals(pub tokio::sync::mpsc::UnboundedSender<&'static str>);

/// Sends `dropped` when the fake upstream's stream goes away, however it ends.
struct DropSignal(Signals);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0 .0.send("dropped");
    }
}

/// The echo answer's pieces: each word, all but the first with its space.
fn pieces(messages: &[Value]) -> Vec<String> {
    let last = messages
        .iter()
        .rev()
        .find_map(|m| m.get("content").and_then(Value::as_str))
        .unwrap_or("nothing");
    format!("You said: {last}")
        .split(' ')
        .enumerate()
        .map(|(i, w)| {
            if i == 0 {
                w.to_owned()
            } else {
                format!(" {w}")
            }
        })
        .collect()
}

sse_runtime::routes! {
    /// The fake upstream's `POST /v1/chat/completions`. Models: `echo-1` streams its
    /// answer, `slow-1` thinks forever before its first chunk, `fails-1` sends one chunk
    /// then an `error`, `long-1` refuses with `400 context_length_exceeded`.
    #[post("/v1/chat/completions", sse)]
    pub async fn fake_completions(
        State(signals): State<Signals>,
        headers: HeaderMap,
        Json(request): Json<ChatCompletionRequest>,
    ) -> impl Stream<Item = Result<Event<Value>, HttpError>> {
        let _dropped = DropSignal(signals.clone());
        let _ = signals.0.send("request");
        if headers.get("authorization").and_then(|v| v.to_str().ok())
            != Some(&format!("Bearer {UPSTREAM_KEY}"))
        {
            Err(HttpError::with_detail(StatusCode::UNAUTHORIZED, json!({
                "message": "Incorrect API key provided: gat***key", "code": "invalid_api_key",
            })))?;
        }
        let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let chunk = |delta: Value, finish: Option<&str>| json!({
            "id": format!("chatcmpl-{created}"),
            "object": "chat.completion.chunk",
            "created": created,
            "model": request.model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        });
        match request.model.as_str() {
            "long-1" => Err(HttpError::with_detail(StatusCode::BAD_REQUEST, json!({
                "message": "This model's maximum context length is 8 tokens",
                "param": "messages",
                "code": "context_length_exceeded",
            })))?,
            "slow-1" => std::future::pending::<()>().await,
            "fails-1" => {
                yield Event::new(chunk(json!({ "role": "assistant" }), None));
                Err(HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "The server had an error while processing your request"))?;
            }
            _ => {}
        }
        yield Event::new(chunk(json!({ "role": "assistant" }), None));
        for piece in pieces(&request.messages) {
            tokio::time::sleep(Duration::from_millis(10)).await;
            yield Event::new(chunk(json!({ "content": piece }), None));
        }
        yield Event::new(chunk(json!({}), Some("stop")));
        yield Event::raw(DONE);
    }
}

/// The fake upstream, in OpenAI's error shape too (as OpenAI's API streams an error:
/// `event: error`, `data: {"error": {...}}`).
pub fn fake_upstream(signals: Signals) -> App {
    App::new()
        .error_body(error_body::OpenAi)
        .state(signals)
        .route(fake_completions)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let (url, upstream_key, upstream_model) = match std::env::var("UPSTREAM_URL") {
        Ok(url) => (
            url,
            std::env::var("UPSTREAM_KEY").unwrap_or_default(),
            std::env::var("UPSTREAM_MODEL").unwrap_or_else(|_| "gpt-4o-mini".to_owned()),
        ),
        Err(_) => {
            // No upstream given: the fake one, on a port of its own.
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let url = format!("http://{}/v1/chat/completions", listener.local_addr()?);
            let (signals, _) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(fake_upstream(Signals(signals)).serve_with_listener(listener));
            (url, UPSTREAM_KEY.to_owned(), "echo-1".to_owned())
        }
    };
    tracing::info!(upstream = %url, "relaying");
    let gateway = Gateway {
        client: Client::new(),
        url,
        upstream_key,
        key: std::env::var("GATEWAY_KEY").unwrap_or_else(|_| "gateway-key".to_owned()),
        models: vec![("gateway-1".to_owned(), upstream_model)],
    };
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    app(gateway).serve_with_listener(listener).await?; // until Ctrl-C or SIGTERM
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;
    use serde_json::{json, Value};
    use sse_runtime::client::Client;
    use sse_runtime::testing::{Protocol, TestClient, TestResponse};
    use sse_runtime::StatusCode;
    use tokio::sync::mpsc;

    use super::{app, fake_upstream, ChatCompletionChunk, Gateway, Signals, DONE, UPSTREAM_KEY};

    /// The fake upstream on a real socket, and what it signals.
    struct Upstream {
        _server: TestClient,
        url: String,
        signals: mpsc::UnboundedReceiver<&'static str>,
    }

    impl Upstream {
        async fn start() -> Self {
            let (tx, signals) = mpsc::unbounded_channel();
            let server = TestClient::spawn(fake_upstream(Signals(tx)), Protocol::Http1).await;
            let url = format!(
                "http://{}/v1/chat/completions",
                server.addr().expect("spawned")
            );
            Self {
                _server: server,
                url,
                signals,
            }
        }

        /// The next signal, within 5 s.
        async fn signal(&mut self) -> &'static str {
            tokio::time::timeout(Duration::from_secs(5), self.signals.recv())
                .await
                .expect("a signal from the upstream within 5 s")
                .expect("the upstream runs")
        }

        fn gateway(&self, upstream_key: &str) -> Gateway {
            Gateway {
                client: Client::new(),
                url: self.url.clone(),
                upstream_key: upstream_key.to_owned(),
                key: "gateway-key".to_owned(),
                models: ["echo-1", "slow-1", "fails-1", "long-1"]
                    .iter()
                    .map(|m| (format!("public-{m}"), (*m).to_owned()))
                    .collect(),
            }
        }
    }

    fn body(model: &str) -> Value {
        json!({
            "model": model,
            "messages": [{ "role": "user", "content": "Hello there" }],
            "stream": true,
            "temperature": 0.2,
        })
    }

    async fn post(client: &TestClient, model: &str) -> TestResponse {
        client
            .post("/v1/chat/completions")
            .header("authorization", "Bearer gateway-key")
            .json(&body(model))
            .send()
            .await
    }

    /// The gateway in process and over TCP (HTTP/1.1 and h2c), the upstream over TCP.
    async fn gateways(upstream: &Upstream) -> Vec<(&'static str, TestClient)> {
        let gateway = || app(upstream.gateway(UPSTREAM_KEY));
        vec![
            ("in process", TestClient::new(gateway())),
            (
                "HTTP/1.1",
                TestClient::spawn(gateway(), Protocol::Http1).await,
            ),
            ("h2c", TestClient::spawn(gateway(), Protocol::Http2).await),
        ]
    }

    /// The chunks in order, transformed (public model name, gateway id), the upstream's
    /// other fields kept, then `data: [DONE]`.
    #[tokio::test]
    async fn chunks_are_relayed_in_order_transformed_and_end_with_done() {
        let upstream = Upstream::start().await;
        for (how, client) in gateways(&upstream).await {
            let response = post(&client, "public-echo-1").await;
            response.assert_event_stream();
            let events: Vec<_> = response.events().collect().await;
            let (last, chunks) = events.split_last().expect("events");
            assert_eq!(last.data, DONE, "{how}");
            let chunks: Vec<ChatCompletionChunk> =
                chunks.iter().map(|e| e.json().expect("a chunk")).collect();
            assert_eq!(chunks.len(), 6, "{how}: role, four words, stop");
            assert!(chunks
                .iter()
                .all(|c| c.model == "public-echo-1" && c.id.starts_with("gw-chatcmpl-")));
            assert_eq!(chunks[0].rest["object"], "chat.completion.chunk");
            let text: String = chunks
                .iter()
                .filter_map(|c| c.rest["choices"][0]["delta"]["content"].as_str())
                .collect();
            assert_eq!(text, "You said: Hello there", "{how}");
            assert_eq!(chunks[5].rest["choices"][0]["finish_reason"], "stop");
        }
    }

    /// A client that leaves while the upstream still thinks (before its first chunk),
    /// or mid-stream, cancels the upstream request: the upstream's stream is dropped.
    #[tokio::test]
    async fn a_client_that_leaves_cancels_the_upstream_request() {
        let mut upstream = Upstream::start().await;
        for protocol in [Protocol::Http1, Protocol::Http2] {
            let gateway = TestClient::spawn(app(upstream.gateway(UPSTREAM_KEY)), protocol).await;
            for model in ["public-slow-1", "public-echo-1"] {
                let client = gateway.clone();
                let (tx, mut first) = mpsc::unbounded_channel();
                let request = tokio::spawn(async move {
                    let response = post(&client, model).await;
                    let mut events = response.events();
                    while let Some(event) = events.next().await {
                        let _ = tx.send(event.data);
                    }
                    std::future::pending::<()>().await;
                });
                assert_eq!(upstream.signal().await, "request");
                if model == "public-echo-1" {
                    first.recv().await.expect("a first chunk");
                }
                request.abort();
                // Mid-stream, the echo model may end by itself first: it drops either way.
                assert_eq!(upstream.signal().await, "dropped", "{protocol:?} {model}");
            }
        }
    }

    /// Upstream failures before the first chunk are real statuses with OpenAI's error
    /// body: a refused upstream key is the gateway's problem (502), a refused prompt the
    /// client's (400, the upstream's message passed through).
    #[tokio::test]
    async fn an_upstream_error_before_the_first_chunk_is_a_status_in_openais_shape() {
        let upstream = Upstream::start().await;
        let wrong_key = TestClient::new(app(upstream.gateway("wrong-key")));
        let response = post(&wrong_key, "public-echo-1").await;
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        let body: Value = response.json().await;
        assert_eq!(
            body,
            json!({ "error": {
                "message": "the upstream answered 401 Unauthorized",
                "type": "server_error",
                "param": null,
                "code": "upstream_unauthorized",
            } })
        );
        assert!(
            !body.to_string().contains("gat***key"),
            "the upstream's body stays out"
        );

        for (how, client) in gateways(&upstream).await {
            let response = post(&client, "public-long-1").await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{how}");
            let body: Value = response.json().await;
            assert_eq!(body["error"]["code"], "context_length_exceeded", "{how}");
            assert_eq!(
                body["error"]["message"],
                "This model's maximum context length is 8 tokens"
            );
            assert_eq!(body["error"]["type"], "invalid_request_error");
        }
    }

    /// An upstream error after the first chunk: the chunks so far, then one
    /// `event: error` in OpenAI's shape (what OpenAI's SDKs raise as an `APIError`).
    #[tokio::test]
    async fn an_upstream_error_after_the_first_chunk_is_an_error_event() {
        let upstream = Upstream::start().await;
        for (how, client) in gateways(&upstream).await {
            let response = post(&client, "public-fails-1").await;
            assert_eq!(response.status(), StatusCode::OK, "{how}");
            let events: Vec<_> = response.events().collect().await;
            assert_eq!(events.len(), 2, "{how}: {events:?}");
            let chunk: ChatCompletionChunk = events[0].json().expect("a chunk");
            assert_eq!(chunk.model, "public-fails-1");
            assert_eq!(events[1].event, "error");
            assert_eq!(
                events[1].json::<Value>().expect("JSON"),
                json!({ "error": {
                    "message": "The server had an error while processing your request",
                    "type": "server_error",
                    "param": null,
                    "code": "upstream_error",
                } }),
                "{how}"
            );
        }
    }

    /// The gateway's own refusals, in OpenAI's shape.
    #[tokio::test]
    async fn the_gateways_own_refusals_are_openai_errors() {
        let upstream = Upstream::start().await;
        let client = TestClient::new(app(upstream.gateway(UPSTREAM_KEY)));
        let response = client
            .post("/v1/chat/completions")
            .json(&body("public-echo-1"))
            .send()
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body_401: Value = response.json().await;
        assert_eq!(body_401["error"]["code"], "invalid_api_key");

        let response = post(&client, "gpt-nope").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let error: Value = response.json().await;
        assert_eq!(error["error"]["code"], "model_not_found");
        assert_eq!(error["error"]["param"], "model");

        let response = client
            .post("/v1/chat/completions")
            .header("authorization", "Bearer gateway-key")
            .json(&json!({ "model": "public-echo-1", "messages": [] }))
            .send()
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);

        let response = client
            .post("/v1/chat/completions")
            .header("authorization", "Bearer gateway-key")
            .json(&json!({ "messages": "nope" }))
            .send()
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: Value = response.json().await;
        assert_eq!(error["error"]["type"], "invalid_request_error");
    }
}
