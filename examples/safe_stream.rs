//! Disconnect and cleanup: `GET /safe-stream` counts once a second up to 100
//! (`data: {"count":0}` ...). When the client goes away, the stream is dropped at once: its
//! cleanup guard logs `client disconnected` and releases what the stream held. An app-wide
//! stop signal (`POST /safe-stream/stop`, or [`StreamControl::stop_all`]) ends every running
//! stream early; Ctrl-C shuts the server down gracefully, which ends them too.
//!
//! FastAPI catches `asyncio.CancelledError` and cleans up in `finally`; in Rust the same
//! code lives in a `Drop` guard, which runs however the stream ends.
//!
//! ```text
//! cargo run --example safe_stream
//! curl -N http://127.0.0.1:8000/safe-stream        # Ctrl-C it: the server logs "client disconnected"
//! curl -X POST http://127.0.0.1:8000/safe-stream/stop  # ends every running stream early
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};
use sse_runtime::schemars::JsonSchema;
use sse_runtime::{App, Json, State, Stream};
use tokio::sync::watch;

/// How far the stream counts.
pub const COUNT: u32 = 100;

/// One event of `GET /safe-stream`: `{"count": i}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct Tick {
    /// How many events came before this one.
    pub count: u32,
}

/// The time between two counts.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// The stop signal shared by every `/safe-stream` response, and their bookkeeping.
#[derive(Clone)]
pub struct StreamControl {
    inner: Arc<Inner>,
}

/// What every clone of a [`StreamControl`] shares.
struct Inner {
    /// Bumped by every stop: a stream ends when the value changes after it started.
    stop: watch::Sender<u64>,
    /// Streams started and not yet cleaned up.
    running: AtomicUsize,
    /// Streams dropped before their end because the client went away.
    disconnected: AtomicUsize,
}

impl Default for StreamControl {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamControl {
    /// A control with no stream running.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                stop: watch::channel(0).0,
                running: AtomicUsize::new(0),
                disconnected: AtomicUsize::new(0),
            }),
        }
    }

    /// Ends every stream running now (streams started later run normally); returns how
    /// many were running.
    pub fn stop_all(&self) -> usize {
        self.inner.stop.send_modify(|generation| *generation += 1);
        self.running()
    }

    /// How many streams are running (started and not yet cleaned up).
    pub fn running(&self) -> usize {
        self.inner.running.load(Ordering::SeqCst)
    }

    /// How many streams were dropped before their end because the client went away.
    pub fn disconnected(&self) -> usize {
        self.inner.disconnected.load(Ordering::SeqCst)
    }
}

/// Held by a running stream; dropping it is the stream's cleanup.
struct Cleanup {
    control: StreamControl,
    /// Set when the stream ends by itself (counted to the end, or stopped).
    finished: bool,
}

impl Cleanup {
    /// Counts a stream as running until the guard is dropped.
    fn start(control: StreamControl) -> Self {
        control.inner.running.fetch_add(1, Ordering::SeqCst);
        Self {
            control,
            finished: false,
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.finished {
            self.control
                .inner
                .disconnected
                .fetch_add(1, Ordering::SeqCst);
            let total = self.control.disconnected();
            tracing::info!(total, "client disconnected");
        }
        // Release what the stream held (a subscription, a database cursor, ...).
        self.control.inner.running.fetch_sub(1, Ordering::SeqCst);
        tracing::info!("safe-stream cleanup done");
    }
}

sse_runtime::routes! {
    /// `GET /safe-stream`: `{"count": i}` for i in 0..100, one a second; ends early on the
    /// stop signal; cleans up however it ends.
    #[get("/safe-stream", sse)]
    pub async fn safe_stream(State(control): State<StreamControl>) -> impl Stream<Item = Tick> {
        let mut cleanup = Cleanup::start(control.clone());
        let mut stop = control.inner.stop.subscribe();
        for i in 0..COUNT {
            yield Tick { count: i };
            tokio::select! {
                _ = stop.changed() => {
                    tracing::info!(count = i, "stop signal: ending the stream");
                    break;
                }
                () = tokio::time::sleep(INTERVAL) => {}
            }
        }
        cleanup.finished = true;
    }

    /// `POST /safe-stream/stop`: sends the stop signal; answers `{"stopped": <streams running>}`.
    #[post("/safe-stream/stop")]
    pub async fn stop_streams(State(control): State<StreamControl>) -> Json<Value> {
        Json(json!({ "stopped": control.stop_all() }))
    }
}

/// The app, with a control of its own.
pub fn app() -> App {
    app_with(StreamControl::new())
}

/// The app, sharing `control` (a test keeps a clone to watch the streams).
pub fn app_with(control: StreamControl) -> App {
    App::new()
        .route(safe_stream)
        .route(stop_streams)
        .state(control)
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
    use std::time::Duration;

    use futures_util::StreamExt;
    use serde_json::{json, Value};
    use sse_runtime::testing::{Protocol, TestClient};
    use sse_runtime::StatusCode;
    use tokio::time::Instant;

    use super::{app_with, StreamControl, COUNT};

    async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        for _ in 0..500 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting until {what}");
    }

    #[tokio::test(start_paused = true)]
    async fn counts_once_a_second_to_100_then_cleans_up() {
        let control = StreamControl::new();
        let start = Instant::now();
        let response = TestClient::new(app_with(control.clone()))
            .get("/safe-stream")
            .send()
            .await;
        response.assert_event_stream();
        let mut events = response.events();
        let mut count = 0;
        while let Some(event) = events.next().await {
            assert_eq!(event.event, "message");
            assert_eq!(event.data, format!("{{\"count\":{count}}}"));
            // Paused clock: exact milliseconds.
            assert_eq!(start.elapsed().as_millis(), 1000 * count as u128);
            count += 1;
        }
        assert_eq!(count, COUNT);
        assert_eq!(control.running(), 0);
        assert_eq!(
            control.disconnected(),
            0,
            "a complete stream is no disconnect"
        );
    }

    #[tokio::test]
    async fn a_disconnect_runs_the_cleanup() {
        let control = StreamControl::new();
        let client = TestClient::spawn(app_with(control.clone()), Protocol::Http1).await;
        let mut events = client.get("/safe-stream").send().await.events();
        let first = events.next().await.expect("count 0");
        assert_eq!(first.data, r#"{"count":0}"#);
        assert_eq!(control.running(), 1);
        drop(events); // the client goes away mid-stream
        wait_until("the stream is cleaned up", || control.running() == 0).await;
        assert_eq!(control.disconnected(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_stop_signal_ends_every_running_stream() {
        let control = StreamControl::new();
        let client = TestClient::new(app_with(control.clone()));
        let mut a = client.get("/safe-stream").send().await.events();
        let mut b = client.get("/safe-stream").send().await.events();
        assert!(a.next().await.is_some());
        assert!(b.next().await.is_some());
        assert_eq!(control.running(), 2);

        let response = client.post("/safe-stream/stop").send().await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.json::<Value>().await, json!({ "stopped": 2 }));

        // Both end at once (no more counts), cleanly.
        let start = Instant::now();
        assert!(a.next().await.is_none());
        assert!(b.next().await.is_none());
        assert_eq!(start.elapsed().as_millis(), 0);
        assert_eq!(control.running(), 0);
        assert_eq!(control.disconnected(), 0);

        // A stream started after the signal runs normally.
        let mut c = client.get("/safe-stream").send().await.events();
        assert_eq!(
            c.next().await.map(|e| e.data),
            Some(r#"{"count":0}"#.into())
        );
        assert_eq!(
            c.next().await.map(|e| e.data),
            Some(r#"{"count":1}"#.into())
        );
    }
}
