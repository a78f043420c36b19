//! Fan-out through the Redis broadcast hub (`--scenarios fanout-redis`, part of the default
//! run).
//!
//! One more server, `ours + Redis`: our server with exactly the routes of `ours`, but its
//! hub is `Broadcast::redis` (feature `redis`) on a `redis-server` this bench starts on a
//! free loopback port (`--save '' --appendonly no`) and stops at the end of the run. It is
//! measured with the in-process fan-out's method (`scenarios::fan_out`: N subscribers on
//! `GET /fanout`, `GET /publish` publishes events stamped with their publication time,
//! latency = arrival − stamp), at the same subscriber counts, and only there: it sits out
//! every other scenario, and its figures fill a column of their own in the fan-out rows.
//! It also runs the fan-out to HTTP/2 streams (`--scenarios fanout-h2`, `fanout_h2.rs`)
//! whenever that runs; `--scenarios fanout-h2` alone starts Redis for it.
//! What it adds to the in-process path: the publish script's round trip to Redis, the
//! pub/sub hop back to the instance's reader task, and one JSON decode per event.
//!
//! `redis-server` runs on the servers' core (CPU 0 when pinning), so the server side —
//! app and Redis — gets one core and the load generator the other, as for every server.
//! Without `redis-server` on PATH the scenario is skipped with a notice.
//!
//! By hand: `BENCH_REDIS_URL=redis://127.0.0.1:6379/ load serve ours-redis PORT`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::options::{Options, Server};
use crate::procs::{Launch, Pinning};
use crate::scenarios::Scenario;
use crate::shared::{REDIS_SERVER as SERVER, REDIS_URL_ENV as URL_ENV};

/// Its key for `--servers` and `load serve`.
const KEY: &str = "ours-redis";
/// The scenario's key for `--scenarios`.
const SCENARIO: &str = "fanout-redis";
/// The h2c fan-out's key: `ours + Redis` runs it too, as a column of its own.
const H2_SCENARIO: &str = "fanout-h2";

/// The run's `redis-server`; stopped when dropped.
pub struct Redis {
    child: Child,
    port: u16,
    version: String,
    pinned: Option<usize>,
}

/// In the driver, before anything else runs (the server processes inherit the URL):
/// starts `redis-server` and adds `ours + Redis` to `servers` if the run wants the Redis
/// fan-out; `None` if it does not, or (after a notice) if `redis-server` is missing.
pub fn setup(
    options: &Options,
    pinning: Pinning,
    servers: &mut Vec<Server>,
) -> Result<Option<Redis>, String> {
    let fan_out = options.wants_scenario(SCENARIO) || options.wants_scenario(H2_SCENARIO);
    if options.attach.is_some() || !fan_out || !options.wants_server(KEY) {
        return Ok(None);
    }
    let version = match Command::new("redis-server").arg("--version").output() {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }
        _ => {
            eprintln!(
                "NOTICE: no redis-server on PATH: the Redis fan-out is skipped \
                 (apt-get install redis-server)"
            );
            return Ok(None);
        }
    };
    let redis = Redis::start(version, pinning.server_cpu)?;
    // Safe here: the driver has started no thread yet (the runtime is built afterwards).
    std::env::set_var(URL_ENV, format!("redis://127.0.0.1:{}/", redis.port));
    servers.push(Server {
        name: SERVER,
        launch: Some(Launch::Rust(SERVER)),
    });
    Ok(Some(redis))
}

/// Whether the HTTP/1.1 fan-out scenarios run for `ours + Redis` (it was set up, and
/// `fanout-redis` asked for: it may have been set up for `fanout-h2` alone).
pub fn runs_http1(redis: Option<&Redis>, options: &Options) -> bool {
    redis.is_some() && options.wants_scenario(SCENARIO)
}

/// Whether `server` sits `scenario` out, silently: `ours + Redis` runs the fan-outs only
/// (the HTTP/1.1 one if `fanout-redis` was asked for, the h2c one, `fanout-h2`, whenever
/// it runs), and the other servers run the HTTP/1.1 fan-out only if `fanout` was asked
/// for (with `--scenarios fanout-redis` alone it runs for `ours + Redis` only).
pub fn sits_out(server: &str, scenario: Scenario, options: &Options) -> bool {
    match scenario {
        Scenario::Fanout(_) if server == SERVER => !options.wants_scenario(SCENARIO),
        Scenario::Fanout(_) => !options.wants_scenario("fanout"),
        Scenario::FanoutH2(_) => false,
        _ => server == SERVER,
    }
}

impl Redis {
    fn start(version: String, cpu: Option<usize>) -> Result<Self, String> {
        let mut last_error = String::new();
        // A free port can be taken before redis-server binds it: try a few.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("no free port: {e}"))?
                .port();
            let mut command = Command::new("redis-server");
            command
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
                .arg("--dir")
                .arg(std::env::temp_dir())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            crate::procs::die_with_parent_on_cpu(&mut command, cpu);
            let child = command
                .spawn()
                .map_err(|e| format!("cannot run redis-server: {e}"))?;
            let mut redis = Self {
                child,
                port,
                version: version.clone(),
                pinned: cpu,
            };
            match redis.wait_ready() {
                Ok(()) => return Ok(redis),
                Err(err) => last_error = err,
            }
        }
        Err(format!("redis-server did not start: {last_error}"))
    }

    /// Waits until it answers `PING`.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited at start: {status}"));
            }
            if ping(self.port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("no answer to PING on port {}", self.port))
    }

    /// The lines the report adds to its "Run" section.
    pub fn describe(&self) -> String {
        let pinned = match self.pinned {
            Some(cpu) => format!("pinned to CPU {cpu} with the server under test"),
            None => "not pinned".to_owned(),
        };
        format!(
            "- `{SERVER}`: ours with the Redis broadcast hub (`Broadcast::redis`, default \
             config), fan-out rows only; {}, on 127.0.0.1:{} (`--save '' --appendonly no`), \
             {pinned}\n",
            self.version
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            self.port
        )
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: signals our own child.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `PING` over a plain connection: `+PONG` means the server is ready.
fn ping(port: u16) -> bool {
    let Ok(mut socket) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = socket.set_read_timeout(Some(Duration::from_millis(500)));
    if socket.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    socket.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}
