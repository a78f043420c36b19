//! Typed events: `GET /events` streams `EventData { message, timestamp }` values,
//! `data: {"message":"Hello","timestamp":1735689600.123}` and so on.
//!
//! The item type is part of the route's signature, so the compiler checks every `yield`
//! (FastAPI gets the same from `AsyncIterable[EventData]` and Pydantic). Deriving
//! `JsonSchema` puts the type in the OpenAPI document of an app that has one (see the
//! showcase).
//!
//! ```text
//! cargo run --example typed_events
//! curl -N http://127.0.0.1:8000/events
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sse_runtime::{App, Stream};

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

sse_runtime::routes! {
    /// `GET /events`: one typed event per message in [`MESSAGES`].
    #[get("/events", sse)]
    pub async fn get_events() -> impl Stream<Item = EventData> {
        for message in MESSAGES {
            yield EventData {
                message: message.to_owned(),
                timestamp: unix_timestamp(),
            };
        }
    }
}

/// Seconds since the Unix epoch, with a fractional part (Python's `time.time()`).
pub fn unix_timestamp() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

/// The app: `GET /events`.
pub fn app() -> App {
    App::new().route(get_events)
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
    use serde_json::Value;
    use sse_runtime::parse::ParsedEvent;
    use sse_runtime::testing::TestClient;

    use super::{app, unix_timestamp, EventData, MESSAGES};

    #[tokio::test]
    async fn events_are_typed_event_data() {
        let before = unix_timestamp();
        let response = TestClient::new(app()).get("/events").send().await;
        response.assert_event_stream();
        let events: Vec<ParsedEvent> = response.events().collect().await;
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
