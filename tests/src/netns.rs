//! What the network-namespace tests share (`vanished_peer`, `broker_faults`): running
//! `ip`, knowing whether we may, a free private subnet, and [`Veth`], a namespace joined
//! to ours by a veth pair.

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

/// Why a network namespace cannot be made here (not root, or a tool missing), if so.
pub fn why_not(tools: &[&str]) -> Option<String> {
    if !is_root() {
        return Some("not root".to_owned());
    }
    ["ip"]
        .iter()
        .chain(tools)
        .find(|tool| crate::tools::find(tool).is_none())
        .map(|tool| format!("no `{tool}`"))
}

/// A network namespace joined to ours by a veth pair on a private /30: our end has
/// `host_ip`, the namespace's end `peer_ip`. Torn down when dropped (also when a test
/// panics): deleting the namespace deletes its end of the pair, and so the pair.
pub struct Veth {
    /// The namespace's name (`ip netns exec NS ...`).
    pub ns: String,
    /// Our end of the pair.
    pub host_if: String,
    /// The namespace's end of the pair.
    pub peer_if: String,
    /// Our end's address.
    pub host_ip: std::net::Ipv4Addr,
    /// The namespace's end's address.
    pub peer_ip: std::net::Ipv4Addr,
}

impl Veth {
    /// Makes namespace `ns` and the pair `host_if` / `peer_if` on
    /// `10.<second>.<free>.<base + 1 and 2>/30` (`base`: a multiple of 4, so that several
    /// pairs of one process share the free subnet).
    pub fn create(
        ns: String,
        host_if: String,
        peer_if: String,
        second: u8,
        base: u8,
    ) -> Result<Self, String> {
        let subnet = free_subnet(second);
        let mut veth = Veth {
            ns,
            host_if,
            peer_if,
            host_ip: std::net::Ipv4Addr::new(10, second, subnet, base + 1),
            peer_ip: std::net::Ipv4Addr::new(10, second, subnet, base + 2),
        };
        if let Err(err) = ip(&["netns", "add", &veth.ns]) {
            veth.ns.clear(); // nothing to tear down
            return Err(err);
        }
        let (host, peer) = (&veth.host_if, &veth.peer_if);
        let (host_cidr, peer_cidr) = (
            format!("{}/30", veth.host_ip),
            format!("{}/30", veth.peer_ip),
        );
        ip(&[
            "link", "add", host, "type", "veth", "peer", "name", peer, "netns", &veth.ns,
        ])?;
        ip(&["addr", "add", &host_cidr, "dev", host])?;
        ip(&["link", "set", host, "up"])?;
        veth.in_ns(&["addr", "add", &peer_cidr, "dev", peer])?;
        veth.in_ns(&["link", "set", "lo", "up"])?;
        veth.set_peer_link(true)?;
        Ok(veth)
    }

    /// `ip ARGS` inside the namespace.
    pub fn in_ns(&self, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["netns", "exec", &self.ns, "ip"];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// Brings the namespace's end of the link up, or takes it down: then nothing gets
    /// through either way, and neither side is told.
    pub fn set_peer_link(&self, up: bool) -> Result<(), String> {
        let state = if up { "up" } else { "down" };
        self.in_ns(&["link", "set", &self.peer_if, state])
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        if !self.ns.is_empty() {
            let _ = ip(&["netns", "del", &self.ns]);
            let _ = ip(&["link", "del", &self.host_if]);
        }
    }
}
