//! Live logs: `GET /logs/stream` sends log lines as raw text (`raw_data`, no JSON quoting).
//!
//! The routes live in `tests/src/scenarios/logs.rs` (shared with the tests in
//! `tests/tests/examples.rs`); `docs/guide.md` walks through them.
//!
//! ```text
//! cargo run --example logs
//! curl -N http://127.0.0.1:8000/logs/stream
//! ```

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sse_tests::scenarios::serve(sse_tests::scenarios::logs::app()).await
}
