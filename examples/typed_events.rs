//! Typed items: `GET /events` streams `EventData { message, timestamp }`.
//!
//! The routes live in `tests/src/scenarios/typed_events.rs` (shared with the tests in
//! `tests/tests/examples.rs`); `docs/guide.md` walks through them.
//!
//! ```text
//! cargo run --example typed_events
//! curl -N http://127.0.0.1:8000/events
//! ```

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sse_tests::scenarios::serve(sse_tests::scenarios::typed_events::app()).await
}
