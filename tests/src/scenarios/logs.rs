//! Live logs: `GET /logs/stream` sends log lines as they are, with `raw_data` (no JSON
//! quoting): `data: 2025-01-01 INFO Application started`.

use sse_runtime::{get, stream, App, ServerSentEvent, Stream};

/// The log lines `GET /logs/stream` sends, in order.
pub const LOG_LINES: [&str; 3] = [
    "2025-01-01 INFO Application started",
    "2025-01-01 DEBUG Connected to database",
    "2025-01-01 WARN High memory usage detected",
];

/// `GET /logs/stream`: one raw-text event per line of [`LOG_LINES`].
#[get("/logs/stream", sse)]
pub async fn stream_logs() -> impl Stream<Item = ServerSentEvent> {
    stream! {
        for line in LOG_LINES {
            yield ServerSentEvent::new().raw_data(line);
        }
    }
}

/// Adds this scenario's routes to `app`.
pub fn routes(app: App) -> App {
    app.route(stream_logs)
}

/// An app with only this scenario.
pub fn app() -> App {
    routes(App::new())
}
