//! Ours: `sse-runtime` routes written the way its users write them — a route attribute
//! with `sse`, and `yield` in the body's generator (`stream! { ... }`, the form stable
//! rustc accepts; see `sse-macros`).

use std::time::Duration;

use sse_runtime::broadcast::{Broadcast, Message, Resume};
use sse_runtime::{get, shutdown_signal, stream, App, Query, State, Stream};

use crate::shared::{Event, Publish, REDIS_URL_ENV, TOPIC};

/// Endless, as fast as the server produces it.
#[get("/events", sse)]
async fn events() -> impl Stream<Item = Event> {
    stream! {
        for i in 0u64.. {
            yield Event::new(i);
        }
    }
}

/// One event, then only keep-alive.
#[get("/idle", sse)]
async fn idle() -> impl Stream<Item = Event> {
    stream! {
        yield Event::new(0);
        std::future::pending::<()>().await;
    }
}

/// Ten events, then the end of the response.
#[get("/short", sse)]
async fn short() -> impl Stream<Item = Event> {
    stream! {
        for i in 0u64..10 {
            yield Event::new(i);
        }
    }
}

/// A subscription to the broadcast hub's topic.
#[get("/fanout", sse)]
async fn fanout(State(hub): State<Broadcast<Event>>) -> impl Stream<Item = Message<Event>> {
    hub.subscribe(TOPIC, Resume::live())
}

/// Starts publishing `n` events, one every `every_ms`.
#[get("/publish")]
async fn publish(State(hub): State<Broadcast<Event>>, Query(p): Query<Publish>) -> &'static str {
    tokio::spawn(async move {
        for i in 0..p.n {
            let _ = hub.publish(TOPIC, Event::new(i)).await;
            tokio::time::sleep(Duration::from_millis(p.every_ms)).await;
        }
    });
    "ok"
}

pub async fn serve(listener: tokio::net::TcpListener) -> Result<(), Box<dyn std::error::Error>> {
    serve_with(listener, Broadcast::new()).await
}

/// The routes, fanning out through `hub`.
fn app(hub: Broadcast<Event>) -> App {
    App::new()
        .route(events)
        .route(idle)
        .route(short)
        .route(fanout)
        .route(publish)
        .state(hub)
}

/// The same routes, fanning out through `hub` (in process, or on Redis for the
/// `ours + Redis` server of `fanout_redis.rs`).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    hub: Broadcast<Event>,
) -> Result<(), Box<dyn std::error::Error>> {
    app(hub)
        .serve_with_shutdown(listener, shutdown_signal())
        .await?;
    Ok(())
}

/// `ours+trace`: the same app inside tower-http's `TraceLayer`, as a production app logs:
/// a span per request and a line per response and stream end at `INFO`, written by a
/// `tracing-subscriber` fmt layer (to nowhere, so that the figure is the layer's cost and
/// the formatting's, not a terminal's). The layer enters the span on every poll of the
/// body: the cost per event the comparison with `ours` shows.
pub async fn serve_traced(
    listener: tokio::net::TcpListener,
) -> Result<(), Box<dyn std::error::Error>> {
    use tower_http::trace::{DefaultMakeSpan, DefaultOnEos, DefaultOnResponse, TraceLayer};
    use tracing::Level;
    tracing_subscriber::fmt()
        .with_max_level(Level::INFO)
        .with_writer(std::io::sink)
        .try_init()
        .map_err(|err| err.to_string())?;
    let trace = TraceLayer::new_for_http()
        .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
        .on_response(DefaultOnResponse::new().level(Level::INFO))
        .on_eos(DefaultOnEos::new().level(Level::INFO));
    app(Broadcast::new())
        .layer(trace)
        .serve_with_shutdown(listener, shutdown_signal())
        .await?;
    Ok(())
}

/// `ours + Redis`, in the server process: the Redis hub at `$BENCH_REDIS_URL`, with the
/// default configuration (as the in-process hub of `ours`).
pub async fn redis_hub() -> Result<Broadcast<Event>, Box<dyn std::error::Error>> {
    let url = std::env::var(REDIS_URL_ENV).map_err(|_| format!("{REDIS_URL_ENV} is not set"))?;
    Ok(Broadcast::redis(&url, sse_runtime::broadcast::BroadcastConfig::new()).await?)
}
