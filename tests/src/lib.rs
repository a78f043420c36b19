//! Shared helpers for the examples and the workspace tests.

pub mod auth;
pub mod cleanups;
pub mod scenarios;

/// The guide, `docs/guide.md`, included so that `cargo test` compiles and runs its Rust
/// snippets (and the README's, in [`guide::readme`]).
#[doc = include_str!("../../docs/guide.md")]
pub mod guide {
    #[doc = include_str!("../../README.md")]
    pub mod readme {}
}

/// The address an example binds: `$ADDR`, or `127.0.0.1:8000`.
/// `ADDR=127.0.0.1:0` picks a free port.
pub fn addr_from_env() -> String {
    std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8000".to_owned())
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`). Stdout stays free for the
/// `listening on ...` line.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
