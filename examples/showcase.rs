//! The showcase: every scenario in one app, and a live page at `/`.
//!
//! The routes live in `tests/src/scenarios/showcase.rs` (shared with the tests in
//! `tests/tests/examples.rs`); `docs/guide.md` walks through them.
//!
//! ```text
//! cargo run --example showcase
//! # open http://127.0.0.1:8000/ in a browser
//! ```

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sse_tests::scenarios::serve(sse_tests::scenarios::showcase::app()).await
}
