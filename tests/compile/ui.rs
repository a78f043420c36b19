//! Compile-fail (UI) tests of the route attributes: each `ui/*.rs` must fail to compile
//! with exactly the diagnostics in its `.stderr` snapshot.
//!
//! The snapshots belong to the toolchain on this project's machines, **rustc 1.95
//! (stable)**: another rustc words or places some diagnostics differently. After a
//! toolchain upgrade, regenerate them with
//! `TRYBUILD=overwrite cargo test -p sse-tests --test compile ui` and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}
