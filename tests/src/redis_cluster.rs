//! A Redis Cluster of the test's own (`cluster`): six `redis-server` processes in cluster
//! mode on free loopback ports, in a temporary folder, made into three masters with one
//! replica each by `redis-cli --cluster create`; nothing persisted; a 1 s
//! `cluster-node-timeout`, so a killed master's replica takes over in about two seconds.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a node may be unreachable before the cluster fails it over (ms).
pub const NODE_TIMEOUT_MS: u64 = 1000;

/// One node: its port and process (`None` once killed).
struct Node {
    port: u16,
    child: Option<Child>,
}

/// A running cluster; every node is killed and the folder removed when dropped.
pub struct RedisCluster {
    dir: PathBuf,
    nodes: Vec<Node>,
}

impl RedisCluster {
    /// Starts one, or `None` to skip when redis-server or redis-cli is not installed (the
    /// rule of [`crate::tools`]: a failure under CI, a one-line notice elsewhere).
    pub fn start(suite: &str, command: &str) -> Option<Self> {
        crate::tools::require("redis-server", suite, command)?;
        crate::tools::require("redis-cli", suite, command)?;
        for _ in 0..3 {
            if let Some(cluster) = Self::try_start() {
                return Some(cluster);
            }
        }
        panic!("could not start a Redis Cluster");
    }

    fn try_start() -> Option<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        let dir = std::env::temp_dir().join(format!("sse-cluster-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        let mut cluster = Self {
            dir,
            nodes: Vec::new(),
        };
        for port in cluster_ports(6) {
            let child = cluster.spawn(port);
            cluster.nodes.push(Node {
                port,
                child: Some(child),
            });
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cluster.nodes.iter().all(|node| ping(node.port)) {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let addrs = cluster.nodes();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !created {
            return None;
        }
        // Every node agrees: the state is ok, six nodes known, each master with a replica.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ok = cluster.nodes.iter().all(|node| {
                let info = cli(node.port, &["CLUSTER", "INFO"]);
                info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:6")
            }) && cluster.nodes.iter().all(|node| {
                let info = cli(node.port, &["INFO", "replication"]);
                info.contains("role:slave") && info.contains("master_link_status:up")
                    || info.contains("role:master") && info.contains("connected_slaves:1")
            });
            if ok {
                return Some(cluster);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn spawn(&self, port: u16) -> Child {
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes"])
            .arg("--cluster-config-file")
            .arg(self.dir.join(format!("nodes-{port}.conf")))
            .args(["--cluster-node-timeout", &NODE_TIMEOUT_MS.to_string()])
            // A replica may always take over (its data is seconds old at most here).
            .args(["--cluster-replica-validity-factor", "0"])
            .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run redis-server: {err}"))
    }

    /// Every node's `host:port`, killed ones included.
    pub fn nodes(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect()
    }

    fn alive(&self) -> impl Iterator<Item = u16> + '_ {
        self.nodes
            .iter()
            .filter(|node| node.child.is_some())
            .map(|node| node.port)
    }

    /// The hash slot of `key` (`CLUSTER KEYSLOT`).
    pub fn keyslot(&self, key: &str) -> u16 {
        let port = self.alive().next().expect("a live node");
        cli(port, &["CLUSTER", "KEYSLOT", key])
            .trim()
            .parse()
            .expect("CLUSTER KEYSLOT answers a number")
    }

    /// The port of the master serving `slot`, as the live nodes see it (`None` while they
    /// disagree or name no live master).
    pub fn master_of(&self, slot: u16) -> Option<u16> {
        let mut seen = None;
        for port in self.alive() {
            let owner = slot_owner(&cli(port, &["CLUSTER", "NODES"]), slot)?;
            if seen.is_some_and(|seen| seen != owner) {
                return None;
            }
            seen = Some(owner);
        }
        seen.filter(|owner| self.alive().any(|port| port == *owner))
    }

    /// Waits until the live nodes agree that a live master other than `old` serves
    /// `slot`; returns it.
    pub fn wait_new_master(&self, slot: u16, old: u16, timeout: Duration) -> u16 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(master) = self.master_of(slot).filter(|master| *master != old) {
                let role = cli(master, &["ROLE"]);
                if role.starts_with("master") {
                    return master;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no new master for slot {slot} within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The port of a replica of the master on `port`.
    pub fn replica_of(&self, master: u16) -> Option<u16> {
        let nodes = cli(master, &["CLUSTER", "NODES"]);
        let master_id = nodes
            .lines()
            .find(|line| line.contains("myself"))?
            .split_whitespace()
            .next()?
            .to_owned();
        nodes.lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() > 3 && fields[2].contains("slave") && fields[3] == master_id)
                .then(|| {
                    fields[1]
                        .split('@')
                        .next()?
                        .rsplit_once(':')?
                        .1
                        .parse()
                        .ok()
                })
                .flatten()
        })
    }

    /// Sends `signal` (`STOP`, `CONT`, ...) to the node on `port` (`kill -<signal>`).
    pub fn signal(&self, port: u16, signal: &str) {
        let node = self.nodes.iter().find(|node| node.port == port);
        let Some(pid) = node.and_then(|node| node.child.as_ref()).map(Child::id) else {
            return;
        };
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status();
        assert!(
            status.is_ok_and(|status| status.success()),
            "kill -{signal} {pid}"
        );
    }

    /// `kill -9` of the node on `port`.
    pub fn kill(&mut self, port: u16) {
        if let Some(node) = self.nodes.iter_mut().find(|node| node.port == port) {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// `redis-cli -p <port> <args>`'s output.
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        cli(port, args)
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The port of the master that `CLUSTER NODES` output says serves `slot`.
fn slot_owner(nodes: &str, slot: u16) -> Option<u16> {
    for line in nodes.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 9 || !fields[2].contains("master") || fields[2].contains("fail") {
            continue;
        }
        let serves = fields[8..].iter().any(|range| {
            let (from, to) = range.split_once('-').unwrap_or((range, range));
            match (from.parse::<u16>(), to.parse::<u16>()) {
                (Ok(from), Ok(to)) => (from..=to).contains(&slot),
                _ => false,
            }
        });
        if serves {
            let addr = fields[1].split('@').next()?;
            return addr.rsplit_once(':')?.1.parse().ok();
        }
    }
    None
}

fn cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .stderr(Stdio::null())
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default()
}

fn ping(port: u16) -> bool {
    cli(port, &["PING"]).trim() == "PONG"
}

/// `n` ports `p` where `p` and its cluster bus port `p + 10000` are both free.
fn cluster_ports(n: usize) -> Vec<u16> {
    // Each cluster of this process from its own start, so that two starting at once do
    // not pick the same ports.
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let mut ports = Vec::new();
    // Below the ephemeral range, so that `p + 10000` fits; a different start per process.
    let offset = NEXT.fetch_add(50, std::sync::atomic::Ordering::Relaxed) % 5000;
    let mut candidate =
        20000 + (u16::try_from(std::process::id() % 100).unwrap_or(0) * 50 + offset) % 9900;
    while ports.len() < n {
        candidate = if candidate >= 29990 {
            20000
        } else {
            candidate + 1
        };
        let free = |port: u16| TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free(candidate) && free(candidate + 10000) {
            ports.push(candidate);
        }
    }
    ports
}
