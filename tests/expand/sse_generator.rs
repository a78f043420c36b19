use sse_runtime::{get, stream, Path, ServerSentEvent, State, Stream};

#[derive(Clone)]
struct Quotes;

impl Quotes {
    async fn price(&self, _symbol: &str) -> f64 {
        42.0
    }
}

/// Streams a price for `symbol` every second.
#[get("/stocks/{symbol}/stream", sse, keep_alive = "5s")]
pub async fn stocks(
    Path(symbol): Path<String>,
    State(quotes): State<Quotes>,
) -> impl Stream<Item = ServerSentEvent> {
    stream! {
        loop {
            let price = quotes.price(&symbol).await;
            yield ServerSentEvent::new().event("quote").data(price);
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}

fn main() {}
