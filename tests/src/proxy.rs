//! Real reverse proxies (nginx, HAProxy, Caddy) started by the tests, each with its
//! configuration read verbatim from `docs/deploy.md` (the fenced block after a
//! `<!-- test:NAME -->` marker), only the placeholder addresses replaced by free loopback
//! ports; and the example processes behind them.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::tools;

/// A proxy the tests run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// nginx with the documented config (`test:nginx`).
    Nginx,
    /// nginx with a bare `proxy_pass` (`test:nginx-bare`), one upstream.
    NginxBare,
    /// HAProxy (`test:haproxy`).
    Haproxy,
    /// Caddy (`test:caddy`).
    Caddy,
}

impl Kind {
    /// The three documented proxies.
    pub const DOCUMENTED: [Kind; 3] = [Kind::Nginx, Kind::Haproxy, Kind::Caddy];

    /// Its name in the tests' output.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx",
            Kind::NginxBare => "nginx-bare",
            Kind::Haproxy => "haproxy",
            Kind::Caddy => "caddy",
        }
    }

    /// The program it runs.
    pub fn program(self) -> &'static str {
        match self {
            Kind::Nginx | Kind::NginxBare => "nginx",
            Kind::Haproxy => "haproxy",
            Kind::Caddy => "caddy",
        }
    }
}

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The fenced code block after `<!-- test:NAME -->` in `docs/deploy.md`, verbatim.
pub fn documented_block(name: &str) -> String {
    let path = root().join("docs/deploy.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    let marker = format!("<!-- test:{name} -->");
    let after = text
        .split_once(&marker)
        .unwrap_or_else(|| panic!("no {marker} in docs/deploy.md"))
        .1;
    let fence_start = after.find("```").expect("a fenced block after the marker");
    let body = &after[fence_start..];
    let body = &body[body.find('\n').expect("a fence line") + 1..];
    let end = body.find("\n```").expect("the fenced block ends");
    format!("{}\n", &body[..end])
}

/// `block` with the documented placeholders replaced: `127.0.0.1:8080` (or, for Caddy,
/// `:8080`) by the proxy's port, `127.0.0.1:8001` / `127.0.0.1:8002` by the instances'.
pub fn render(block: &str, listen: u16, upstreams: &[u16]) -> String {
    let mut text = block
        .replace("127.0.0.1:8001", "\u{1}A")
        .replace("127.0.0.1:8002", "\u{1}B")
        .replace("127.0.0.1:8080", "\u{1}P")
        .replace(":8080", "\u{1}p");
    let a = upstreams.first().copied().unwrap_or(0);
    let b = upstreams.get(1).copied().unwrap_or(a);
    text = text
        .replace("\u{1}A", &format!("127.0.0.1:{a}"))
        .replace("\u{1}B", &format!("127.0.0.1:{b}"))
        .replace("\u{1}P", &format!("127.0.0.1:{listen}"))
        .replace("\u{1}p", &format!(":{listen}"));
    text
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Sends `signal` (`TERM`, `KILL`, ...) to `pid`.
pub fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Waits up to `limit` for `child` to exit; its status, if it did.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if started.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until something accepts connections on `port` (up to `limit`).
pub fn wait_listening(port: u16, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A running proxy; stopped (and its directory removed) on drop.
#[derive(Debug)]
pub struct Proxy {
    /// Which one.
    pub kind: Kind,
    /// Its loopback port.
    pub port: u16,
    child: Child,
    dir: PathBuf,
}

impl Proxy {
    /// `true` when every program `kinds` need is on `PATH`; otherwise the notice (or,
    /// under CI, the failure) of [`tools::require`].
    pub fn available(kinds: &[Kind], suite: &str, command: &str) -> bool {
        kinds
            .iter()
            .all(|kind| tools::require(kind.program(), suite, command).is_some())
    }

    /// Starts `kind` on a free port in front of `upstreams` (one or two ports), with the
    /// documented config; waits until it accepts connections.
    pub fn start(kind: Kind, upstreams: &[u16]) -> Proxy {
        Self::start_with(kind, &documented_block(kind.name()), upstreams)
    }

    /// Like [`start`](Self::start), with `block` (a documented block) as its config.
    pub fn start_with(kind: Kind, block: &str, upstreams: &[u16]) -> Proxy {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sse-proxy-{}-{}-{}",
            std::process::id(),
            kind.name(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the proxy's directory");
        // A port may be taken between the probe and the bind: try a few.
        for _ in 0..5 {
            let port = free_port();
            let config = render(block, port, upstreams);
            let mut command = match kind {
                Kind::Nginx | Kind::NginxBare => nginx(&dir, &config),
                Kind::Haproxy => {
                    let file = dir.join("haproxy.cfg");
                    std::fs::write(&file, config).expect("write haproxy.cfg");
                    let mut command = Command::new("haproxy");
                    command.arg("-db").arg("-f").arg(&file);
                    command
                }
                Kind::Caddy => {
                    let file = dir.join("Caddyfile");
                    std::fs::write(&file, config).expect("write the Caddyfile");
                    let mut command = Command::new("caddy");
                    command
                        .args(["run", "--adapter", "caddyfile", "--config"])
                        .arg(&file)
                        .env("XDG_DATA_HOME", &dir)
                        .env("XDG_CONFIG_HOME", &dir)
                        .env("HOME", &dir);
                    command
                }
            };
            let log = std::fs::File::create(dir.join("proxy.log")).expect("create the log");
            let mut child = command
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|err| panic!("start {}: {err}", kind.program()));
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Proxy {
                        kind,
                        port,
                        child,
                        dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            eprintln!(
                "{} did not start on port {port}: {}",
                kind.name(),
                std::fs::read_to_string(dir.join("proxy.log")).unwrap_or_default()
            );
        }
        panic!("{} did not start", kind.name());
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the proxy logged so far.
    pub fn log(&self) -> String {
        let mut log = std::fs::read_to_string(self.dir.join("proxy.log")).unwrap_or_default();
        if let Ok(errors) = std::fs::read_to_string(self.dir.join("error.log")) {
            log.push_str(&errors);
        }
        log
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // nginx's master ends its workers on TERM (a KILL would leave them listening).
        signal(self.child.id(), "TERM");
        if wait_exit(&mut self.child, Duration::from_secs(5)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// nginx in the foreground with `site` included in a minimal main config whose paths
/// are all in `dir`.
fn nginx(dir: &Path, site: &str) -> Command {
    let site_file = dir.join("site.conf");
    std::fs::write(&site_file, site).expect("write site.conf");
    let d = dir.display();
    let main = format!(
        "pid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\n\
         worker_processes 1;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n\
         \x20   access_log off;\n\
         \x20   client_body_temp_path {d}/client_body;\n\
         \x20   proxy_temp_path {d}/proxy;\n\
         \x20   fastcgi_temp_path {d}/fastcgi;\n\
         \x20   uwsgi_temp_path {d}/uwsgi;\n\
         \x20   scgi_temp_path {d}/scgi;\n\
         \x20   include {d}/site.conf;\n\
         }}\n"
    );
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, main).expect("write nginx.conf");
    let mut command = Command::new("nginx");
    command
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(&conf)
        .args(["-g", "daemon off;"]);
    command
}

pub use crate::example_bin::example;

/// An example process serving on a given loopback port; SIGTERM, then SIGKILL, on drop.
#[derive(Debug)]
pub struct Instance {
    /// Its port.
    pub port: u16,
    child: Child,
}

impl Instance {
    /// Starts `exe` with `ADDR=127.0.0.1:PORT` and `env`, and waits for its
    /// `listening on` line.
    pub fn start(exe: &Path, port: u16, env: &[(&str, &str)]) -> Instance {
        let mut child = Command::new(exe)
            .env("ADDR", format!("127.0.0.1:{port}"))
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or("warn".into()),
            )
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("start {}: {err}", exe.display()));
        let mut first = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("read the first line");
        assert!(
            first.starts_with("listening on http://"),
            "{} printed {first:?}",
            exe.display()
        );
        Instance { port, child }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits for the exit (up to `limit`); the exit status.
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        signal(self.child.id(), "TERM");
        wait_exit(&mut self.child, limit)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            signal(self.child.id(), "TERM");
            if wait_exit(&mut self.child, Duration::from_secs(5)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}
