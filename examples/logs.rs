//! Live logs: `GET /logs/stream` sends log lines as they are, with `raw_data` (no JSON
//! quoting): `data: 2025-01-01 INFO Application started`.
//!
//! ```text
//! cargo run --example logs
//! curl -N http://127.0.0.1:8000/logs/stream
//! ```

use sse_runtime::{App, ServerSentEvent, Stream};

/// The log lines `GET /logs/stream` sends, in order.
pub const LOG_LINES: [&str; 3] = [
    "2025-01-01 INFO Application started",
    "2025-01-01 DEBUG Connected to database",
    "2025-01-01 WARN High memory usage detected",
];

sse_runtime::routes! {
    /// `GET /logs/stream`: one raw-text event per line of [`LOG_LINES`].
    #[get("/logs/stream", sse)]
    pub async fn stream_logs() -> impl Stream<Item = ServerSentEvent> {
        for line in LOG_LINES {
            yield ServerSentEvent::new().raw_data(line);
        }
    }
}

/// The app: `GET /logs/stream`.
pub fn app() -> App {
    App::new().route(stream_logs)
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
    use sse_runtime::testing::TestClient;

    use super::app;

    #[tokio::test]
    async fn log_lines_are_sent_raw() {
        let response = TestClient::new(app()).get("/logs/stream").send().await;
        response.assert_event_stream();
        assert_eq!(
            response.text().await,
            "data: 2025-01-01 INFO Application started\n\n\
             data: 2025-01-01 DEBUG Connected to database\n\n\
             data: 2025-01-01 WARN High memory usage detected\n\n"
        );
    }
}
