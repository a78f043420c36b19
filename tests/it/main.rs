//! The workspace integration tests, one binary: each module is one suite (what used to be
//! `tests/tests/NAME.rs`), run with `cargo test -p sse-tests --test it NAME`.
//!
//! One binary links once instead of once per suite. Two suites stay apart on purpose:
//! `compile` (trybuild and cargo-expand run cargo builds of their own) and `leaks`
//! (it measures its process's RSS and live tasks, which other suites would disturb).

// The example apps the suites reach into, each loaded once (their `main`s go unused):
// the showcase brings every example it composes (`showcase::chat_room`, `showcase::logs`,
// ...), and their own tests run here too.
#[allow(dead_code)]
#[path = "../../examples/auth.rs"]
mod auth_example;
#[allow(dead_code)]
#[path = "../../examples/showcase.rs"]
mod showcase;

mod architecture;
mod auth;
mod bad_input;
mod broadcast;
mod broadcast_redis;
mod broker_faults;
mod client;
mod cluster;
mod compression;
mod cors;
mod error_body;
mod examples;
mod fastapi_parity;
mod first_event;
mod form_cookie;
mod h2_abuse;
mod macros;
mod observability;
mod openapi;
mod proxy;
mod relay;
mod reliability;
mod rolling;
mod routes_macro;
mod runtime;
mod sigterm;
mod startup;
mod tower;
mod vanished_peer;
