//! AI chat: `POST /chat/stream?query=...` streams a model's reply as `event: ai_response`
//! events, one per piece of text, as the model produces them.
//!
//! The route only talks to a [`ChatModel`]: a reply is a stream of text pieces. The app
//! registers [`ScriptedModel`], a stand-in that answers with four canned pieces 0.5 s
//! apart; a real LLM client implements the same trait (one streaming request, one piece
//! per token or delta) and replaces it in [`routes_with`] without touching the route.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use serde::Deserialize;
use sse_runtime::{
    post, stream, try_stream, App, HttpError, Query, ServerSentEvent, State, StatusCode, Stream,
};

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
    /// Wraps a model for [`routes_with`].
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

/// The query string of `POST /chat/stream`.
#[derive(Clone, Debug, Deserialize, sse_runtime::schemars::JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct ChatQuery {
    /// The user's question.
    pub query: String,
}

/// `POST /chat/stream?query=...`: one `ai_response` event per piece of the reply, each a
/// JSON string (`data: "Thinking..."`).
///
/// A model error before the first piece answers `502 Bad Gateway` with
/// `{"detail": "..."}`; after it, the stream ends with one `event: error`.
#[post("/chat/stream", sse)]
pub async fn chat_stream(
    State(model): State<Model>,
    Query(ChatQuery { query }): Query<ChatQuery>,
) -> impl Stream<Item = Result<ServerSentEvent, HttpError>> {
    try_stream! {
        let mut reply = model.0.reply(&query);
        while let Some(piece) = reply.next().await {
            let piece =
                piece.map_err(|err| HttpError::new(StatusCode::BAD_GATEWAY, err.to_string()))?;
            yield ServerSentEvent::new().data(piece).event("ai_response");
        }
    }
}

/// Adds this scenario's routes to `app`, answering with `model`.
pub fn routes_with(app: App, model: Model) -> App {
    app.route(chat_stream).state(model)
}

/// Adds this scenario's routes to `app`, answering with the [`ScriptedModel`].
pub fn routes(app: App) -> App {
    routes_with(app, Model::new(ScriptedModel::default()))
}

/// An app with only this scenario.
pub fn app() -> App {
    routes(App::new())
}
