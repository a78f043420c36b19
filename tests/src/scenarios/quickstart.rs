//! Quick start: `GET /stream` yields ten JSON objects
//! `{"message": "Event {i}", "timestamp": <unix seconds>}`.
//!
//! Each item a route yields is one event; anything `Serialize` is sent as one `data:` line
//! of compact JSON.

use serde_json::{json, Value};
use sse_runtime::{get, stream, App, Stream};

use super::unix_timestamp;

/// `GET /stream`: ten events, `data: {"message":"Event 0","timestamp":1735689600.123}` ...
#[get("/stream", sse)]
pub async fn stream_data() -> impl Stream<Item = Value> {
    stream! {
        for i in 0..10 {
            yield json!({ "message": format!("Event {i}"), "timestamp": unix_timestamp() });
        }
    }
}

/// Adds this scenario's routes to `app`.
pub fn routes(app: App) -> App {
    app.route(stream_data)
}

/// An app with only this scenario.
pub fn app() -> App {
    routes(App::new())
}
