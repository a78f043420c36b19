//! Shared helpers for the workspace tests. The examples (`examples/`, package
//! `sse-examples`) own their code; tests reach them with `#[path]` modules.

pub mod cleanups;
pub mod example_bin;
pub mod netns;
pub mod proxy;
pub mod redis;
pub mod redis_cluster;
pub mod tools;

/// The guide, `docs/guide.md`, included so that `cargo test` compiles and runs its Rust
/// snippets (and the README's, in [`guide::readme`]).
#[doc = include_str!("../../docs/guide.md")]
pub mod guide {
    #[doc = include_str!("../../README.md")]
    pub mod readme {}
}

/// The crates.io pages of the published crates, their `README.md`s, included so that
/// `cargo test` compiles their Rust snippets too.
pub mod crate_readmes {
    #[doc = include_str!("../../sse-runtime/README.md")]
    pub mod sse_runtime {}
    #[doc = include_str!("../../sse-macros/README.md")]
    pub mod sse_macros {}
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
