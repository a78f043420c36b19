//! HTTP/2 abuse and stalled readers, against a real server process
//! (`tests/abuse/server.rs`, binary `abuse-server`) over h2c and over TLS with ALPN `h2`:
//! rapid reset (CVE-2023-44487), "MadeYouReset" (CVE-2025-8671: frames that make the
//! server reset streams itself), CONTINUATION flood, PING and SETTINGS floods from a
//! client that never reads, hundreds of streams with a zero flow-control window, a
//! connection window that never opens, clients that stop reading, read a byte a second
//! or read slower than the stream, and stalled subscribers of a broadcast topic.
//!
//! The attacker writes HTTP/2 frames by hand (a few lines below: the frame header, and
//! the HPACK of a request with literal fields), so that it can do what no HTTP/2 library
//! lets a client do. Rapid reset, MadeYouReset and the CONTINUATION, PING and SETTINGS
//! floods are also driven by an independent HTTP/2 library, Python's `h2`
//! (`tests/abuse/h2_attacks.py`, run through `tests/abuse/h2_attacks.sh`, which installs
//! it into a venv on first use). For each
//! attack the suite checks that the attacker's connection is cut or its cost bounded,
//! reads the server's resident memory from `/proc/PID/status` before, during and after,
//! and times a well-behaved client's first event on another
//! connection before and during the attack. The bounds asserted are generous (a shared,
//! noisy 2-core machine); the measured figures are printed, and
//! `cargo test -p sse-tests --test it h2_abuse -- --nocapture --test-threads 1` shows
//! them (they are quoted in `docs/reliability.md`).

/// Every attack runs over h2c and over TLS: `name(transport) { body }` is the module
/// `name` with the tests `h2c` and `tls`, each running `body` with `transport` bound to
/// its `Transport`.
macro_rules! h2c_and_tls {
    ($name:ident($transport:ident) $body:block) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn h2c() {
                let $transport = Transport::H2c;
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn tls() {
                let $transport = Transport::Tls;
                $body
            }
        }
    };
}

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// The suite's tests take turns: each measures latencies and memory, which another
/// attack running at the same time would disturb.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The server's send timeout in this suite.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    H2c,
    Tls,
}

/// The `abuse-server` process; killed when dropped.
struct Server {
    child: Child,
    addr: std::net::SocketAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(transport: Transport, send_timeout: Duration) -> Self {
        Self::start_with(transport, send_timeout, &[])
    }

    /// [`Server::start`] with more environment variables (see `tests/abuse/server.rs`).
    fn start_with(transport: Transport, send_timeout: Duration, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_abuse-server"));
        command
            .envs(env.iter().copied())
            .env("SEND_TIMEOUT_MS", send_timeout.as_millis().to_string())
            .env(
                "RUST_LOG",
                std::env::var("ABUSE_LOG").unwrap_or_else(|_| "error".to_owned()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut tls = None;
        if transport == Transport::Tls {
            let generated =
                rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
            command
                .env("TLS_CERT_PEM", generated.cert.pem())
                .env("TLS_KEY_PEM", generated.signing_key.serialize_pem());
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(CertificateDer::from(generated.cert.der().to_vec()))
                .unwrap();
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
            tls = Some(Arc::new(config));
        }
        let mut child = command.spawn().expect("start abuse-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line was {line:?}"))
            .parse()
            .unwrap();
        Self { child, addr, tls }
    }

    /// The CPU time (user + system) the server has used so far, in 10 ms ticks.
    fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("read /proc/PID/stat");
        // After the command name in parentheses: state, then fields 4..; utime and
        // stime are fields 14 and 15, in clock ticks (100 a second on Linux).
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
            .split_whitespace()
            .collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_millis(ticks * 10)
    }

    /// The server's resident memory in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// A connection (TLS with `alpn` on an HTTPS server); with `recv_buffer`, the socket's
    /// receive buffer is that small (a client that stops reading stalls the server soon).
    async fn connect(&self, alpn: &[u8], recv_buffer: Option<u32>) -> Box<dyn Io> {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        let tcp = socket.connect(self.addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        match &self.tls {
            None => Box::new(tcp),
            Some(config) => {
                let mut config = (**config).clone();
                config.alpn_protocols = vec![alpn.to_vec()];
                let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
                let stream = connector
                    .connect(ServerName::try_from("localhost").unwrap(), tcp)
                    .await
                    .unwrap();
                assert_eq!(stream.get_ref().1.alpn_protocol(), Some(alpn));
                Box::new(stream)
            }
        }
    }

    /// An HTTP/2 connection (h2c prior knowledge, or TLS with ALPN `h2`) after the preface.
    async fn connect_h2(&self, recv_buffer: Option<u32>, settings: &[(u16, u32)]) -> Box<dyn Io> {
        let mut io = self.connect(b"h2", recv_buffer).await;
        let mut hello = PREFACE.to_vec();
        hello.extend(settings_frame(settings));
        io.write_all(&hello).await.unwrap();
        io
    }

    /// A well-behaved client: how long from connecting to the first event of `/ticker`
    /// (HTTP/1.1, on a connection of its own).
    async fn first_event(&self) -> Duration {
        let start = Instant::now();
        let mut io = self.connect(b"http/1.1", None).await;
        io.write_all(b"GET /ticker HTTP/1.1\r\nhost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        tokio::time::timeout(Duration::from_secs(20), async {
            while !contains(&seen, b"data:") {
                let n = io.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed before the first event");
                seen.extend_from_slice(&buf[..n]);
            }
        })
        .await
        .expect("a first event within 20 s");
        start.elapsed()
    }

    /// The first-event time of five well-behaved clients in a row: their median.
    async fn baseline(&self) -> Duration {
        let mut times = Vec::new();
        for _ in 0..5 {
            times.push(self.first_event().await);
        }
        times.sort();
        times[2]
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

// --- HTTP/2 frames, by hand -----------------------------------------------------------

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const WINDOW_UPDATE: u8 = 8;
const CONTINUATION: u8 = 9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 4;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap();
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend([kind, flags]);
    out.extend(stream.to_be_bytes());
    out.extend(payload);
    out
}

fn settings_frame(settings: &[(u16, u32)]) -> Vec<u8> {
    let payload: Vec<u8> = settings
        .iter()
        .flat_map(|(id, value)| id.to_be_bytes().into_iter().chain(value.to_be_bytes()))
        .collect();
    frame(SETTINGS, 0, 0, &payload)
}

/// An HPACK integer with an `prefix`-bit prefix, its first byte's other bits `flags`.
fn hpack_int(out: &mut Vec<u8>, flags: u8, prefix: u32, value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(flags | u8::try_from(value).unwrap());
        return;
    }
    out.push(flags | u8::try_from(max).unwrap());
    let mut rest = value - max;
    while rest >= 128 {
        out.push(u8::try_from(rest % 128).unwrap() | 0x80);
        rest /= 128;
    }
    out.push(u8::try_from(rest).unwrap());
}

/// The HPACK block of `GET path` (static-table `:method GET`, `:scheme`; `:path` and
/// `:authority` as literals without indexing, no Huffman coding).
fn request_block(path: &str) -> Vec<u8> {
    let mut block = vec![0x82, 0x87]; // :method GET, :scheme https (h2 ignores it for h2c)
    for (name_index, value) in [(4, path), (1, "localhost")] {
        hpack_int(&mut block, 0x00, 4, name_index);
        hpack_int(&mut block, 0x00, 7, value.len());
        block.extend(value.as_bytes());
    }
    block
}

fn get(stream: u32, path: &str) -> Vec<u8> {
    frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        stream,
        &request_block(path),
    )
}

/// What the server sent on an attacker's connection, read by a task of its own.
#[derive(Default)]
struct Received {
    bytes: AtomicU64,
    /// `GOAWAY`'s error code and debug data, once one came.
    goaway: std::sync::Mutex<Option<(u32, String)>>,
    /// How many `RST_STREAM` frames the server sent, and how many of them were
    /// `REFUSED_STREAM` (a stream over `h2_max_concurrent_streams`).
    resets: AtomicU64,
    refused: AtomicU64,
    closed: AtomicBool,
}

/// Reads and parses frames until the connection closes.
fn drain(mut reader: tokio::io::ReadHalf<Box<dyn Io>>) -> Arc<Received> {
    let received = Arc::new(Received::default());
    let out = Arc::clone(&received);
    tokio::spawn(async move {
        let mut pending = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            out.bytes.fetch_add(n as u64, Ordering::Relaxed);
            pending.extend_from_slice(&buf[..n]);
            while pending.len() >= 9 {
                let len = usize::from(pending[0]) << 16
                    | usize::from(pending[1]) << 8
                    | usize::from(pending[2]);
                if pending.len() < 9 + len {
                    break;
                }
                if pending[3] == GOAWAY && len >= 8 {
                    let code = u32::from_be_bytes(pending[13..17].try_into().unwrap());
                    let debug = String::from_utf8_lossy(&pending[17..9 + len]).into_owned();
                    *out.goaway.lock().unwrap() = Some((code, debug));
                }
                if pending[3] == RST_STREAM {
                    out.resets.fetch_add(1, Ordering::Relaxed);
                    if len == 4 && pending[9..13] == REFUSED_STREAM.to_be_bytes() {
                        out.refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
                pending.drain(..9 + len);
            }
        }
        out.closed.store(true, Ordering::SeqCst);
    });
    received
}

/// What an attack did and cost.
struct Report {
    name: String,
    /// Frames (or requests) written before the attack stopped.
    sent: u64,
    /// When the server cut the attacker off, from the attack's start.
    cut_after: Option<Duration>,
    goaway: Option<u32>,
    /// `GOAWAY`'s debug data (h2 names its guard there, e.g. `too_many_internal_resets`).
    goaway_debug: Option<String>,
    /// How many `RST_STREAM` frames came from the server, when counted (a lower bound of
    /// the streams it reset: h2 drops those still queued when it sends `GOAWAY`).
    server_resets: Option<u64>,
    /// How many of those were `REFUSED_STREAM`, when counted.
    server_refused: Option<u64>,
    /// The server's CPU time (user + system, 10 ms ticks) from the attack's start to its
    /// end, the well-behaved clients' requests included.
    server_cpu: Duration,
    rss_before_kib: u64,
    rss_peak_kib: u64,
    rss_after_kib: u64,
    baseline: Duration,
    during: Vec<Duration>,
}

impl Report {
    fn worst(&self) -> Duration {
        self.during.iter().copied().max().unwrap_or_default()
    }

    fn median(&self) -> Duration {
        let mut sorted = self.during.clone();
        sorted.sort();
        sorted.get(sorted.len() / 2).copied().unwrap_or_default()
    }

    fn print(&self) {
        let cut = self.cut_after.map_or("not cut".to_owned(), |after| {
            format!("cut after {after:.2?}")
        });
        let mut goaway = self
            .goaway
            .map_or(String::new(), |code| format!(", GOAWAY code {code:#x}"));
        if let Some(debug) = self.goaway_debug.as_deref().filter(|d| !d.is_empty()) {
            goaway.push_str(&format!(" ({debug})"));
        }
        if let Some(resets) = self.server_resets {
            goaway.push_str(&format!(", {resets} RST_STREAM received"));
        }
        if let Some(refused) = self.server_refused.filter(|&n| n > 0) {
            goaway.push_str(&format!(" ({refused} REFUSED_STREAM)"));
        }
        println!(
            "h2_abuse {}: {} frames/requests sent, {cut}{goaway}; server CPU {:?}; server RSS {:.1} -> peak {:.1} -> {:.1} MiB; \
             well-behaved first event: baseline {:.1?}, during the attack median {:.1?}, worst {:.1?} ({} clients)",
            self.name,
            self.sent,
            self.server_cpu,
            kib_to_mib(self.rss_before_kib),
            kib_to_mib(self.rss_peak_kib),
            kib_to_mib(self.rss_after_kib),
            self.baseline,
            self.median(),
            self.worst(),
            self.during.len(),
        );
    }

    /// The assertions every attack shares: memory bounded, the well-behaved client served
    /// promptly during the attack, and the server still serving after it.
    fn assert_bounded(&self, max_growth_mib: u64) {
        self.print();
        let growth = self.rss_peak_kib.saturating_sub(self.rss_before_kib);
        assert!(
            growth < max_growth_mib * 1024,
            "{}: server RSS grew by {growth} KiB during the attack",
            self.name
        );
        assert!(
            !self.during.is_empty(),
            "{}: no client measured during the attack",
            self.name
        );
        // Generous: the machine is shared and the attacker runs on it too. Typical
        // figures are a few milliseconds (see the printed line).
        let bound = (self.baseline * 50).max(Duration::from_millis(1500));
        assert!(
            self.worst() < bound,
            "{}: a well-behaved client waited {:?} for its first event (baseline {:?})",
            self.name,
            self.worst(),
            self.baseline
        );
    }
}

#[allow(clippy::cast_precision_loss)]
fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Runs an attack on `io` for at most `budget`: `next` appends the frames of its `i`th
/// batch. With `read`, a task reads (and parses) everything the server sends; without,
/// nothing is ever read. Meanwhile well-behaved clients time their first event one
/// after the other and the server's RSS is sampled.
async fn attack(
    server: &Server,
    name: &str,
    io: Box<dyn Io>,
    read: bool,
    budget: Duration,
    mut next: impl FnMut(u64, &mut Vec<u8>) -> u64 + Send + 'static,
) -> Report {
    let baseline = server.baseline().await;
    let rss_before_kib = server.rss_kib();
    let cpu_before = server.cpu_time();
    let (reader, mut writer) = tokio::io::split(io);
    // Without `read`, the read half is held (never read) until the attack ends.
    let (received, unread) = if read {
        (Some(drain(reader)), None)
    } else {
        (None, Some(reader))
    };
    let closed = received.clone();
    let start = Instant::now();
    let attacker = tokio::spawn(async move {
        let mut sent = 0;
        let mut batch = Vec::new();
        let mut cut_after = None;
        for i in 0.. {
            if closed
                .as_ref()
                .is_some_and(|r| r.closed.load(Ordering::SeqCst))
            {
                cut_after = Some(start.elapsed());
                break;
            }
            let Some(left) = budget.checked_sub(start.elapsed()) else {
                break;
            };
            batch.clear();
            sent += next(i, &mut batch);
            if batch.is_empty() {
                // Nothing more to send: hold the connection.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            match tokio::time::timeout(left, writer.write_all(&batch)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => {
                    cut_after = Some(start.elapsed());
                    break;
                }
                // Still blocked at the end of the budget: not cut.
                Err(_) => break,
            }
            tokio::task::yield_now().await;
        }
        drop(unread);
        (sent, cut_after, writer)
    });
    let mut during = Vec::new();
    let mut rss_peak_kib = rss_before_kib;
    // At least one well-behaved client while the attack runs (it may be cut at once).
    loop {
        during.push(server.first_event().await);
        if attacker.is_finished() {
            break;
        }
        rss_peak_kib = rss_peak_kib.max(server.rss_kib());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (sent, cut_after, writer) = attacker.await.unwrap();
    rss_peak_kib = rss_peak_kib.max(server.rss_kib());
    let (goaway, goaway_debug) = received
        .as_ref()
        .and_then(|r| r.goaway.lock().unwrap().clone())
        .unzip();
    let server_resets = received.as_ref().map(|r| r.resets.load(Ordering::Relaxed));
    let server_refused = received.as_ref().map(|r| r.refused.load(Ordering::Relaxed));
    let server_cpu = server.cpu_time().saturating_sub(cpu_before);
    drop(writer);
    // The server keeps serving once the attacker is gone.
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.first_event().await;
    Report {
        name: name.to_owned(),
        sent,
        cut_after,
        goaway,
        goaway_debug,
        server_resets,
        server_refused,
        server_cpu,
        rss_before_kib,
        rss_peak_kib,
        rss_after_kib: server.rss_kib(),
        baseline,
        during,
    }
}

const ENHANCE_YOUR_CALM: u32 = 0xb;
const REFUSED_STREAM: u32 = 0x7;

// --- the attacks ----------------------------------------------------------------------

/// Rapid reset: HEADERS then RST_STREAM, 100 streams per write, as fast as the socket
/// takes them. h2 counts the streams reset before the server accepted them
/// (`h2_max_pending_accept_reset_streams`, 20) and answers `GOAWAY`.
async fn rapid_reset(transport: Transport) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = Server::start(transport, SEND_TIMEOUT);
    let io = server.connect_h2(None, &[]).await;
    let report = attack(
        &server,
        &format!("rapid reset ({transport:?})"),
        io,
        true,
        Duration::from_secs(3),
        |i, batch| {
            for k in 0..100u32 {
                let stream = u32::try_from(i % 10_000_000).unwrap() * 200 + 2 * k + 1;
                batch.extend(get(stream, "/ticker"));
                batch.extend(frame(RST_STREAM, 0, stream, &8u32.to_be_bytes()));
            }
            100
        },
    )
    .await;
    report.assert_bounded(32);
    assert!(
        report.cut_after.is_some(),
        "the rapid-reset connection was not cut"
    );
    if let Some(code) = report.goaway {
        assert_eq!(code, ENHANCE_YOUR_CALM, "GOAWAY's error code");
    }
}

/// Rapid reset from an attacker that reconnects as soon as it is cut, for 3 s: each
/// connection is cut the same way, the server's memory stays flat, and a well-behaved
/// client is served throughout.
async fn sustained_rapid_reset(transport: Transport) {
    sustained(transport, "rapid reset", |stream, batch| {
        batch.extend(get(stream, "/ticker"));
        batch.extend(frame(RST_STREAM, 0, stream, &8u32.to_be_bytes()));
    })
    .await;
}

/// An attack from an attacker that reconnects as soon as it is cut, for 3 s: `open`
/// appends the frames of one stream (100 streams a write). Each connection must be cut.
async fn sustained(transport: Transport, attack: &str, open: fn(u32, &mut Vec<u8>)) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = Arc::new(Server::start(transport, SEND_TIMEOUT));
    let baseline = server.baseline().await;
    let rss_before = server.rss_kib();
    let cpu_before = server.cpu_time();
    let attacker = {
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            let start = Instant::now();
            let (mut connections, mut cut, mut streams) = (0u64, 0u64, 0u64);
            while start.elapsed() < Duration::from_secs(3) {
                let io = server.connect_h2(None, &[]).await;
                connections += 1;
                let (reader, mut writer) = tokio::io::split(io);
                let received = drain(reader);
                let mut batch = Vec::new();
                for i in 0u32.. {
                    if received.closed.load(Ordering::SeqCst) {
                        cut += 1;
                        break;
                    }
                    if start.elapsed() >= Duration::from_secs(3) || i >= 10_000_000 {
                        break;
                    }
                    batch.clear();
                    for k in 0..100u32 {
                        open(i * 200 + 2 * k + 1, &mut batch);
                    }
                    if writer.write_all(&batch).await.is_err() {
                        cut += 1;
                        break;
                    }
                    streams += 100;
                    tokio::task::yield_now().await;
                }
            }
            (connections, cut, streams, start.elapsed())
        })
    };
    let mut during = Vec::new();
    let mut rss_peak = rss_before;
    loop {
        during.push(server.first_event().await);
        rss_peak = rss_peak.max(server.rss_kib());
        if attacker.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (connections, cut, streams, elapsed) = attacker.await.unwrap();
    let report = Report {
        name: format!(
            "sustained {attack}, {connections} connections, {cut} cut, \
             times below per connection on average ({transport:?})"
        ),
        sent: streams,
        cut_after: Some(elapsed / u32::try_from(connections.max(1)).unwrap_or(u32::MAX)),
        goaway: None,
        goaway_debug: None,
        server_resets: None,
        server_refused: None,
        server_cpu: server.cpu_time().saturating_sub(cpu_before),
        rss_before_kib: rss_before,
        rss_peak_kib: rss_peak,
        rss_after_kib: server.rss_kib(),
        baseline,
        during,
    };
    report.assert_bounded(32);
    assert!(
        cut + 1 >= connections && connections > 1,
        "{cut} of {connections} {attack} connections cut"
    );
}

h2c_and_tls! {
    a_reconnecting_rapid_reset_attacker_is_cut_every_time(transport) {
        sustained_rapid_reset(transport).await;
    }
}

/// How a "MadeYouReset" attacker (CVE-2025-8671) makes the server reset the stream it
/// has just opened with `GET /ticker`: a frame that is an error on that stream, so that
/// it is the server, not the client, that sends `RST_STREAM`. Rapid reset's guard counts
/// the client's resets; this attack is answered by `h2_max_local_error_reset_streams`
/// (h2 counts every stream it resets itself on a connection, and never forgets one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LocalError {
    /// `WINDOW_UPDATE` of 2^31 - 1 on the stream: the server's send window overflows
    /// (stream error `FLOW_CONTROL_ERROR`).
    WindowOverflow,
    /// A `connection: close` field in the request, malformed in HTTP/2 (stream error
    /// `PROTOCOL_ERROR`).
    ConnectionHeader,
    /// `content-length: 1` and no `END_STREAM` on the HEADERS, then 2 bytes of DATA
    /// (stream error `PROTOCOL_ERROR`).
    ContentLength,
    /// `WINDOW_UPDATE` with increment 0 on the stream: a stream error by RFC 9113, which
    /// h2 treats as a connection error (`GOAWAY` `PROTOCOL_ERROR` at the first one).
    ZeroWindowIncrement,
    /// DATA on the stream after the request's `END_STREAM` (half-closed): a stream error
    /// (`STREAM_CLOSED`) by RFC 9113, a connection error in h2.
    DataAfterEndStream,
}

const PROTOCOL_ERROR: u32 = 0x1;

impl LocalError {
    /// Appends the frames of one stream.
    fn open(self, stream: u32, batch: &mut Vec<u8>) {
        match self {
            Self::WindowOverflow => {
                batch.extend(get(stream, "/ticker"));
                batch.extend(frame(
                    WINDOW_UPDATE,
                    0,
                    stream,
                    &0x7fff_ffffu32.to_be_bytes(),
                ));
            }
            Self::ConnectionHeader => {
                let mut block = request_block("/ticker");
                block.extend([0x00, 10]);
                block.extend(b"connection");
                block.extend([5]);
                block.extend(b"close");
                batch.extend(frame(HEADERS, END_HEADERS | END_STREAM, stream, &block));
            }
            Self::ContentLength => {
                let mut block = request_block("/ticker");
                // content-length (static table 28), literal without indexing.
                hpack_int(&mut block, 0x00, 4, 28);
                block.extend([1, b'1']);
                batch.extend(frame(HEADERS, END_HEADERS, stream, &block));
                batch.extend(frame(DATA, END_STREAM, stream, b"xx"));
            }
            Self::ZeroWindowIncrement => {
                batch.extend(get(stream, "/ticker"));
                batch.extend(frame(WINDOW_UPDATE, 0, stream, &0u32.to_be_bytes()));
            }
            Self::DataAfterEndStream => {
                batch.extend(get(stream, "/ticker"));
                batch.extend(frame(DATA, 0, stream, b"x"));
            }
        }
    }

    /// Whether h2 answers with a stream reset (counted) rather than a connection error.
    fn is_stream_error(self) -> bool {
        matches!(
            self,
            Self::WindowOverflow | Self::ConnectionHeader | Self::ContentLength
        )
    }
}

/// An attacker's `next` for [`attack`] that opens 100 streams per write (`open(stream id,
/// batch)`, ids 1, 3, 5, ...) and pauses every other write (20 ms) for the server's answers
/// to the last 100, so that at most ~200 of them are open at once.
fn paced(
    mut open: impl FnMut(u32, &mut Vec<u8>) + Send + 'static,
) -> impl FnMut(u64, &mut Vec<u8>) -> u64 + Send + 'static {
    move |i, batch| {
        if i % 2 == 1 {
            return 0;
        }
        let first = u32::try_from((i / 2) % 10_000_000).unwrap() * 200 + 1;
        for k in 0..100u32 {
            open(first + 2 * k, batch);
        }
        100
    }
}

/// MadeYouReset: 100 streams a write, each made to fail by `how`, then a 20 ms pause,
/// reading everything.
/// A stream error is reset by the server and counted: after
/// `h2_max_local_error_reset_streams` (1,024) resets on the connection, `GOAWAY`
/// `ENHANCE_YOUR_CALM` ("too_many_internal_resets") and close. The variants h2 treats as
/// connection errors are cut with `GOAWAY` `PROTOCOL_ERROR` at the first stream.
async fn made_you_reset(transport: Transport, how: LocalError) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = Server::start(transport, SEND_TIMEOUT);
    let io = server.connect_h2(None, &[]).await;
    let report = attack(
        &server,
        &format!("MadeYouReset by {how:?} ({transport:?})"),
        io,
        true,
        Duration::from_secs(3),
        // Paced: without the pauses, more than 256 streams are open at once (hyper holds
        // a reset stream until it has dropped the request), and the refused ones
        // (`REFUSED_STREAM`, counted by the same limit) would be part of what trips it.
        paced(move |stream, batch| how.open(stream, batch)),
    )
    .await;
    report.assert_bounded(32);
    let cut = report
        .cut_after
        .unwrap_or_else(|| panic!("the MadeYouReset ({how:?}) connection was not cut"));
    assert!(cut < Duration::from_secs(2), "cut only after {cut:?}");
    let resets = report.server_resets.unwrap_or_default();
    if how.is_stream_error() {
        // The GOAWAY may be lost when the server closes with unread frames (a TCP RST).
        if let Some(code) = report.goaway {
            assert_eq!(code, ENHANCE_YOUR_CALM, "GOAWAY's error code");
            assert_eq!(
                report.goaway_debug.as_deref(),
                Some("too_many_internal_resets")
            );
            // The server resets 1,024 streams before its GOAWAY; the client sees fewer
            // `RST_STREAM`s (h2 drops those still queued when it goes away), and (paced)
            // next to none of them are refusals.
            let refused = report.server_refused.unwrap_or_default();
            assert!(
                report.sent >= 1024 && resets <= 1024 && refused * 2 < resets,
                "{} streams sent, {resets} reset by the server before its GOAWAY, \
                 {refused} of them refused",
                report.sent
            );
        }
    } else {
        if let Some(code) = report.goaway {
            assert_eq!(code, PROTOCOL_ERROR, "GOAWAY's error code");
        }
        assert_eq!(resets, 0, "streams reset by the server");
    }
}

h2c_and_tls! {
    made_you_reset_by_window_overflow_is_cut_with_goaway(transport) {
        made_you_reset(transport, LocalError::WindowOverflow).await;
    }
}

h2c_and_tls! {
    made_you_reset_by_a_connection_header_is_cut_with_goaway(transport) {
        made_you_reset(transport, LocalError::ConnectionHeader).await;
    }
}

h2c_and_tls! {
    made_you_reset_by_content_length_is_cut_with_goaway(transport) {
        made_you_reset(transport, LocalError::ContentLength).await;
    }
}

h2c_and_tls! {
    stream_errors_h2_treats_as_connection_errors_are_cut_at_once(transport) {
        made_you_reset(transport, LocalError::ZeroWindowIncrement).await;
        made_you_reset(transport, LocalError::DataAfterEndStream).await;
    }
}

/// The one way found to make the server reset streams that h2 (0.4.20) does not count
/// toward `h2_max_local_error_reset_streams`: a request whose header list is over
/// `max_header_bytes` (64 KiB decoded) but under h2's abuse limit (4 ×), its body still
/// open (no `END_STREAM`), is answered by h2 itself with `431` (`END_STREAM`) and then an
/// "implicit" `RST_STREAM` (`PROTOCOL_ERROR`), scheduled outside the counter; it never
/// reaches hyper or the application. With HPACK's dynamic table such a request is about
/// 40 bytes on the wire: one 4,000-byte field inserted by the first request, then
/// referenced 17 times by each (68,561 bytes decoded). 100 requests a write, then a
/// 20 ms pause, reading everything. The pause matters: such a stream holds its
/// concurrency slot until h2 has written its answer, and an attacker that does not wait
/// soon has 256 open, is refused further streams (`REFUSED_STREAM`, which h2 does count)
/// and is cut after 1,024 refusals. One that waits is not cut (a finding, in
/// `docs/reliability.md`): the test checks that the server did reset the streams (more
/// than the limit: uncounted) and bounds the cost, the server's memory and a
/// well-behaved client's first event; it prints the rate and the server's CPU time.
/// With `oversized` false, the same pace of ordinary requests (`GET /firehoses`, a
/// one-line answer from the application), for comparison.
async fn oversized_header_lists(transport: Transport, oversized: bool) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = Server::start(transport, SEND_TIMEOUT);
    let io = server.connect_h2(None, &[]).await;
    let name = if oversized {
        format!(
            "431 + RST_STREAM for header lists over 64 KiB, from HPACK references ({transport:?})"
        )
    } else {
        format!("ordinary requests at the same pace, for comparison ({transport:?})")
    };
    let report = attack(
        &server,
        &name,
        io,
        true,
        Duration::from_secs(3),
        paced(move |stream, batch| {
            if !oversized {
                batch.extend(get(stream, "/firehoses"));
                return;
            }
            let mut block = request_block("/ticker");
            let mut references = 17;
            if stream == 1 {
                // `x: a...` (4,000 bytes), literal with incremental indexing: dynamic
                // table entry 62 (32 + 1 + 4,000 bytes, within the 4,096 default).
                block.extend([0x40, 0x01, b'x']);
                hpack_int(&mut block, 0x00, 7, 4000);
                block.extend(std::iter::repeat_n(b'a', 4000));
                references -= 1;
            }
            block.extend(std::iter::repeat_n(0x80 | 62, references));
            batch.extend(frame(HEADERS, END_HEADERS, stream, &block));
        }),
    )
    .await;
    report.assert_bounded(32);
    if !oversized {
        assert!(report.cut_after.is_none(), "ordinary requests were cut");
        return;
    }
    let resets = report.server_resets.unwrap_or_default();
    #[allow(clippy::cast_precision_loss)]
    let per_second = resets as f64
        / report
            .cut_after
            .unwrap_or(Duration::from_secs(3))
            .as_secs_f64();
    println!(
        "h2_abuse 431 + RST_STREAM ({transport:?}): {resets} streams reset by the server \
         ({per_second:.0} a second), {}, server CPU {:?} during the attack",
        report
            .cut_after
            .map_or("not cut".to_owned(), |after| format!(
                "cut after {after:.2?}"
            )),
        report.server_cpu,
    );
    // More resets than the limit and not cut: uncounted (h2 0.4.20). Should h2 start
    // counting them, the connection is cut instead: both are accepted, the line above
    // says which.
    if report.cut_after.is_none() {
        assert!(resets > 1024, "only {resets} streams reset by the server");
    } else {
        assert_eq!(
            report.goaway,
            Some(ENHANCE_YOUR_CALM),
            "GOAWAY's error code"
        );
    }
}

h2c_and_tls! {
    oversized_header_lists_make_the_server_reset_streams_uncounted_at_a_bounded_cost(transport) {
        oversized_header_lists(transport, true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordinary_requests_at_the_same_pace_cost_the_same_h2c() {
    oversized_header_lists(Transport::H2c, false).await;
}

/// MadeYouReset (window overflow) from an attacker that reconnects as soon as it is cut,
/// for 3 s: each connection costs the server 1,024 streams opened and reset, then is cut.
async fn sustained_made_you_reset(transport: Transport) {
    sustained(transport, "MadeYouReset", |stream, batch| {
        LocalError::WindowOverflow.open(stream, batch);
    })
    .await;
}

h2c_and_tls! {
    a_reconnecting_made_you_reset_attacker_is_cut_every_time(transport) {
        sustained_made_you_reset(transport).await;
    }
}

h2c_and_tls! {
    rapid_reset_is_cut_with_goaway(transport) {
        rapid_reset(transport).await;
    }
}

/// CONTINUATION flood: a HEADERS frame without END_HEADERS whose block starts a 16 MiB
/// header value, then endless 16 KiB CONTINUATION frames. h2 bounds a header block by
/// `max_header_bytes` and its CONTINUATION frames by a count derived from it.
async fn continuation_flood(transport: Transport) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = Server::start(transport, SEND_TIMEOUT);
    let io = server.connect_h2(None, &[]).await;
    let filler = vec![b'a'; 16 * 1024];
    let report = attack(
        &server,
        &format!("CONTINUATION flood ({transport:?})"),
        io,
        true,
        Duration::from_secs(3),
        move |i, batch| {
            if i == 0 {
                let mut block = request_block("/ticker");
                // A literal field, new name `x`, whose value says it is 16 MiB long.
                block.extend([0x00, 0x01, b'x']);
                hpack_int(&mut block, 0x00, 7, 16 << 20);
                batch.extend(frame(HEADERS, END_STREAM, 1, &block));
            }
            for _ in 0..8 {
                batch.extend(frame(CONTINUATION, 0, 1, &filler));
            }
            8
        },
    )
    .await;
    report.assert_bounded(32);
    let cut = report
        .cut_after
        .expect("the CONTINUATION flood was not cut");
    assert!(cut < Duration::from_secs(2), "cut only after {cut:?}");
}

h2c_and_tls! {
    continuation_flood_is_cut_with_goaway(transport) {
        continuation_flood(transport).await;
    }
}

/// A flood of frames that each need an answer (PING: a PING ACK; SETTINGS: a SETTINGS
/// ACK), from a client that never reads: the answers fill its socket, the server's
/// writes block, and the send timeout cuts the connection. h2 keeps at most one answer
/// pending and stops reading meanwhile, so the flood costs no memory.
async fn answer_flood(transport: Transport, kind: u8) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = Server::start(transport, SEND_TIMEOUT);
    let io = server.connect_h2(Some(4096), &[]).await;
    let name = if kind == PING { "PING" } else { "SETTINGS" };
    let one = if kind == PING {
        frame(PING, 0, 0, &[7; 8])
    } else {
        settings_frame(&[(SETTINGS_INITIAL_WINDOW_SIZE, 65_535)])
    };
    let report = attack(
        &server,
        &format!("{name} flood, never reading ({transport:?})"),
        io,
        false,
        Duration::from_secs(6),
        move |_, batch| {
            for _ in 0..1000 {
                batch.extend(&one);
            }
            1000
        },
    )
    .await;
    report.assert_bounded(32);
    let cut = report
        .cut_after
        .unwrap_or_else(|| panic!("the {name} flood was not cut"));
    assert!(
        cut < SEND_TIMEOUT + Duration::from_secs(4),
        "cut only after {cut:?}"
    );
}

h2c_and_tls! {
    a_ping_flood_that_never_reads_is_cut_by_the_send_timeout(transport) {
        answer_flood(transport, PING).await;
    }
}

h2c_and_tls! {
    a_settings_flood_that_never_reads_is_cut_by_the_send_timeout(transport) {
        answer_flood(transport, SETTINGS).await;
    }
}

// --- the same attacks from an independent HTTP/2 library -----------------------------

/// `tests/abuse/h2_attacks.sh`: rapid reset, PING, SETTINGS and CONTINUATION floods and
/// MadeYouReset driven by the Python `h2` library (pinned in `tests/abuse/requirements.txt`, installed into a venv under the
/// target dir on first use), so that the server is also attacked by an HTTP/2
/// implementation that shares nothing with this file's hand-written frames.
fn h2_attacks_script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("abuse/h2_attacks.sh")
}

/// Prepares the Python `h2` venv; false (after the rule of `sse_tests::tools`: a failure
/// under CI, a notice elsewhere) when it cannot be installed here.
fn python_h2_available() -> bool {
    let suite = "the Python h2 attacks of h2_abuse (tests/abuse/h2_attacks.sh)";
    let command = "apt-get install python3-venv && cargo test -p sse-tests --test it h2_abuse";
    match Command::new("bash")
        .arg(h2_attacks_script())
        .arg("--install")
        .output()
    {
        Ok(output) if output.status.success() => true,
        Ok(output) if output.status.code() == Some(3) => {
            let text = String::from_utf8_lossy(&output.stderr);
            let why = text.lines().last().unwrap_or("cannot install h2");
            sse_tests::tools::missing(suite, why, command);
            false
        }
        Ok(output) => panic!(
            "h2_attacks.sh --install failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(err) => {
            sse_tests::tools::missing(suite, &format!("cannot run bash: {err}"), command);
            false
        }
    }
}

/// Runs `attack` of `h2_attacks.py` against a fresh server for at most `budget`,
/// with the measurements of [`attack`]: well-behaved clients' first events one after the
/// other while it runs, and the server's RSS. `None` when Python `h2` is unavailable
/// (outside CI).
async fn python_attack(transport: Transport, attack: &str, budget: Duration) -> Option<Report> {
    if !python_h2_available() {
        return None;
    }
    let server = Server::start(transport, SEND_TIMEOUT);
    let baseline = server.baseline().await;
    let rss_before_kib = server.rss_kib();
    let cpu_before = server.cpu_time();
    let mut child = Command::new("bash")
        .arg(h2_attacks_script())
        .arg(attack)
        .arg(server.addr.ip().to_string())
        .arg(server.addr.port().to_string())
        .arg(budget.as_secs_f64().to_string())
        .args((transport == Transport::Tls).then_some("tls"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run h2_attacks.sh");
    let mut during = Vec::new();
    let mut rss_peak_kib = rss_before_kib;
    loop {
        during.push(server.first_event().await);
        if child.try_wait().unwrap().is_some() {
            break;
        }
        rss_peak_kib = rss_peak_kib.max(server.rss_kib());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "h2_attacks.py {attack} failed");
    let result: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("h2_attacks.py's JSON report");
    rss_peak_kib = rss_peak_kib.max(server.rss_kib());
    let server_cpu = server.cpu_time().saturating_sub(cpu_before);
    // The server keeps serving once the attacker is gone.
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.first_event().await;
    Some(Report {
        name: format!("{attack} from Python h2 ({transport:?})"),
        sent: result["sent"].as_u64().expect("sent"),
        cut_after: result["cut_after"].as_f64().map(Duration::from_secs_f64),
        goaway: result["goaway"]
            .as_u64()
            .map(|code| u32::try_from(code).unwrap()),
        goaway_debug: result["goaway_debug"].as_str().map(str::to_owned),
        server_resets: result["server_resets"].as_u64(),
        server_refused: result["server_refused"].as_u64(),
        server_cpu,
        rss_before_kib,
        rss_peak_kib,
        rss_after_kib: server.rss_kib(),
        baseline,
        during,
    })
}

/// Rapid reset from Python `h2` (HEADERS then RST_STREAM CANCEL, 100 streams a write,
/// reading everything): cut with `GOAWAY` `ENHANCE_YOUR_CALM`, as the hand-written one.
async fn python_rapid_reset(transport: Transport) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(report) = python_attack(transport, "rapid_reset", Duration::from_secs(3)).await else {
        return;
    };
    report.assert_bounded(32);
    assert!(
        report.cut_after.is_some(),
        "the rapid-reset connection was not cut"
    );
    assert_eq!(
        report.goaway,
        Some(ENHANCE_YOUR_CALM),
        "GOAWAY's error code"
    );
}

h2c_and_tls! {
    rapid_reset_from_python_h2_is_cut_with_goaway(transport) {
        python_rapid_reset(transport).await;
    }
}

/// A PING flood (`ping_flood`) or SETTINGS flood (`settings_flood`) from Python `h2`
/// that never reads (4 KiB receive buffer): cut by the send timeout, as the
/// hand-written ones. The SETTINGS flood gets more time: Python `h2` builds 100,000 to
/// 200,000 SETTINGS frames a second, so the server's send buffer (9-byte ACKs) takes 2
/// to 3 s to fill before its writes block and the send timeout starts; more when the
/// suite's other process-driving tests (proxies, a Redis Cluster, Chromium) share the
/// two cores, so the bound is generous: what is asserted is that the flood is cut.
async fn python_answer_flood(transport: Transport, flood: &str) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let budget = if flood == "settings_flood" {
        Duration::from_secs(14)
    } else {
        Duration::from_secs(6)
    };
    let Some(report) = python_attack(transport, flood, budget).await else {
        return;
    };
    report.assert_bounded(32);
    let cut = report
        .cut_after
        .unwrap_or_else(|| panic!("the {flood} was not cut"));
    assert!(
        cut < SEND_TIMEOUT + budget - Duration::from_secs(2),
        "cut only after {cut:?}"
    );
}

h2c_and_tls! {
    a_ping_flood_from_python_h2_that_never_reads_is_cut_by_the_send_timeout(transport) {
        python_answer_flood(transport, "ping_flood").await;
    }
}

h2c_and_tls! {
    a_settings_flood_from_python_h2_that_never_reads_is_cut_by_the_send_timeout(transport) {
        python_answer_flood(transport, "settings_flood").await;
    }
}

/// A CONTINUATION flood from Python `h2`: `send_headers` with a 4 MiB header value,
/// which h2 itself sends as HEADERS + 256 CONTINUATION frames, stream after stream. Cut
/// with `GOAWAY` `ENHANCE_YOUR_CALM` after a few frames, as the hand-written one.
async fn python_continuation_flood(transport: Transport) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(report) = python_attack(transport, "continuation_flood", Duration::from_secs(3)).await
    else {
        return;
    };
    report.assert_bounded(32);
    let cut = report
        .cut_after
        .expect("the CONTINUATION flood was not cut");
    assert!(cut < Duration::from_secs(2), "cut only after {cut:?}");
    // The GOAWAY may be lost when the server closes with unread frames (a TCP RST).
    if let Some(code) = report.goaway {
        assert_eq!(code, ENHANCE_YOUR_CALM, "GOAWAY's error code");
    }
}

h2c_and_tls! {
    continuation_flood_from_python_h2_is_cut_with_goaway(transport) {
        python_continuation_flood(transport).await;
    }
}

/// MadeYouReset from Python `h2` (`made_you_reset`: the stream window overflowed by a
/// `hyperframe` WINDOW_UPDATE; `made_you_reset_headers`: `connection: close`, h2 alone),
/// 100 streams a write, reading everything: the server resets each stream itself, and
/// after 1,024 of them answers `GOAWAY` `ENHANCE_YOUR_CALM` (`too_many_internal_resets`).
async fn python_made_you_reset(transport: Transport, attack: &str) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(report) = python_attack(transport, attack, Duration::from_secs(3)).await else {
        return;
    };
    report.assert_bounded(32);
    let cut = report
        .cut_after
        .unwrap_or_else(|| panic!("the {attack} connection was not cut"));
    assert!(cut < Duration::from_secs(2), "cut only after {cut:?}");
    assert!(report.sent >= 1024, "cut after {} streams", report.sent);
    if let Some(code) = report.goaway {
        assert_eq!(code, ENHANCE_YOUR_CALM, "GOAWAY's error code");
        assert_eq!(
            report.goaway_debug.as_deref(),
            Some("too_many_internal_resets")
        );
    }
}

h2c_and_tls! {
    made_you_reset_from_python_h2_is_cut_with_goaway(transport) {
        python_made_you_reset(transport, "made_you_reset").await;
        python_made_you_reset(transport, "made_you_reset_headers").await;
    }
}

/// 200 firehose streams on one connection whose flow-control windows never open: with
/// `SETTINGS_INITIAL_WINDOW_SIZE` = 0 (no stream may receive a byte of DATA), or with the
/// default windows and no WINDOW_UPDATE ever (the connection window, 65,535 bytes, is
/// spent in the first few frames). hyper polls no body while its stream has no send
/// capacity: the connection costs its streams' state (bounded by
/// `h2_max_concurrent_streams`), and the server cuts it once a body has waited for
/// capacity for the send timeout.
async fn closed_windows(transport: Transport, zero_stream_windows: bool) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = Server::start(transport, SEND_TIMEOUT);
    let settings: &[(u16, u32)] = if zero_stream_windows {
        &[(SETTINGS_INITIAL_WINDOW_SIZE, 0)]
    } else {
        &[]
    };
    let io = server.connect_h2(None, settings).await;
    let name = if zero_stream_windows {
        format!("200 streams with zero windows ({transport:?})")
    } else {
        format!("200 streams, connection window never opened ({transport:?})")
    };
    let report = attack(
        &server,
        &name,
        io,
        true,
        Duration::from_secs(3),
        |i, batch| {
            if i < 200 {
                batch.extend(get(u32::try_from(2 * i + 1).unwrap(), "/firehose"));
                1
            } else {
                // Nothing more to send: wait, holding the streams.
                0
            }
        },
    )
    .await;
    report.assert_bounded(32);
    let cut = report
        .cut_after
        .expect("a connection whose windows stay closed was not cut");
    assert!(
        cut < SEND_TIMEOUT * 3 + Duration::from_secs(1),
        "cut only after {cut:?}"
    );
}

h2c_and_tls! {
    streams_with_zero_windows_cost_bounded_memory(transport) {
        closed_windows(transport, true).await;
    }
}

h2c_and_tls! {
    a_connection_window_that_never_opens_costs_bounded_memory(transport) {
        closed_windows(transport, false).await;
    }
}

// --- stalled and slow readers ---------------------------------------------------------

/// Reads whatever `io` has until it closes, for at most `within`; whether it closed.
async fn closes_within(io: &mut Box<dyn Io>, within: Duration) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    tokio::time::timeout(within, async {
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// 100 clients (HTTP/1.1 and HTTP/2, 50 each) that ask for the firehose and never read
/// (4 KiB receive buffers): what each costs the server while its writes are blocked, and
/// that each is cut after the send timeout while other clients keep being served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_readers_cost_bounded_bytes_and_are_cut_after_the_send_timeout() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let send_timeout = Duration::from_secs(3);
    let server = Server::start(Transport::H2c, send_timeout);
    let baseline = server.baseline().await;
    let rss_before = server.rss_kib();
    let mut stalled = Vec::new();
    for n in 0..100 {
        let io = if n % 2 == 0 {
            let mut io = server.connect(b"http/1.1", Some(4096)).await;
            io.write_all(b"GET /firehose HTTP/1.1\r\nhost: localhost\r\n\r\n")
                .await
                .unwrap();
            io
        } else {
            let mut io = server.connect_h2(Some(4096), &[]).await;
            io.write_all(&get(1, "/firehose")).await.unwrap();
            io
        };
        stalled.push(io);
    }
    let opened = Instant::now();
    // Every write is blocked within a moment (the kernel's buffers take a moment to fill:
    // that is work, not a stall); sample while they are.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut during = Vec::new();
    let mut rss_peak = rss_before;
    while opened.elapsed() < send_timeout - Duration::from_millis(500) {
        during.push(server.first_event().await);
        rss_peak = rss_peak.max(server.rss_kib());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Past the send timeout (plus time to fill the buffers), each is closed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut cut = 0;
    for io in &mut stalled {
        if closes_within(io, Duration::from_secs(3)).await {
            cut += 1;
        }
    }
    let rss_after = server.rss_kib();
    let per_stream = (rss_peak.saturating_sub(rss_before)) * 1024 / 100;
    let worst = during.iter().copied().max().unwrap_or_default();
    println!(
        "h2_abuse stalled readers: 100 firehose clients never reading (50 HTTP/1.1, 50 HTTP/2), \
         send timeout {send_timeout:?}: server RSS {:.1} -> peak {:.1} -> {:.1} MiB after they were cut, \
         {per_stream} bytes per stalled stream; {cut}/100 cut; well-behaved first event: baseline {baseline:.1?}, \
         worst while stalled {worst:.1?} ({} clients)",
        kib_to_mib(rss_before),
        kib_to_mib(rss_peak),
        kib_to_mib(rss_after),
        during.len(),
    );
    assert_eq!(
        cut, 100,
        "stalled clients still open after the send timeout"
    );
    assert!(
        per_stream < 512 * 1024,
        "{per_stream} bytes per stalled stream"
    );
    // Looser than the other bounds: on a busy machine the 100 firehoses (debug build)
    // may still be filling their buffers.
    assert!(
        worst < (baseline * 50).max(Duration::from_secs(5)),
        "a well-behaved client waited {worst:?} (baseline {baseline:?})"
    );
}

/// A plain HTTP/1.1 connection (with a `recv_buffer`-byte receive buffer, if given)
/// that asked for `path`.
async fn http1_get(server: &Server, path: &str, recv_buffer: Option<u32>) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    let mut tcp = socket.connect(server.addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    tcp.write_all(format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n").as_bytes())
        .await
        .unwrap();
    tcp
}

/// Reads `chunk` bytes (at most) every `every` from `tcp` until `within` passed; returns
/// whether the stream ended (before that) and the bytes read.
async fn trickle(
    mut tcp: tokio::net::TcpStream,
    chunk: usize,
    every: Duration,
    within: Duration,
) -> (bool, usize) {
    let start = Instant::now();
    let mut buf = vec![0u8; chunk];
    let mut total = 0;
    while start.elapsed() < within {
        match tokio::time::timeout(every, tcp.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return (true, total),
            Ok(Ok(n)) => total += n,
            Err(_) => {}
        }
        tokio::time::sleep(every).await;
    }
    (false, total)
}

impl Server {
    /// How many `/firehose` streams the server holds.
    async fn open_firehoses(&self) -> usize {
        let mut io = self.connect(b"http/1.1", None).await;
        io.write_all(b"GET /firehoses HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        io.read_to_end(&mut response).await.unwrap();
        let text = String::from_utf8(response).unwrap();
        let (_, body) = text.split_once("\r\n\r\n").unwrap();
        body.trim().parse().unwrap()
    }

    /// Waits (up to `within` from `start`) until the server holds no `/firehose` stream;
    /// returns when that was, from `start`, if it happened.
    async fn firehoses_dropped(&self, start: Instant, within: Duration) -> Option<Duration> {
        while start.elapsed() < within {
            if self.open_firehoses().await == 0 {
                return Some(start.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

/// Ten clients that read `/firehose` one byte a second each (4 KiB receive buffers). A
/// byte read does not reopen their TCP window (the kernel waits until a good part of the
/// receive buffer is free), so the server's writes stay blocked and the send timeout
/// cuts them. The test asks the server how many firehose streams it still holds: the
/// clients themselves would see the end only after the bytes still buffered (one a
/// second), and the server's FIN waits behind its unsent data. It also checks that each
/// costs the server a bounded number of bytes (hyper's write buffer, one event) and
/// delays no one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_reading_a_byte_a_second_are_cut_after_the_send_timeout() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = Server::start(Transport::H2c, SEND_TIMEOUT);
    let baseline = server.baseline().await;
    let rss_before = server.rss_kib();
    let within = SEND_TIMEOUT * 3;
    let start = Instant::now();
    let mut readers = Vec::new();
    for _ in 0..10 {
        let tcp = http1_get(&server, "/firehose", Some(4096)).await;
        readers.push(tokio::spawn(trickle(
            tcp,
            1,
            Duration::from_secs(1),
            within,
        )));
    }
    let mut during = Vec::new();
    let mut rss_peak = rss_before;
    while start.elapsed() < SEND_TIMEOUT {
        during.push(server.first_event().await);
        rss_peak = rss_peak.max(server.rss_kib());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dropped = server.firehoses_dropped(start, within).await;
    for reader in readers {
        reader.abort();
    }
    let per_stream = rss_peak.saturating_sub(rss_before) * 1024 / 10;
    let worst = during.iter().copied().max().unwrap_or_default();
    println!(
        "h2_abuse one byte a second: 10 clients, all dropped by the server after {dropped:.1?} \
         (send timeout {SEND_TIMEOUT:?}); server RSS {:.1} -> peak {:.1} MiB, {per_stream} bytes \
         per stream; well-behaved first event: baseline {baseline:.1?}, worst {worst:.1?} \
         ({} clients)",
        kib_to_mib(rss_before),
        kib_to_mib(rss_peak),
        during.len(),
    );
    assert!(
        dropped.is_some(),
        "clients reading a byte a second still held after {within:?}"
    );
    assert!(
        per_stream < 512 * 1024,
        "{per_stream} bytes per slow stream"
    );
    assert!(
        worst < (baseline * 50).max(Duration::from_millis(1500)),
        "a well-behaved client waited {worst:?} (baseline {baseline:?})"
    );
}

/// Clients that read `/firehose` 4 KiB every 100 ms (40 KB/s, slower than the stream)
/// are dropped by the server within a few send timeouts, with or without
/// `min_send_rate` (the socket becomes writable again only once a good part of the
/// kernel's send buffer drained, so a single write stays blocked for the send timeout);
/// a client reading `/ticker` (well under 1 KiB a second) at the same pace is never
/// backlogged and never cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_reading_slower_than_the_stream_are_cut_and_a_ticker_reader_is_not() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let within = SEND_TIMEOUT * 3;
    let pace = Duration::from_millis(100);
    for rate in ["1024", "off"] {
        let server = Server::start_with(Transport::H2c, SEND_TIMEOUT, &[("MIN_SEND_RATE", rate)]);
        let start = Instant::now();
        let mut readers = Vec::new();
        for _ in 0..5 {
            let tcp = http1_get(&server, "/firehose", None).await;
            readers.push(tokio::spawn(trickle(tcp, 4096, pace, within)));
        }
        let ticker = http1_get(&server, "/ticker", None).await;
        let ticker = tokio::spawn(trickle(ticker, 4096, pace, within + pace * 5));
        let dropped = server.firehoses_dropped(start, within).await;
        let mut read = 0;
        for reader in readers {
            read += reader.await.unwrap().1;
        }
        let (ticker_cut, ticker_read) = ticker.await.unwrap();
        println!(
            "h2_abuse min send rate {rate}: 5 clients reading 4 KiB every {pace:?} (send \
             timeout {SEND_TIMEOUT:?}): all dropped by the server after {dropped:.1?} \
             (waited {within:?}), {read} bytes read in all; the ticker reader at the same \
             pace: cut {ticker_cut}, {ticker_read} bytes read"
        );
        assert!(
            dropped.is_some(),
            "slow readers still held after {within:?} (min send rate {rate})"
        );
        assert!(
            !ticker_cut,
            "a ticker reader was cut (min send rate {rate})"
        );
    }
}

/// Delivery latencies (publish to arrival, microseconds) of `/topic` on one connection,
/// for `window`.
async fn topic_latencies(server: &Server, window: Duration) -> Vec<u64> {
    let mut io = server.connect(b"http/1.1", None).await;
    io.write_all(b"GET /topic HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut latencies = Vec::new();
    let mut pending = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let end = Instant::now() + window;
    // The deadline is checked on every read too: `timeout_at` alone never fires while
    // data is always ready.
    while Instant::now() < end {
        let Ok(read) = tokio::time::timeout_at(end, io.read(&mut buf)).await else {
            break;
        };
        let n = read.expect("a subscriber that reads is never cut");
        assert!(n > 0, "the topic stream ended");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros();
        pending.extend_from_slice(&buf[..n]);
        // One `data: "<micros> <padding>"` line per event.
        let mut done = 0;
        while let Some(newline) = pending[done..].iter().position(|&b| b == b'\n') {
            let line = &pending[done..done + newline];
            let data = line
                .strip_prefix(b"data:")
                .map(|rest| rest.strip_prefix(b" ").unwrap_or(rest));
            if let Some(rest) = data.and_then(|data| data.strip_prefix(b"\"")) {
                let digits: Vec<u8> = rest
                    .iter()
                    .copied()
                    .take_while(u8::is_ascii_digit)
                    .collect();
                let sent: u128 = std::str::from_utf8(&digits).unwrap().parse().unwrap();
                latencies.push(u64::try_from(now.saturating_sub(sent)).unwrap_or(u64::MAX));
            }
            done += newline + 1;
        }
        pending.drain(..done);
    }
    latencies
}

fn p99(mut latencies: Vec<u64>) -> Duration {
    latencies.sort_unstable();
    let at = (latencies.len() * 99 / 100).min(latencies.len().saturating_sub(1));
    Duration::from_micros(latencies.get(at).copied().unwrap_or_default())
}

/// Ten subscribers of a topic (100 events a second, 1 KiB each) measure their delivery
/// latency, without and then with 100 stalled subscribers (never reading, 4 KiB receive
/// buffers) on the same topic: publishing never waits for a subscriber, so the stalled
/// ones delay nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_broadcast_subscribers_never_delay_the_others() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = Server::start(Transport::H2c, Duration::from_secs(30));
    let window = Duration::from_secs(3);
    let measure = || async {
        let readers: Vec<_> = (0..10).map(|_| topic_latencies(&server, window)).collect();
        futures_util::future::join_all(readers)
            .await
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
    };
    let without = measure().await;
    let mut stalled = Vec::new();
    for _ in 0..100 {
        let mut io = server.connect(b"http/1.1", Some(4096)).await;
        io.write_all(b"GET /topic HTTP/1.1\r\nhost: localhost\r\n\r\n")
            .await
            .unwrap();
        stalled.push(io);
    }
    // Let their socket buffers fill first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with = measure().await;
    let (count_without, count_with) = (without.len(), with.len());
    let (p99_without, p99_with) = (p99(without), p99(with));
    println!(
        "h2_abuse broadcast: delivery p99 {p99_without:.1?} without ({count_without} deliveries), \
         {p99_with:.1?} with 100 stalled subscribers ({count_with} deliveries)"
    );
    assert!(count_with > 1000, "only {count_with} deliveries");
    assert!(
        p99_with < p99_without * 20 + Duration::from_millis(500),
        "stalled subscribers delayed the others: p99 {p99_with:?} (without: {p99_without:?})"
    );
    drop(stalled);
}
