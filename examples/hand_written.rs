//! A stream served without the route macros: plain `async fn`s, one returning [`Sse`],
//! registered with `App::get`. This is what `#[get("/counter", sse)]` writes for you.
//!
//! ```text
//! cargo run --example hand_written
//! curl -N http://127.0.0.1:8000/counter
//! curl -N -H 'Last-Event-ID: 41' http://127.0.0.1:8000/counter   # resumes at 42
//! ```

use std::time::Duration;

use serde_json::{json, Value};
use sse_runtime::{stream, App, Json, LastEventId, ServerSentEvent, Sse};

/// Logs when a stream ends, however it ends (client gone, server shutdown).
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        tracing::info!("counter stream cleaned up");
    }
}

/// `GET /counter`: `event: tick` with `{"count": i}` once a second, numbering events so a
/// reconnecting client resumes after the last one it saw.
async fn counter(LastEventId(last): LastEventId<u64>) -> Sse {
    let start = last.map_or(0, |id| id.saturating_add(1));
    Sse::new(stream! {
        let _cleanup = Cleanup;
        for i in start..=u64::MAX {
            yield ServerSentEvent::new()
                .event("tick")
                .data(json!({ "count": i }))
                .id(i.to_string());
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

/// `GET /health`: `{"status": "ok"}`.
async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The app: `GET /counter` and `GET /health`.
pub fn app() -> App {
    App::new().get("/counter", counter).get("/health", health)
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
    use sse_runtime::testing::TestClient;
    use sse_runtime::StatusCode;
    use tokio::time::Instant;

    use super::app;

    #[tokio::test(start_paused = true)]
    async fn counter_ticks_once_a_second_and_resumes_after_last_event_id() {
        let client = TestClient::new(app());
        for (last, first) in [(None, 0u64), (Some("41"), 42)] {
            let mut request = client.get("/counter");
            if let Some(last) = last {
                request = request.header("Last-Event-ID", last);
            }
            let response = request.send().await;
            assert_eq!(response.status(), StatusCode::OK);
            let start = Instant::now();
            let mut events = response.events();
            for i in first..first + 3 {
                let event = events.next().await.expect("an endless stream");
                assert_eq!(event.event, "tick");
                assert_eq!(event.id, Some(i.to_string()));
                assert_eq!(event.data, format!(r#"{{"count":{i}}}"#));
                // Paused clock: exact milliseconds.
                assert_eq!(start.elapsed().as_millis(), 1000 * u128::from(i - first));
            }
        }
    }

    #[tokio::test]
    async fn health_is_ok() {
        let body: Value = TestClient::new(app())
            .get("/health")
            .send()
            .await
            .json()
            .await;
        assert_eq!(body, json!({ "status": "ok" }));
    }
}
