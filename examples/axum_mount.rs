//! Inside an axum app: an existing `axum::Router` serves its own routes (`GET /`,
//! `GET /api/viewers`) and mounts an sse-runtime app under `/events` with
//! `nest_service`, so `GET /events/ticks` is our stream (`data: {"tick":0}` once a second),
//! served by axum's server with its keep-alive and disconnect cleanup intact.
//!
//! The built app ([`sse_runtime::AppService`]) is a `tower::Service`, which is all
//! `nest_service` (or `fallback_service`) asks for. It keeps its own tower layers (here
//! tower-http's `TraceLayer`, added with `App::layer`). Two things are the host server's
//! job, not ours, once axum serves: our [`Limits`](sse_runtime::Limits) do not apply,
//! and its graceful shutdown must end our streams (`shutdown_streams`), or it would wait
//! for endless streams forever.
//!
//! ```text
//! cargo run --example axum_mount
//! curl -N http://127.0.0.1:8000/events/ticks    # our stream, through axum
//! curl http://127.0.0.1:8000/api/viewers        # axum's route: {"viewers":1} while it runs
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use serde_json::{json, Value};
use sse_runtime::{App, AppService, State, Stream};
use tower_http::trace::TraceLayer;

/// The time between two ticks.
pub const TICK: Duration = Duration::from_secs(1);

/// How many `/events/ticks` streams are open, shared by both apps.
#[derive(Clone, Debug, Default)]
pub struct Viewers(Arc<AtomicUsize>);

impl Viewers {
    /// Open streams now.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Counts one viewer until the guard is dropped, however its stream ends.
    fn watch(&self) -> Viewer {
        self.0.fetch_add(1, Ordering::SeqCst);
        Viewer(self.clone())
    }
}

/// One open stream; dropping it (the client went away, or shutdown) counts it out.
struct Viewer(Viewers);

impl Drop for Viewer {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::SeqCst);
        tracing::info!(viewers = self.0.count(), "a ticks stream ended");
    }
}

sse_runtime::routes! {
    /// `GET /ticks` (`/events/ticks` once mounted): `{"tick": n}` every second, forever.
    #[get("/ticks", sse)]
    pub async fn ticks(State(viewers): State<Viewers>) -> impl Stream<Item = Value> {
        let _viewer = viewers.watch();
        for tick in 0u64.. {
            yield json!({ "tick": tick });
            tokio::time::sleep(TICK).await;
        }
    }
}

/// Our app, with a tower-http layer of its own.
pub fn sse_app(viewers: Viewers) -> App {
    App::new()
        .route(ticks)
        .state(viewers)
        .layer(TraceLayer::new_for_http())
}

/// The axum app: its own routes, and ours under `/events`.
pub fn router(sse: AppService, viewers: Viewers) -> axum::Router {
    axum::Router::new()
        .route("/", get(|| async { axum::response::Html(PAGE) }))
        .route(
            "/api/viewers",
            get(move || async move { axum::Json(json!({ "viewers": viewers.count() })) }),
        )
        .nest_service("/events", sse)
}

/// A page that opens the stream.
const PAGE: &str = r#"<!doctype html><title>axum + sse-runtime</title><pre id="log"></pre>
<script>new EventSource("/events/ticks").onmessage = (e) => log.append(e.data + "\n");</script>"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let viewers = Viewers::default();
    let sse = sse_app(viewers.clone()).build()?;
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    // Installed now, so a signal right after start-up already shuts down gracefully.
    let signal = sse_runtime::shutdown_signal();
    let stopping = sse.clone();
    axum::serve(listener, router(sse, viewers))
        .with_graceful_shutdown(async move {
            signal.await;
            // Our streams end (their cleanup runs): axum can then finish its connections.
            stopping.shutdown_streams();
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;
    use serde_json::{json, Value};
    use sse_runtime::testing::{Protocol, TestClient};

    use super::{router, sse_app, Viewers};

    /// The axum app on a free port, and a client of it.
    async fn serve(protocol: Protocol) -> (TestClient, Viewers) {
        let viewers = Viewers::default();
        let sse = sse_app(viewers.clone()).build().expect("valid routes");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(sse.clone(), viewers.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (TestClient::connect(addr, protocol, sse), viewers)
    }

    async fn viewers(client: &TestClient) -> Value {
        client.get("/api/viewers").send().await.json().await
    }

    #[tokio::test]
    async fn axum_serves_its_routes_and_ours_with_cleanup_on_disconnect() {
        for protocol in [Protocol::Http1, Protocol::Http2] {
            let (client, count) = serve(protocol).await;
            let page = client.get("/").send().await.text().await;
            assert!(page.contains(r#"new EventSource("/events/ticks")"#));
            assert_eq!(viewers(&client).await, json!({ "viewers": 0 }));

            let response = client.get("/events/ticks").send().await;
            assert_eq!(
                response.header("content-type"),
                Some("text/event-stream; charset=utf-8")
            );
            let mut events = response.events();
            let first = events.next().await.expect("a tick");
            assert_eq!(first.data, r#"{"tick":0}"#);
            assert_eq!(viewers(&client).await, json!({ "viewers": 1 }));
            let second = events.next().await.expect("a tick");
            assert_eq!(second.data, r#"{"tick":1}"#);

            // The client goes away: the stream is dropped, axum's route sees it.
            drop(events);
            let start = std::time::Instant::now();
            while count.count() != 0 {
                assert!(start.elapsed() < Duration::from_secs(5), "{protocol:?}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(viewers(&client).await, json!({ "viewers": 0 }));
        }
    }

    #[tokio::test]
    async fn our_404_under_the_prefix_and_shutdown_ends_our_streams() {
        let (client, count) = serve(Protocol::Http1).await;
        let missing = client.get("/events/nothing-here").send().await;
        assert_eq!(missing.status(), 404);
        assert_eq!(missing.text().await, r#"{"detail":"Not Found"}"#);

        let mut events = client.get("/events/ticks").send().await.events();
        assert!(events.next().await.is_some());
        // What `main` does when a signal arrives.
        client.shutdown();
        while events.next().await.is_some() {}
        assert_eq!(count.count(), 0);
    }
}
