//! AI chat: `POST /chat/stream?query=...` streams a model's reply as `event: ai_response`
//! events, one per piece of text, as the model produces them.
//!
//! The route only talks to a [`ChatModel`]: a reply is a stream of text pieces. The app
//! uses [`ScriptedModel`], a stand-in that answers with four canned pieces 0.5 s apart; a
//! real LLM client implements the same trait (one streaming request, one piece per token
//! or delta) and replaces it in [`app_with`] without touching the route.
//!
//! ```text
//! cargo run --example chat
//! curl -N -X POST 'http://127.0.0.1:8000/chat/stream?query=Rust'
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sse_runtime::schemars::JsonSchema;
use sse_runtime::{stream, App, Event, HttpError, Query, State, StatusCode, Stream};

/// A reply: text pieces in order, or an error that ends it.
pub type Reply = BoxStream<'static, Result<String, ModelError>>;

/// What the chat route needs from a language model.
pub trait ChatModel: Send + Sync + 'static {
    /// Starts answering `query`; the stream yields the reply piece by piece.
    fn reply(&self, query: &str) -> Reply;
}

/// A model failure (network error, rate limit, refusal, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelError(pub String);

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the model failed: {}", self.0)
    }
}

impl std::error::Error for ModelError {}

/// The model the app uses, shared by every request (registered as app state).
#[derive(Clone)]
pub struct Model(Arc<dyn ChatModel>);

impl Model {
    /// Wraps a model for [`app_with`].
    pub fn new(model: impl ChatModel) -> Self {
        Self(Arc::new(model))
    }
}

/// The stand-in model: thinks aloud, then answers about the query.
#[derive(Clone, Debug)]
pub struct ScriptedModel {
    /// The pause between two pieces (0.5 s by default).
    pub pause: Duration,
}

impl Default for ScriptedModel {
    fn default() -> Self {
        Self {
            pause: Duration::from_millis(500),
        }
    }
}

impl ScriptedModel {
    /// The pieces of the reply to `query`, in order; the last one mentions the query.
    pub fn pieces(query: &str) -> [String; 4] {
        [
            "Thinking...".to_owned(),
            "Analyzing your question".to_owned(),
            "Based on my knowledge base".to_owned(),
            format!("The answer about {query} is..."),
        ]
    }
}

impl ChatModel for ScriptedModel {
    fn reply(&self, query: &str) -> Reply {
        let pieces = Self::pieces(query);
        let pause = self.pause;
        Box::pin(stream! {
            for (i, piece) in pieces.into_iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(pause).await;
                }
                yield Ok(piece);
            }
        })
    }
}

/// One piece of a reply, sent as a JSON string: `data: "Thinking..."`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct ReplyPiece(pub String);

/// The query string of `POST /chat/stream`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct ChatQuery {
    /// The user's question.
    pub query: String,
}

sse_runtime::routes! {
    /// `POST /chat/stream?query=...`: one `ai_response` event per piece of the reply, each a
    /// JSON string (`data: "Thinking..."`).
    ///
    /// A model error before the first piece answers `502 Bad Gateway` with
    /// `{"detail": "..."}`; after it, the stream ends with one `event: error`.
    #[post("/chat/stream", sse)]
    pub async fn chat_stream(
        State(model): State<Model>,
        Query(ChatQuery { query }): Query<ChatQuery>,
    ) -> impl Stream<Item = Result<Event<ReplyPiece>, HttpError>> {
        let mut reply = model.0.reply(&query);
        while let Some(piece) = reply.next().await {
            let piece =
                piece.map_err(|err| HttpError::new(StatusCode::BAD_GATEWAY, err.to_string()))?;
            yield Event::new(ReplyPiece(piece)).event("ai_response");
        }
    }
}

/// The app, answering with the [`ScriptedModel`].
pub fn app() -> App {
    app_with(Model::new(ScriptedModel::default()))
}

/// The app, answering with `model`.
pub fn app_with(model: Model) -> App {
    App::new().route(chat_stream).state(model)
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
    use sse_runtime::parse::ParsedEvent;
    use sse_runtime::testing::TestClient;
    use sse_runtime::StatusCode;
    use tokio::time::Instant;

    use super::{app, app_with, ChatModel, Model, ModelError, Reply, ScriptedModel};

    #[tokio::test(start_paused = true)]
    async fn reply_streams_ai_response_events_half_a_second_apart() {
        let client = TestClient::new(app());
        let start = Instant::now();
        let response = client
            .post("/chat/stream")
            .query(&[("query", "Rust 的 SSE")])
            .send()
            .await;
        response.assert_event_stream();
        let mut events = response.events();
        let mut seen = Vec::new();
        while let Some(event) = events.next().await {
            // Arrival time in milliseconds (paused clock: exact).
            seen.push((event, start.elapsed().as_millis()));
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
        let text = TestClient::new(app())
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
        let client = TestClient::new(app());
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

    #[tokio::test]
    async fn a_model_failure_before_the_first_piece_is_502() {
        let response = TestClient::new(app_with(Model::new(FailingModel { ok_pieces: 0 })))
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
        let response = TestClient::new(app_with(Model::new(FailingModel { ok_pieces: 2 })))
            .post("/chat/stream?query=x")
            .send()
            .await;
        response.assert_event_stream();
        let events: Vec<ParsedEvent> = response.events().collect().await;
        let types: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(types, ["ai_response", "ai_response", "error"]);
        let error: Value = events[2].json().expect("JSON error");
        assert_eq!(
            error,
            json!({ "status": 502, "detail": "the model failed: rate limited" })
        );
    }
}
