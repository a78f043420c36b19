//! Expansion snapshots of representative routes: `expand/*.rs` expanded with
//! `cargo expand` must equal `expand/*.expanded.rs`, so every change to the generated
//! code shows up in review.
//!
//! Needs cargo-expand 1.0.127 (the snapshots were made with it and rustc 1.95):
//! `cargo install cargo-expand --version 1.0.127 --locked`. Under CI (`CI` set) the test
//! installs it when it is missing or another version; elsewhere it fails with that
//! command. After an intended change to the generated code, regenerate the snapshots with
//! `MACROTEST=overwrite cargo test -p sse-tests --test expand` and review the diff.

use std::process::Command;

/// The cargo-expand release the snapshots were made with (its pretty-printer decides
/// their layout).
const CARGO_EXPAND_VERSION: &str = "1.0.127";

fn ensure_cargo_expand() {
    let wanted = format!("cargo-expand {CARGO_EXPAND_VERSION}");
    let found = Command::new("cargo")
        .args(["expand", "--version"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned());
    if found.as_deref() == Some(wanted.as_str()) {
        return;
    }
    let install = [
        "install",
        "cargo-expand",
        "--version",
        CARGO_EXPAND_VERSION,
        "--locked",
        "--force",
    ];
    if std::env::var_os("CI").is_none() {
        panic!(
            "the expansion snapshots need {wanted} (found {found:?}): run `cargo {}`",
            install.join(" ")
        );
    }
    let status = Command::new("cargo").args(install).status();
    assert!(
        status.as_ref().is_ok_and(|status| status.success()),
        "`cargo {}` failed: {status:?}",
        install.join(" ")
    );
}

#[test]
fn expansions() {
    ensure_cargo_expand();
    if std::env::var_os("MACROTEST").is_some_and(|value| value == "overwrite") {
        // Writes missing and changed snapshots.
        macrotest::expand("expand/*.rs");
    } else {
        // Fails when a snapshot is missing or differs.
        macrotest::expand_without_refresh("expand/*.rs");
    }
}
