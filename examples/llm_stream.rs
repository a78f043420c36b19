//! An OpenAI-compatible streaming chat completion: `POST /v1/chat/completions` with
//! `{"model": ..., "messages": [...], "stream": true}` answers with the
//! `chat.completion.chunk`s an OpenAI client reads, then the raw line `data: [DONE]`:
//!
//! ```text
//! data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1735689600,"model":"echo-1","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}
//!
//! data: {"id":"chatcmpl-1",...,"choices":[{"index":0,"delta":{"content":"You"},"finish_reason":null}]}
//!
//! ...
//!
//! data: {"id":"chatcmpl-1",...,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}
//!
//! data: [DONE]
//! ```
//!
//! The route's items are `Event<ChatCompletionChunk>`: every chunk is checked by the
//! compiler and documented in the OpenAPI document, and the `[DONE]` terminator, which is
//! not JSON, is `Event::raw("[DONE]")` in the same typed stream. The "model" echoes the
//! last user message a word at a time; a real one would stream its tokens the same way.
//!
//! ```text
//! cargo run --example llm_stream
//! curl -N http://127.0.0.1:8000/v1/chat/completions -H 'content-type: application/json' \
//!      -d '{"model": "echo-1", "messages": [{"role": "user", "content": "Hello there"}], "stream": true}'
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sse_runtime::schemars::JsonSchema;
use sse_runtime::{App, Event, HttpError, Json, Stream};

/// The pause between two chunks, so the stream is visibly a stream.
pub const PAUSE: Duration = Duration::from_millis(100);

/// The terminator OpenAI's API sends after the last chunk (as `data: [DONE]`).
pub const DONE: &str = "[DONE]";

/// The request body (the subset of OpenAI's that this example reads).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct ChatCompletionRequest {
    /// The model to answer with (echoed in every chunk).
    pub model: String,
    /// The conversation so far.
    pub messages: Vec<PromptMessage>,
    /// Must be `true`: this endpoint only streams.
    #[serde(default)]
    pub stream: bool,
}

/// One message of the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct PromptMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// One `chat.completion.chunk`, as OpenAI's API streams it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct ChatCompletionChunk {
    /// The completion's id, the same in every chunk.
    pub id: String,
    /// Always `chat.completion.chunk`.
    pub object: String,
    /// When the completion started, in seconds since the Unix epoch.
    pub created: u64,
    /// The model that answers.
    pub model: String,
    /// One choice (this example never samples more).
    pub choices: Vec<ChunkChoice>,
}

/// A choice's increment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct ChunkChoice {
    /// The choice's index.
    pub index: u32,
    /// What this chunk adds to the message.
    pub delta: Delta,
    /// `null` until the last chunk, then why the answer ended (`stop`).
    pub finish_reason: Option<String>,
}

/// What a chunk adds: the role (first chunk), a piece of content, or nothing (last chunk).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct Delta {
    /// The author's role, in the first chunk only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// A piece of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// The echo model's answer to `messages`: the last user message, repeated.
pub fn answer(messages: &[PromptMessage]) -> String {
    let last = messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map_or("nothing", |m| m.content.as_str());
    format!("You said: {last}")
}

/// The pieces the answer is streamed in: its words, each but the first with its space.
pub fn pieces(answer: &str) -> Vec<String> {
    answer
        .split(' ')
        .enumerate()
        .map(|(i, word)| {
            if i == 0 {
                word.to_owned()
            } else {
                format!(" {word}")
            }
        })
        .collect()
}

sse_runtime::routes! {
    /// `POST /v1/chat/completions`: the answer as `chat.completion.chunk` events, [`PAUSE`]
    /// apart, then `data: [DONE]`.
    ///
    /// A request without `"stream": true` or without messages is refused before the stream
    /// starts: `400` with `{"detail": "..."}`.
    #[post("/v1/chat/completions", sse)]
    pub async fn chat_completions(
        Json(request): Json<ChatCompletionRequest>,
    ) -> impl Stream<Item = Result<Event<ChatCompletionChunk>, HttpError>> {
        if !request.stream {
            Err(HttpError::bad_request("only `\"stream\": true` is supported"))?;
        }
        if request.messages.is_empty() {
            Err(HttpError::bad_request("`messages` must not be empty"))?;
        }
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let chunk = |delta: Delta, finish_reason: Option<&str>| ChatCompletionChunk {
            id: format!("chatcmpl-{created}"),
            object: "chat.completion.chunk".to_owned(),
            created,
            model: request.model.clone(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish_reason.map(str::to_owned),
            }],
        };
        yield Event::new(chunk(Delta { role: Some("assistant".to_owned()), content: None }, None));
        for piece in pieces(&answer(&request.messages)) {
            tokio::time::sleep(PAUSE).await;
            yield Event::new(chunk(Delta { role: None, content: Some(piece) }, None));
        }
        yield Event::new(chunk(Delta::default(), Some("stop")));
        yield Event::raw(DONE);
    }
}

/// The app: `POST /v1/chat/completions`.
pub fn app() -> App {
    App::new().route(chat_completions)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    app().serve_with_listener(listener).await?; // until Ctrl-C or SIGTERM
    Ok(())
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use serde_json::{json, Value};
    use sse_runtime::testing::TestClient;
    use sse_runtime::StatusCode;
    use tokio::time::Instant;

    use super::{app, ChatCompletionChunk, DONE, PAUSE};

    fn request(stream: bool) -> Value {
        json!({
            "model": "echo-1",
            "messages": [
                { "role": "system", "content": "Be brief." },
                { "role": "user", "content": "Hello there" }
            ],
            "stream": stream
        })
    }

    /// What an OpenAI client does: parse each `data:` as a chunk until `[DONE]`, and
    /// concatenate the content deltas.
    #[tokio::test(start_paused = true)]
    async fn chunks_then_done_as_an_openai_client_reads_them() {
        let start = Instant::now();
        let response = TestClient::new(app())
            .post("/v1/chat/completions")
            .json(&request(true))
            .send()
            .await;
        response.assert_event_stream();
        let mut events = response.events();
        let mut chunks = Vec::new();
        let mut done = false;
        while let Some(event) = events.next().await {
            assert_eq!(event.event, "message");
            if event.data == DONE {
                done = true;
                continue;
            }
            assert!(!done, "nothing after [DONE]");
            let chunk: ChatCompletionChunk = event.json().expect("a chat.completion.chunk");
            chunks.push(chunk);
        }
        assert!(done, "the stream ends with data: [DONE]");
        assert_eq!(start.elapsed(), PAUSE * 4, "one pause per word");

        assert_eq!(chunks.len(), 6, "role, four words, stop");
        assert!(chunks.iter().all(|c| c.object == "chat.completion.chunk"
            && c.model == "echo-1"
            && c.id == chunks[0].id
            && c.choices.len() == 1));
        assert_eq!(
            chunks[0].choices[0].delta.role.as_deref(),
            Some("assistant")
        );
        let text: String = chunks
            .iter()
            .filter_map(|c| c.choices[0].delta.content.as_deref())
            .collect();
        assert_eq!(text, "You said: Hello there");
        let reasons: Vec<Option<&str>> = chunks
            .iter()
            .map(|c| c.choices[0].finish_reason.as_deref())
            .collect();
        assert_eq!(reasons, [None, None, None, None, None, Some("stop")]);
    }

    #[tokio::test(start_paused = true)]
    async fn wire_format_is_openais() {
        let text = TestClient::new(app())
            .post("/v1/chat/completions")
            .json(&request(true))
            .send()
            .await
            .text()
            .await;
        let frames: Vec<&str> = text.split_terminator("\n\n").collect();
        assert_eq!(frames.len(), 7);
        assert_eq!(frames[6], "data: [DONE]");
        let first = frames[0].strip_prefix("data: ").expect("a data line");
        let first: Value = serde_json::from_str(first).expect("JSON");
        assert_eq!(
            first["choices"],
            json!([{ "index": 0, "delta": { "role": "assistant" }, "finish_reason": null }])
        );
        let last: Value = serde_json::from_str(&frames[5]["data: ".len()..]).expect("JSON");
        assert_eq!(
            last["choices"],
            json!([{ "index": 0, "delta": {}, "finish_reason": "stop" }])
        );
    }

    #[tokio::test]
    async fn a_non_streaming_or_empty_request_is_400() {
        let client = TestClient::new(app());
        let response = client
            .post("/v1/chat/completions")
            .json(&request(false))
            .send()
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await;
        assert_eq!(
            body,
            json!({ "detail": "only `\"stream\": true` is supported" })
        );

        let response = client
            .post("/v1/chat/completions")
            .json(&json!({ "model": "m", "messages": [], "stream": true }))
            .send()
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn a_bad_body_is_422() {
        let response = TestClient::new(app())
            .post("/v1/chat/completions")
            .json(&json!({ "messages": "nope" }))
            .send()
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
