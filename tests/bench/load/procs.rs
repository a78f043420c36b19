//! Server processes: start one (pinned to its own core, killed with the driver), find
//! its resident memory, stop it; and the Python venv the FastAPI server runs from.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The cores the driver and the servers run on: the load generator on one, every server
/// on another, so that they never compete for a core and every server gets the same one.
#[derive(Clone, Copy, Debug)]
pub struct Pinning {
    pub server_cpu: Option<usize>,
    pub client_cpu: Option<usize>,
}

impl Pinning {
    /// "server on CPU 0, load generator on CPU 1", or "none", for the reports.
    pub fn describe(&self) -> String {
        match (self.server_cpu, self.client_cpu) {
            (Some(s), Some(c)) => format!("server on CPU {s}, load generator on CPU {c}"),
            _ => "none".to_owned(),
        }
    }

    /// Server on CPU 0, load generator on CPU 1, when there are at least two and pinning
    /// is on; otherwise no pinning.
    pub fn choose(enabled: bool) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        if enabled && cpus >= 2 {
            Self {
                server_cpu: Some(0),
                client_cpu: Some(1),
            }
        } else {
            Self {
                server_cpu: None,
                client_cpu: None,
            }
        }
    }
}

/// Restricts the calling thread (and what it spawns later) to `cpu`.
pub fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Open files the bench wants: 100,000 subscribers need 100,000 sockets on each side.
const FD_WANTED: u64 = 250_000;

/// Raises the limit of open files (the `ulimit -n` of the script) to `FD_WANTED`; see
/// [`raise_fd_limit_to`]. Returns the soft limit now in force.
pub fn raise_fd_limit() -> u64 {
    raise_fd_limit_to(FD_WANTED)
}

/// Raises the limit of open files to at least `wanted`: the hard limit where the process
/// may (root, or `CAP_SYS_RESOURCE`; at most `fs.nr_open`), then the soft limit to the
/// hard one. Children (the servers) inherit it. Returns the soft limit now in force.
pub fn raise_fd_limit_to(wanted: u64) -> u64 {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(wanted);
        if limit.rlim_max < wanted.min(nr_open) {
            let raised = libc::rlimit {
                rlim_cur: wanted.min(nr_open),
                rlim_max: wanted.min(nr_open),
            };
            // Fails without the privilege: the hard limit stays.
            libc::setrlimit(libc::RLIMIT_NOFILE, &raised);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur
    }
}

/// The listen backlog every Rust server uses: `net.core.somaxconn` (the kernel caps any
/// larger backlog to it), at least 1,024.
pub fn listen_backlog() -> i32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .unwrap_or(1_024)
        .max(1_024)
}

/// How to start one server.
#[derive(Clone, Debug)]
pub enum Launch {
    /// This executable, as `load serve NAME PORT`.
    Rust(&'static str),
    /// `python -m uvicorn app:app` from the bench venv.
    FastApi { python: PathBuf },
}

/// A running server; killed when dropped.
pub struct ServerProc {
    /// `None` for a server started by hand (`--attach`).
    child: Option<Child>,
    pub addr: SocketAddr,
}

impl ServerProc {
    pub fn start(launch: &Launch, pinning: Pinning) -> Result<Self, String> {
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let mut command = match launch {
            Launch::Rust(name) => {
                // `BENCH_SERVER_EXE`: the servers of another build of this bench (A/B runs
                // of a runtime change); by default this very executable.
                let exe = match std::env::var_os("BENCH_SERVER_EXE") {
                    Some(exe) => PathBuf::from(exe),
                    None => std::env::current_exe().map_err(|e| e.to_string())?,
                };
                let mut command = Command::new(exe);
                command.args(["serve", name, &port.to_string()]);
                command
            }
            Launch::FastApi { python } => {
                let mut command = Command::new(python);
                command.args(["-m", "uvicorn", "app:app", "--app-dir"]);
                command.arg(fastapi_dir());
                command.args([
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ]);
                command
            }
        };
        // The servers' own output (FastAPI logs a traceback for every client that leaves
        // mid-stream) goes to target/tmp/bench-logs/, not into the report.
        let logs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-logs");
        let _ = std::fs::create_dir_all(&logs);
        let log_name = match launch {
            Launch::Rust(name) => name.replace(' ', "-"),
            Launch::FastApi { .. } => "fastapi".to_owned(),
        };
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logs.join(format!("{log_name}.log")))
            .map_or_else(|_| Stdio::null(), Stdio::from);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        die_with_parent_on_cpu(&mut command, pinning.server_cpu);
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {launch:?}: {e}"))?;
        let mut server = Self {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        server.wait_ready(Duration::from_secs(60))?;
        Ok(server)
    }

    /// A server that is already running at `addr` (no memory figures).
    pub fn attach(addr: SocketAddr) -> Result<Self, String> {
        let mut server = Self { child: None, addr };
        server.wait_ready(Duration::from_secs(5))?;
        Ok(server)
    }

    fn wait_ready(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(format!("the server exited at start: {status}"));
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the server did not listen on {} in time",
                    self.addr
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's process id (`None` when attached).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Resident set size in KiB (`VmRSS` of `/proc/PID/status`).
    pub fn rss_kib(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// CPU time the server's threads have run (user and system, including the softirq
    /// work the kernel does in their context), from `/proc/PID/task/*/schedstat`.
    pub fn cpu_time(&self) -> Option<Duration> {
        let pid = self.child.as_ref()?.id();
        let mut total = 0u64;
        for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
        }
        Some(Duration::from_nanos(total))
    }

    /// SIGTERM, then SIGKILL if it has not exited within a second.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: signals our own child.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        self.terminate();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn fastapi_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("load/fastapi")
}

/// Creates (once) a venv under `target/` with the pinned FastAPI and uvicorn, and returns
/// its Python; `None`, after printing why, where Python or the packages are missing.
pub fn prepare_fastapi() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-venv");
    let python = venv.join("bin/python");
    let requirements = fastapi_dir().join("requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).ok()?;
    let marker = venv.join("installed-requirements.txt");
    if python.exists() && std::fs::read_to_string(&marker).ok().as_deref() == Some(&wanted) {
        return Some(python);
    }
    let Some(system_python) = ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }) else {
        eprintln!("NOTICE: no python3 on PATH: FastAPI is skipped");
        return None;
    };
    eprintln!("setting up the FastAPI venv in {} ...", venv.display());
    let created = Command::new(system_python)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success());
    let installed = created
        && Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements)
            .status()
            .is_ok_and(|s| s.success());
    if !installed {
        eprintln!(
            "NOTICE: cannot create the venv or install {}: FastAPI is skipped",
            requirements.display()
        );
        return None;
    }
    let _ = std::fs::write(&marker, wanted);
    Some(python)
}

/// Makes the child `command` starts die with this process (`PR_SET_PDEATHSIG`), and pins
/// it to `cpu` when given.
pub(crate) fn die_with_parent_on_cpu(command: &mut Command, cpu: Option<usize>) {
    // SAFETY: only async-signal-safe calls (prctl, sched_setaffinity) between fork and
    // exec.
    unsafe {
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if let Some(cpu) = cpu {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(cpu, &mut set);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
            }
            Ok(())
        });
    }
}
