//! Quick start: `GET /stream` yields ten JSON objects
//! `{"message": "Event {i}", "timestamp": <unix seconds>}`.
//!
//! Each item a route yields is one event; anything `Serialize` is sent as one `data:` line
//! of compact JSON. The route is written inside [`sse_runtime::routes!`], so its body
//! `yield`s directly, as in FastAPI; outside that block, end the body in `stream! { ... }`.

use serde_json::{json, Value};
use sse_runtime::{App, Stream};

use super::unix_timestamp;

sse_runtime::routes! {
    /// `GET /stream`: ten events, `data: {"message":"Event 0","timestamp":1735689600.123}` ...
    #[get("/stream", sse)]
    pub async fn stream_data() -> impl Stream<Item = Value> {
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
