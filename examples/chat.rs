//! AI chat over POST: `POST /chat/stream?query=...` streams `event: ai_response` pieces 0.5 s apart.
//!
//! The routes live in `tests/src/scenarios/chat.rs` (shared with the tests in
//! `tests/tests/examples.rs`); `docs/guide.md` walks through them.
//!
//! ```text
//! cargo run --example chat
//! curl -N -X POST 'http://127.0.0.1:8000/chat/stream?query=Rust'
//! ```

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sse_tests::scenarios::serve(sse_tests::scenarios::chat::app()).await
}
