//! A stream served without any macro: a plain `async fn` returning [`Sse`], registered
//! with `App::get`.
//!
//! ```text
//! cargo run --example hand_written
//! curl -N http://127.0.0.1:8000/counter
//! ```

use std::time::Duration;

use sse_runtime::{shutdown_signal, App, Json, LastEventId, ServerSentEvent, Sse};

/// Logs when a stream ends, however it ends (client gone, server shutdown).
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        tracing::info!("counter stream cleaned up");
    }
}

/// Counts once a second, numbering events so a reconnecting client resumes after the
/// last one it saw.
async fn counter(last: LastEventId<u64>) -> Sse {
    let start = last.0.map_or(0, |id| id + 1);
    Sse::new(async_stream::stream! {
        let _cleanup = Cleanup;
        for i in start.. {
            yield ServerSentEvent::new()
                .event("tick")
                .data(serde_json::json!({ "count": i }))
                .id(i.to_string());
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sse_tests::init_tracing();
    let listener = tokio::net::TcpListener::bind(sse_tests::addr_from_env()).await?;
    println!("listening on http://{}", listener.local_addr()?);
    App::new()
        .get("/counter", counter)
        .get("/health", health)
        .serve_with_shutdown(listener, shutdown_signal())
        .await?;
    Ok(())
}
