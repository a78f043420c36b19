//! `load serve compress PORT`: our app with `App::compression` on, serving the payloads of
//! the compressed-streams scenario (`compression.rs` measures it): the stock ticker's
//! `price_update` events as `examples/stocks.rs` sends them (its own `PriceFeed`, included
//! with `#[path]`) and an LLM token stream, each event one frame.

use serde::Deserialize;
use sse_runtime::{get, stream, App, Compression, Query, ServerSentEvent, Stream};

#[derive(Deserialize)]
struct Count {
    n: u64,
}

/// The stock ticker itself (`examples/stocks.rs`): its `PriceFeed` is the payload, so the
/// bytes measured are the bytes the example sends.
#[path = "../../../../examples/stocks.rs"]
// Its routes, `main` and tests are compiled here too (`cargo bench` sets `cfg(test)`), unused.
#[allow(dead_code, unused_imports)]
mod stocks_example;

/// The feed of one stream, with a fixed seed (the example picks a random one per stream).
fn feed() -> stocks_example::PriceFeed {
    stocks_example::PriceFeed::new("AAPL", 0x5EED)
}

/// The next update of `feed`, as the example's route sends it: `event: price_update` and
/// the update as JSON data, no id.
fn stock(feed: &mut stocks_example::PriceFeed) -> ServerSentEvent {
    ServerSentEvent::new()
        .event("price_update")
        .data(feed.tick())
}

const WORDS: [&str; 16] = [
    " The", " stream", " of", " tokens", " arrives", " one", " at", " a", " time", ",", " and",
    " each", " chunk", " is", " small", ".",
];

fn token(i: u64) -> ServerSentEvent {
    let chunk = serde_json::json!({
        "id": "chatcmpl-9xTqZ3bHkN2vY8wLm4pR7sC1dF0a",
        "object": "chat.completion.chunk",
        "created": 1_735_689_600u64 + i / 50,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_0ba0d124f1",
        "choices": [{
            "index": 0,
            "delta": { "content": WORDS[(i * 5 % 16) as usize] },
            "logprobs": null,
            "finish_reason": null,
        }],
    });
    ServerSentEvent::new().data(chunk)
}

/// `n` stock updates, one frame each.
#[get("/stocks", sse)]
async fn stocks(Query(count): Query<Count>) -> impl Stream<Item = ServerSentEvent> {
    stream! {
        let mut feed = feed();
        for _ in 0..count.n {
            yield stock(&mut feed);
            tokio::task::yield_now().await;
        }
    }
}

/// `n` LLM token chunks, one frame each.
#[get("/tokens", sse)]
async fn tokens(Query(count): Query<Count>) -> impl Stream<Item = ServerSentEvent> {
    stream! {
        for i in 0..count.n {
            yield token(i);
            tokio::task::yield_now().await;
        }
    }
}

/// One stock update, then nothing (no keep-alive comments either).
#[get("/idle", sse)]
async fn idle() -> impl Stream<Item = ServerSentEvent> {
    stream! {
        yield stock(&mut feed());
        std::future::pending::<()>().await;
    }
}

/// The compressing server.
pub async fn serve(listener: tokio::net::TcpListener) -> Result<(), Box<dyn std::error::Error>> {
    App::new()
        .route(stocks)
        .route(tokens)
        .route(idle)
        .keep_alive(sse_runtime::KeepAlive::disabled())
        .compression(Compression::new())
        .serve_with_shutdown(listener, sse_runtime::shutdown_signal())
        .await?;
    Ok(())
}
