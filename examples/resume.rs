//! Resume: `GET /items/stream` numbers its events; `Last-Event-ID: N` continues from N+1.
//!
//! The routes live in `tests/src/scenarios/resume.rs` (shared with the tests in
//! `tests/tests/examples.rs`); `docs/guide.md` walks through them.
//!
//! ```text
//! cargo run --example resume
//! curl -N http://127.0.0.1:8000/items/stream
//! curl -N -H 'Last-Event-ID: 2' http://127.0.0.1:8000/items/stream
//! ```

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sse_tests::scenarios::serve(sse_tests::scenarios::resume::app()).await
}
