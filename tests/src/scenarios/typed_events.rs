//! Typed items: `GET /events` streams `EventData { message, timestamp }`.
//!
//! The item type is part of the route's signature, so the compiler checks every `yield`
//! (FastAPI gets the same from `AsyncIterable[EventData]` and Pydantic).

use serde::{Deserialize, Serialize};
use sse_runtime::{get, stream, App, Stream};

use super::unix_timestamp;

/// One event's data: `{"message": "...", "timestamp": <unix seconds>}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sse_runtime::schemars::JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct EventData {
    /// The text.
    pub message: String,
    /// When the event was produced, in seconds since the Unix epoch.
    pub timestamp: f64,
}

/// The messages `GET /events` sends, in order.
pub const MESSAGES: [&str; 3] = ["Hello", "from", "typed events"];

/// `GET /events`: one typed event per message in [`MESSAGES`].
#[get("/events", sse)]
pub async fn get_events() -> impl Stream<Item = EventData> {
    stream! {
        for message in MESSAGES {
            yield EventData {
                message: message.to_owned(),
                timestamp: unix_timestamp(),
            };
        }
    }
}

/// Adds this scenario's routes to `app`.
pub fn routes(app: App) -> App {
    app.route(get_events)
}

/// An app with only this scenario.
pub fn app() -> App {
    routes(App::new())
}
