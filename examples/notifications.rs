//! Every `ServerSentEvent` field: `GET /notifications` sends `event`, `data`, `id` and `retry`.
//!
//! The routes live in `tests/src/scenarios/notifications.rs` (shared with the tests in
//! `tests/tests/examples.rs`); `docs/guide.md` walks through them.
//!
//! ```text
//! cargo run --example notifications
//! curl -N http://127.0.0.1:8000/notifications
//! ```

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sse_tests::scenarios::serve(sse_tests::scenarios::notifications::app()).await
}
