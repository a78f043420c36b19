//! Stock ticker: `GET /stocks/{symbol}/stream` sends `event: price_update` every second, forever.
//!
//! The routes live in `tests/src/scenarios/stocks.rs` (shared with the tests in
//! `tests/tests/examples.rs`); `docs/guide.md` walks through them.
//!
//! ```text
//! cargo run --example stocks
//! curl -N http://127.0.0.1:8000/stocks/AAPL/stream
//! ```

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sse_tests::scenarios::serve(sse_tests::scenarios::stocks::app()).await
}
