//! Outside tools the tests need, under one rule.
//!
//! `cargo test --workspace` must pass on a machine that has only the Rust toolchain, and
//! CI must never pass by quietly skipping. So every test that needs something beyond the
//! toolchain goes through this module:
//!
//! - **A tool `cargo install` provides** at a pinned version (cargo-expand) is installed
//!   by the test when it is missing or another version: [`cargo_install`].
//! - **Any other tool** (Chromium, Node, redis-server, `ip` network namespaces, a Python
//!   venv) cannot be installed from a test. When it is missing, [`missing`] prints a
//!   one-line notice that names the suite and the command that runs it, and the test
//!   returns early; under CI (`CI` set, as `.ci/run` does, which installs every such
//!   tool first) it is a failure instead.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// True under CI: `CI` is set to anything but empty, `0` or `false`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"))
}

/// `program` on `PATH` (or an absolute path that exists), if any.
pub fn find(program: &str) -> Option<PathBuf> {
    let candidate = PathBuf::from(program);
    if candidate.is_absolute() {
        return candidate.is_file().then_some(candidate);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `program`, or `None` after [`missing`] when it is not on `PATH`.
///
/// `suite` names what is skipped; `command` is how to run it once `program` is there
/// (including how to install it).
pub fn require(program: &str, suite: &str, command: &str) -> Option<PathBuf> {
    let found = find(program);
    if found.is_none() {
        missing(suite, &format!("`{program}` is not on PATH"), command);
    }
    found
}

/// The one rule for a missing outside tool: under CI, panics (the suite must run there);
/// elsewhere, prints `SKIPPED <suite>: <why>; run it with: <command>` once per suite and
/// process, straight to stderr (the test harness captures `eprintln!` of passing
/// tests), and returns so that the caller can skip.
pub fn missing(suite: &str, why: &str, command: &str) {
    assert!(
        !in_ci(),
        "{suite} cannot run under CI: {why} (.ci/run installs what the tests need; \
         run it with: {command})"
    );
    static SAID: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let first = SAID
        .lock()
        .map(|mut said| {
            said.get_or_insert_with(HashSet::new)
                .insert(suite.to_owned())
        })
        .unwrap_or(true);
    if first {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {suite}: {why}; run it with: {command}"
        );
    }
}

/// Makes sure `cargo <subcommand>` is `krate` at exactly `version`, installing it with
/// `cargo install --locked` when it is missing or another version (here as under CI).
/// Panics when the install fails: the registry is reachable wherever cargo is.
pub fn cargo_install(krate: &str, version: &str, subcommand: &str) {
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALLING.lock();
    let wanted = format!("{krate} {version}");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let found = Command::new(&cargo)
        .args([subcommand, "--version"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned());
    if found.as_deref() == Some(wanted.as_str()) {
        return;
    }
    let args = [
        "install",
        krate,
        "--version",
        version,
        "--locked",
        "--force",
    ];
    let _ = writeln!(
        std::io::stderr(),
        "installing {wanted} (found {found:?}): cargo {}",
        args.join(" ")
    );
    let status = Command::new(&cargo)
        // The test's own build settings are not the tool's.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .args(args)
        .status();
    assert!(
        status.as_ref().is_ok_and(|status| status.success()),
        "`cargo {}` failed: {status:?}",
        args.join(" ")
    );
}
