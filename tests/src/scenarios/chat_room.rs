//! Chat rooms on a broadcast hub: `POST /rooms/{room}/messages` publishes a message to
//! every client of the room, `GET /rooms/{room}/events` streams the room (its recent
//! history first, then live messages), and a client that reconnects with `Last-Event-ID`
//! resumes exactly where it left off.
//!
//! The routes only talk to a [`Hub`] (`sse_runtime::broadcast::Broadcast`). The
//! `chat_room` example (`examples/chat_room.rs`) serves them with its chat page and, with
//! `REDIS_URL`, a hub on Redis shared by several instances; the showcase uses an
//! in-process hub ([`routes`]). See `docs/broadcast.md`.

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sse_runtime::broadcast::{Broadcast, BroadcastConfig, Message, Resume};
use sse_runtime::schemars::JsonSchema;
use sse_runtime::{App, Created, HttpError, Json, LastEventId, Path, State, StatusCode, Stream};

/// What the room broadcasts: `data: {"user": ..., "text": ...}` with the event's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct ChatMessage {
    /// Who wrote it.
    pub user: String,
    /// What they wrote.
    pub text: String,
}

/// The body of `POST /rooms/{room}/messages`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct NewMessage {
    /// Who writes it: 1 to 32 characters (trimmed).
    pub user: String,
    /// What they write: 1 to 2000 characters (trimmed).
    pub text: String,
}

/// The answer to `POST /rooms/{room}/messages`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct Posted {
    /// The message's event id: what `Last-Event-ID` names to resume after it.
    pub id: String,
}

/// The hub every route shares.
pub type Hub = Broadcast<ChatMessage>;

/// 200 messages of history per room, kept an hour after the room goes quiet.
pub fn hub_config() -> BroadcastConfig {
    BroadcastConfig::new()
        .replay(200)
        .idle_timeout(Duration::from_secs(3600))
}

/// A room name is 1 to 64 ASCII letters, digits, `-` or `_`: clients pick rooms, and
/// every name is a topic of the hub.
pub fn check_room(room: &str) -> Result<(), HttpError> {
    let valid = (1..=64).contains(&room.len())
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(HttpError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a room name is 1 to 64 letters, digits, `-` or `_`",
        ))
    }
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), HttpError> {
    let chars = value.trim().chars().count();
    if (1..=max).contains(&chars) {
        Ok(())
    } else {
        Err(HttpError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("`{field}` must be 1 to {max} characters"),
        ))
    }
}

sse_runtime::routes! {
    /// `POST /rooms/{room}/messages` with `{"user": ..., "text": ...}`: publishes the
    /// message to the room.
    ///
    /// Answers `201 Created` with `{"id": "<event id>"}`; `422` for a bad room name or an
    /// empty or too long field; `503` when the hub's Redis cannot be reached.
    #[post("/rooms/{room}/messages")]
    pub async fn post_message(
        State(hub): State<Hub>,
        Path(room): Path<String>,
        Json(message): Json<NewMessage>,
    ) -> Result<Created<Json<Posted>>, HttpError> {
        check_room(&room)?;
        check_len("user", &message.user, 32)?;
        check_len("text", &message.text, 2000)?;
        let message = ChatMessage {
            user: message.user.trim().to_owned(),
            text: message.text.trim().to_owned(),
        };
        match hub.publish(&room, message).await {
            Ok(id) => Ok(Created(Json(Posted { id: id.to_string() }))),
            Err(err) => {
                tracing::error!(room = %room, error = %err, "message not published");
                Err(HttpError::new(StatusCode::SERVICE_UNAVAILABLE, err.to_string()))
            }
        }
    }

    /// `GET /rooms/{room}/events`: the room's history, then live messages, each with its
    /// event id; with `Last-Event-ID`, only what came after it (or `event: reset` and the
    /// history, if that id is no longer buffered).
    ///
    /// The stream starts with `retry: 1000`. A bad room name is refused with `422` before
    /// the stream starts.
    #[get("/rooms/{room}/events", sse, retry = "1s")]
    pub async fn room_events(
        State(hub): State<Hub>,
        Path(room): Path<String>,
        last: LastEventId,
    ) -> impl Stream<Item = Result<Message<ChatMessage>, HttpError>> {
        check_room(&room)?;
        let mut subscription = hub.subscribe(&room, Resume::from(last).or_oldest());
        while let Some(message) = subscription.next().await {
            yield message;
        }
    }
}

/// Adds this scenario's routes to `app`, sharing `hub`.
pub fn routes_with(app: App, hub: Hub) -> App {
    app.route(post_message).route(room_events).state(hub)
}

/// Adds this scenario's routes to `app`, with an in-process hub.
pub fn routes(app: App) -> App {
    routes_with(app, Broadcast::with_config(hub_config()))
}

/// An app with only this scenario (in-process hub).
pub fn app() -> App {
    routes(App::new())
}
