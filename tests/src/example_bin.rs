//! The examples' binaries for tests that run them as processes (SIGTERM, proxies, rolling
//! restarts, the Redis Cluster failover).

use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/examples/NAME` of package `sse-examples`, built first (a no-op when
/// fresh), in the profile of the calling test binary.
pub fn example(name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", "sse-examples", "--example", name]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo");
    assert!(status.success(), "cargo build --example {name} failed");
    // The test runs from target/<profile>/deps/.
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}
