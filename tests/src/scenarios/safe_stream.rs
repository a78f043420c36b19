//! Disconnect and cleanup: `GET /safe-stream` counts once a second up to 100
//! (`data: {"count":0}` ...). When the client goes away, the stream is dropped at once: its
//! cleanup guard logs `client disconnected` and releases what the stream held. An app-wide
//! stop signal (`POST /safe-stream/stop`, or [`StreamControl::stop_all`]) ends every running
//! stream early; Ctrl-C shuts the server down gracefully, which ends them too.
//!
//! FastAPI catches `asyncio.CancelledError` and cleans up in `finally`; in Rust the same
//! code lives in a `Drop` guard, which runs however the stream ends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use sse_runtime::{get, post, stream, App, Json, State, Stream};
use tokio::sync::watch;

/// How far the stream counts.
pub const COUNT: u32 = 100;

/// The time between two counts.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// The stop signal shared by every `/safe-stream` response, and their bookkeeping.
#[derive(Clone)]
pub struct StreamControl {
    inner: Arc<Inner>,
}

struct Inner {
    /// Bumped by every stop: a stream ends when the value changes after it started.
    stop: watch::Sender<u64>,
    running: AtomicUsize,
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
    finished: bool,
}

impl Cleanup {
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
            tracing::info!("client disconnected");
        }
        // Release what the stream held (a subscription, a database cursor, ...).
        self.control.inner.running.fetch_sub(1, Ordering::SeqCst);
        tracing::info!("safe-stream cleanup done");
    }
}

/// `GET /safe-stream`: `{"count": i}` for i in 0..100, one a second; ends early on the
/// stop signal; cleans up however it ends.
#[get("/safe-stream", sse)]
pub async fn safe_stream(State(control): State<StreamControl>) -> impl Stream<Item = Value> {
    stream! {
        let mut cleanup = Cleanup::start(control.clone());
        let mut stop = control.inner.stop.subscribe();
        for i in 0..COUNT {
            yield json!({ "count": i });
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
}

/// `POST /safe-stream/stop`: sends the stop signal; answers `{"stopped": <streams running>}`.
#[post("/safe-stream/stop")]
pub async fn stop_streams(State(control): State<StreamControl>) -> Json<Value> {
    Json(json!({ "stopped": control.stop_all() }))
}

/// Adds this scenario's routes to `app`, sharing `control`.
pub fn routes_with(app: App, control: StreamControl) -> App {
    app.route(safe_stream).route(stop_streams).state(control)
}

/// Adds this scenario's routes to `app`.
pub fn routes(app: App) -> App {
    routes_with(app, StreamControl::new())
}

/// An app with only this scenario.
pub fn app() -> App {
    routes(App::new())
}
