//! What the network-namespace tests share (`vanished_peer`, `broker_faults`): running
//! `ip`, knowing whether we may, and picking a free private subnet.

use std::process::{Command, Stdio};

/// Runs `ip ARGS`, failing with its stderr.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run `ip`: {err}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// True when this process runs as root (network namespaces need it).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|uids| uids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// A third octet `x` such that no address of this host is in `10.<second>.x.0/24` yet,
/// starting from one derived from the process id so that parallel runs differ.
pub fn free_subnet(second: u8) -> u8 {
    let used = Command::new("ip")
        .args(["-4", "-o", "addr"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let start = std::process::id() % 250;
    (0..250)
        .map(|i| u8::try_from((start + i) % 250 + 1).unwrap_or(1))
        .find(|x| !used.contains(&format!("10.{second}.{x}.")))
        .unwrap_or(1)
}
