//! A small app on the packaged sse-runtime: one streaming route written as the crate's
//! README shows (`routes!`, a body that `yield`s typed events), served on a free port.
//! It prints `listening on http://ADDR` and serves until SIGTERM.

use serde::Serialize;
use sse_runtime::{routes, App, Event, Path, Stream};

#[derive(Serialize)]
struct Update {
    symbol: String,
    tick: u64,
}

routes! {
    /// Three price updates for `symbol`, then the end of the stream.
    #[get("/stocks/{symbol}/stream", sse)]
    async fn stocks(Path(symbol): Path<String>) -> impl Stream<Item = Event<Update>> {
        for tick in 0u64..3 {
            let update = Update { symbol: symbol.clone(), tick };
            yield Event::new(update).event("price_update").id(tick.to_string());
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    App::new()
        .route(stocks)
        .serve_with_listener(listener)
        .await?;
    Ok(())
}
