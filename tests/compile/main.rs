//! What the route macros do at compile time: the compile-fail (UI) cases with their
//! diagnostics, and the expansion snapshots. Both run cargo builds of their own, so they
//! are a binary apart from `it`: `cargo test -p sse-tests --test compile`.

mod expand;
mod ui;
