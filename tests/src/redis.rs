//! A redis-server of the test's own, on loopback or inside a network namespace
//! (`broadcast_redis`, `broker_faults`): empty, nothing persisted, on a free port.

use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running redis-server; killed when dropped.
pub struct RedisServer {
    /// `ip netns exec <ns>` first, if any.
    netns: Option<String>,
    host: Ipv4Addr,
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one on 127.0.0.1, or `None` to skip when redis-server is not installed (the
    /// rule of [`crate::tools`]: a failure under CI, a one-line notice elsewhere).
    pub fn start(suite: &str, command: &str) -> Option<Self> {
        crate::tools::require("redis-server", suite, command)?;
        Some(Self::start_on(None, Ipv4Addr::LOCALHOST))
    }

    /// Starts one bound to `host`, inside network namespace `netns` if given; the caller
    /// has checked that redis-server is installed.
    pub fn start_on(netns: Option<String>, host: Ipv4Addr) -> Self {
        for _ in 0..5 {
            let mut redis = Self {
                netns: netns.clone(),
                host,
                port: free_port(),
                child: None,
            };
            if redis.spawn() {
                return redis;
            }
        }
        panic!("could not start redis-server on a free port");
    }

    /// Its `redis://` URL.
    pub fn url(&self) -> String {
        format!("redis://{}:{}/", self.host, self.port)
    }

    /// Runs redis-server on the same address and port and waits until it answers PING;
    /// `false` if it exits or stays silent for 10 s (e.g. the port was taken meanwhile).
    pub fn spawn(&mut self) -> bool {
        let mut command = match &self.netns {
            Some(ns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", ns, "redis-server"]);
                command
            }
            None => Command::new("redis-server"),
        };
        command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", &self.host.to_string()])
            .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
            // Clients may come from outside a namespace: not loopback for Redis.
            .args(["--protected-mode", "no"])
            .arg("--dir")
            .arg(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => panic!("cannot run redis-server: {err}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if ping(self.host, self.port) {
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// `kill -9` (`Child::kill` is SIGKILL; `ip netns exec` execs redis-server itself).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills it and, after `downtime`, starts a fresh one (empty) on the same port.
    pub fn restart_after(&mut self, downtime: Duration) {
        self.kill();
        std::thread::sleep(downtime);
        assert!(
            self.spawn(),
            "redis-server did not come back on port {}",
            self.port
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// True when a Redis answers `PING` at `host:port` within 500 ms.
fn ping(host: Ipv4Addr, port: u16) -> bool {
    use std::io::{Read, Write};
    let addr = (host, port).into();
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}
