//! Quick start: `GET /stream` yields ten `{"message", "timestamp"}` objects.
//!
//! The routes live in `tests/src/scenarios/quickstart.rs` (shared with the tests in
//! `tests/tests/examples.rs`); `docs/guide.md` walks through them.
//!
//! ```text
//! cargo run --example quickstart
//! curl -N http://127.0.0.1:8000/stream
//! ```

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sse_tests::scenarios::serve(sse_tests::scenarios::quickstart::app()).await
}
