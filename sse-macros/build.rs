//! Detects whether this toolchain's parser can accept a bare `yield` in a function body.
//!
//! Stable and beta rustc reject it ("yield syntax is experimental") before any attribute
//! runs, so there the route attributes add an error that says how to fix it (wrap the
//! function in `routes! { ... }`, or end the body in `stream! { ... }`). A nightly or dev
//! toolchain accepts it with a feature gate the user may enable, so there the attributes
//! keep wrapping such bodies: `cfg(sse_yield_parses)`.

use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(sse_yield_parses)");
    println!("cargo::rerun-if-env-changed=RUSTC");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default();
    if version.contains("nightly") || version.contains("-dev") {
        println!("cargo::rustc-cfg=sse_yield_parses");
    }
}
