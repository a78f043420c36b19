//! Quick start: `GET /stream` sends ten JSON events,
//! `data: {"message":"Event 0","timestamp":1735689600.123}` to `"Event 9"`.
//!
//! Each item a route yields is one event; anything `Serialize` is sent as one `data:` line
//! of compact JSON. The route is written inside [`sse_runtime::routes!`], so its body
//! `yield`s directly, as in FastAPI.
//!
//! ```text
//! cargo run --example quickstart
//! curl -N http://127.0.0.1:8000/stream
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sse_runtime::{App, Stream};

sse_runtime::routes! {
    /// `GET /stream`: ten events, `data: {"message":"Event 0","timestamp":1735689600.123}` ...
    #[get("/stream", sse)]
    pub async fn stream_data() -> impl Stream<Item = Value> {
        for i in 0..10 {
            yield json!({ "message": format!("Event {i}"), "timestamp": unix_timestamp() });
        }
    }
}

/// Seconds since the Unix epoch, with a fractional part (Python's `time.time()`).
pub fn unix_timestamp() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

/// The app: `GET /stream`.
pub fn app() -> App {
    App::new().route(stream_data)
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

    use super::{app, unix_timestamp};

    #[tokio::test]
    async fn stream_sends_ten_messages_with_timestamps() {
        let before = unix_timestamp();
        let response = TestClient::new(app()).get("/stream").send().await;
        response.assert_event_stream();
        let body = response.text().await;
        let after = unix_timestamp();

        let blocks: Vec<&str> = body.split_terminator("\n\n").collect();
        assert_eq!(blocks.len(), 10, "{body:?}");
        let mut last = before;
        for (i, block) in blocks.iter().enumerate() {
            // Exactly one field, `data`, with the keys in FastAPI's order.
            let prefix = format!("data: {{\"message\":\"Event {i}\",\"timestamp\":");
            assert!(block.starts_with(&prefix), "{block:?}");
            assert!(!block.contains('\n'), "{block:?}");
            let data: Value = serde_json::from_str(&block["data: ".len()..]).expect("JSON");
            let object = data.as_object().expect("an object");
            assert_eq!(object.len(), 2);
            let timestamp = data["timestamp"].as_f64().expect("a float timestamp");
            assert!(
                (last..=after).contains(&timestamp),
                "{timestamp} not in {last}..={after}"
            );
            last = timestamp;
        }
    }

    #[tokio::test]
    async fn events_are_unnamed_and_unnumbered() {
        let response = TestClient::new(app()).get("/stream").send().await;
        response.assert_event_stream();
        let events: Vec<ParsedEvent> = response.events().collect().await;
        assert_eq!(events.len(), 10);
        for event in &events {
            assert_eq!(event.event, "message");
            assert_eq!(event.id, None);
            assert_eq!(event.retry, None);
        }
    }
}
