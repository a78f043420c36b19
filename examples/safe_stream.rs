//! Disconnect and cleanup: `GET /safe-stream` counts to 100; a disconnect logs `client disconnected`.
//!
//! The routes live in `tests/src/scenarios/safe_stream.rs` (shared with the tests in
//! `tests/tests/examples.rs`); `docs/guide.md` walks through them.
//!
//! ```text
//! cargo run --example safe_stream
//! curl -N http://127.0.0.1:8000/safe-stream        # Ctrl-C it: the server logs "client disconnected"
//! curl -X POST http://127.0.0.1:8000/safe-stream/stop  # ends every running stream early
//! ```

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sse_tests::scenarios::serve(sse_tests::scenarios::safe_stream::app()).await
}
