//! axum: its `Sse` response with `Event::json_data` and the default keep-alive (15 s),
//! served by `axum::serve` with `TCP_NODELAY` (as ours and raw hyper set it).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use futures_core::Stream;
use tokio::sync::broadcast;

use crate::shared::{Event, Publish};

type Hub = broadcast::Sender<Arc<Event>>;

type Item = Result<SseEvent, axum::Error>;

fn sse(stream: impl Stream<Item = Item> + Send + 'static) -> Sse<impl Stream<Item = Item>> {
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn events() -> Sse<impl Stream<Item = Item>> {
    sse(async_stream::stream! {
        for i in 0u64.. {
            yield SseEvent::default().json_data(Event::new(i));
        }
    })
}

async fn idle() -> Sse<impl Stream<Item = Item>> {
    sse(async_stream::stream! {
        yield SseEvent::default().json_data(Event::new(0));
        std::future::pending::<()>().await;
    })
}

async fn short() -> Sse<impl Stream<Item = Item>> {
    sse(async_stream::stream! {
        for i in 0u64..10 {
            yield SseEvent::default().json_data(Event::new(i));
        }
    })
}

/// A subscription to the broadcast channel (tokio's, as axum apps use).
async fn fanout(State(hub): State<Hub>) -> Sse<impl Stream<Item = Item>> {
    let mut events = hub.subscribe();
    sse(async_stream::stream! {
        loop {
            match events.recv().await {
                Ok(event) => yield SseEvent::default().json_data(&*event),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    })
}

async fn publish(State(hub): State<Hub>, Query(p): Query<Publish>) -> &'static str {
    tokio::spawn(async move {
        for i in 0..p.n {
            let _ = hub.send(Arc::new(Event::new(i)));
            tokio::time::sleep(Duration::from_millis(p.every_ms)).await;
        }
    });
    "ok"
}

pub async fn serve(listener: tokio::net::TcpListener) -> Result<(), Box<dyn std::error::Error>> {
    let app = Router::new()
        .route("/events", get(events))
        .route("/idle", get(idle))
        .route("/short", get(short))
        .route("/fanout", get(fanout))
        .route("/publish", get(publish))
        .with_state(broadcast::channel::<Arc<Event>>(1024).0);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // No graceful shutdown: the driver ends it with SIGTERM.
    axum::serve(listener, app).await?;
    Ok(())
}
