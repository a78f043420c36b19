//! Expansion snapshots of representative routes: `expand/*.rs` expanded with
//! `cargo expand` must equal `expand/*.expanded.rs`, so every change to the generated
//! code shows up in review.
//!
//! Needs cargo-expand 1.0.127 (the snapshots were made with it and rustc 1.95; its
//! pretty-printer decides their layout): the test installs it with `cargo install` when it
//! is missing or another version (`sse_tests::tools::cargo_install`). After an intended
//! change to the generated code, regenerate the snapshots with
//! `MACROTEST=overwrite cargo test -p sse-tests --test compile expand` and review the diff.

/// The cargo-expand release the snapshots were made with.
const CARGO_EXPAND_VERSION: &str = "1.0.127";

#[test]
fn expansions() {
    sse_tests::tools::cargo_install("cargo-expand", CARGO_EXPAND_VERSION, "expand");
    if std::env::var_os("MACROTEST").is_some_and(|value| value == "overwrite") {
        // Writes missing and changed snapshots.
        macrotest::expand("expand/*.rs");
    } else {
        // Fails when a snapshot is missing or differs.
        macrotest::expand_without_refresh("expand/*.rs");
    }
}
