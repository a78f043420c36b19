//! # Soak: many streams held for a long time (reliability, not a comparison)
//!
//! ```text
//! cargo bench -p sse-bench --bench load -- soak                          # 10,000 streams, 10 minutes
//! SOAK_SECS=30 SOAK_STREAMS=1000 cargo bench -p sse-bench --bench load -- soak   # smoke run
//! SOAK_STREAMS=100000 SOAK_INTERVAL_SECS=10 cargo bench -p sse-bench --bench load -- soak
//! SOAK_STREAMS=100000 SOAK_INTERVAL_SECS=10 SOAK_H2_STREAMS_PER_CONNECTION=100 \
//!     cargo bench -p sse-bench --bench load -- soak     # 100,000 streams on 1,000 h2c connections
//! ```
//!
//! Only our server, in its own process (`load serve soak PORT`, pinned to CPU 0 like the
//! servers of the comparison; the load generator on CPU 1; `--no-pin` turns this off),
//! serving one route written as users write them: `#[get("/soak", sse)]` whose
//! `stream! { }` yields one small JSON event, `{"n":N,"t":<unix time>}`, per second
//! (every `SOAK_INTERVAL_SECS`, default 1: with 100,000 streams an event every 10 s
//! per stream is still 10,000 events a second, what one core of the reference machine
//! sustains beside the load generator). Its `max_connections` is raised above the
//! stream count.
//!
//! The load generator opens `SOAK_STREAMS` streams (default 10,000; 256 being opened at
//! a time, each counted open at its first event), holds them all for `SOAK_SECS`
//! (default 600) while reading every event, and samples the server's resident memory
//! (`VmRSS`) every `SOAK_SAMPLE_SECS` (default 60; a sixth of the run for short runs).
//! It reports RSS over time, events expected (one per second per stream, from its first
//! event to the end) against events received, sequence gaps, streams that ended or
//! failed, the delivery lag (arrival minus the event's `t`), how late the server made
//! events (an event's `t` against its stream's schedule: the first event's `t` plus `n`
//! intervals; both the longest since the previous memory sample and over the run), and
//! the CPU time of the server and of the load generator.
//!
//! Transport: one HTTP/1.1 connection per stream, or, with
//! `SOAK_H2_STREAMS_PER_CONNECTION=N` (N > 0; 0 or unset: HTTP/1.1), N streams per
//! HTTP/2 cleartext connection (h2c, prior knowledge, on the same port), as a browser
//! multiplexes the `EventSource`s of a page: 100,000 streams then need 1,000 sockets, not
//! 100,000 (the server's `h2_max_concurrent_streams` is raised to N if it is above the
//! default 256). Each stream is checked the same way either way; an h2c connection is
//! made by the first of its streams to open, and its failure fails each of its streams.
//!
//! Scale: the open-files limit of both processes is raised to the connection count plus
//! some (the hard limit too when running as root, up to `fs.nr_open`), and the
//! connections come from `SOAK_SOURCES` source addresses 127.0.0.1, 127.0.0.2, ...
//! (default: one per 20,000 streams), each socket bound to its address before connecting
//! (`IP_BIND_ADDRESS_NO_PORT`): one address has only `net.ipv4.ip_local_port_range`
//! (~28,000) ports towards the server's one port. The load generator is one thread
//! (its CPU time is in the report).
//! The report is printed and written to `target/tmp/bench-soak.md` (`--out FILE`). The
//! exit status is 1 if any stream failed, ended early or skipped an event.
//!
//! The comparison (`cargo bench -p sse-bench --bench load` without `soak`) never runs
//! this scenario.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use sse_runtime::{get, shutdown_signal, stream, App, Stream};

use crate::client;
use crate::procs::{self, Launch, Pinning, ServerProc};
use crate::shared::{machine, now, thousands};
use crate::soak_settings::{env_number, h2_streams_per_connection, Settings};

/// The event: its number in the stream and when the server produced it.
#[derive(Serialize, Deserialize)]
struct Tick {
    n: u64,
    t: f64,
}

/// Seconds between two events of a stream: `SOAK_INTERVAL_SECS`, default 1.
fn interval_secs() -> u64 {
    env_number("SOAK_INTERVAL_SECS").ok().flatten().unwrap_or(1)
}

/// One event per interval, forever.
#[get("/soak", sse)]
async fn soak() -> impl Stream<Item = Tick> {
    let interval = Duration::from_secs(interval_secs());
    stream! {
        let mut every = tokio::time::interval(interval);
        for n in 0u64.. {
            every.tick().await;
            yield Tick { n, t: now() };
        }
    }
}

/// The soak server (`load serve soak PORT`), on 127.0.0.1 until SIGTERM / Ctrl-C.
pub fn serve(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let streams = env_number("SOAK_STREAMS")?.unwrap_or(10_000);
        let max_connections = usize::try_from(streams).unwrap_or(usize::MAX / 2) + 1_000;
        let limits = sse_runtime::Limits::default();
        let per_connection = u32::try_from(h2_streams_per_connection()?).unwrap_or(u32::MAX);
        let h2_streams = limits.get_h2_max_concurrent_streams().max(per_connection);
        App::new()
            .limits(
                limits
                    .max_connections(max_connections.max(25_000))
                    .h2_max_concurrent_streams(h2_streams),
            )
            .route(soak)
            .serve_with_shutdown(listener, shutdown_signal())
            .await?;
        Ok(())
    })
}

/// What every stream adds to, as the events arrive.
#[derive(Default)]
struct Totals {
    events: Cell<u64>,
    open: Cell<usize>,
    /// Events whose `n` was not the previous one's plus one.
    gaps: Cell<u64>,
    /// Events whose data was not a `Tick`.
    garbled: Cell<u64>,
    /// Delivery lag in ms, one bucket per ms up to 60 s (the last one: more).
    lag_ms: RefCell<Vec<u64>>,
    /// The longest lag since the last memory sample, in ms.
    window_lag: WindowMax,
    /// How late the server made an event, the longest since the last memory sample, in
    /// ms: its `t` against its stream's schedule (the first event's `t` plus `n` intervals).
    window_late: WindowMax,
    /// The same over the whole run.
    late_max: WindowMax,
}

/// The largest value noted since the last `take`.
#[derive(Default)]
struct WindowMax(Cell<Option<f64>>);

impl WindowMax {
    fn note(&self, value: f64) {
        self.0
            .set(Some(self.0.get().map_or(value, |max| max.max(value))));
    }

    fn take(&self) -> Option<f64> {
        self.0.take()
    }
}

impl Totals {
    fn note_lag(&self, ms: f64) {
        self.window_lag.note(ms);
        let mut lags = self.lag_ms.borrow_mut();
        if lags.is_empty() {
            lags.resize(60_001, 0);
        }
        let bucket = (ms.max(0.0) as usize).min(lags.len() - 1);
        lags[bucket] += 1;
    }

    /// The `q` quantile of the lags, in ms (bucket upper bound).
    fn lag_quantile(&self, q: f64) -> Option<usize> {
        let lags = self.lag_ms.borrow();
        let total: u64 = lags.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64 * q).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        lags.iter().enumerate().find_map(|(ms, &n)| {
            seen += n;
            (seen >= rank).then_some(ms + 1)
        })
    }
}

/// One stream, as the client saw it.
struct Held {
    received: u64,
    expected: u64,
}

/// Parses the complete events of a stream's bytes.
struct Reader {
    pending: Vec<u8>,
    next: Option<u64>,
    received: u64,
    /// Seconds between two events.
    interval: f64,
    /// The first event's `n` and `t`: the stream's schedule.
    origin: Option<(u64, f64)>,
}

impl Reader {
    fn new(interval: u64) -> Self {
        Self {
            pending: Vec::new(),
            next: None,
            received: 0,
            interval: interval as f64,
            origin: None,
        }
    }

    fn feed(&mut self, bytes: &[u8], totals: &Totals) {
        self.pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(end) = memchr::memmem::find(&self.pending[start..], b"\n\n") {
            let block = &self.pending[start..start + end];
            start += end + 2;
            let Some(data) = block
                .split(|&b| b == b'\n')
                .find_map(|line| line.strip_prefix(b"data: "))
            else {
                continue; // a comment (keep-alive)
            };
            self.received += 1;
            totals.events.set(totals.events.get() + 1);
            match serde_json::from_slice::<Tick>(data) {
                Ok(tick) => {
                    if self.next.is_some_and(|next| next != tick.n) {
                        totals.gaps.set(totals.gaps.get() + 1);
                    }
                    self.next = Some(tick.n + 1);
                    totals.note_lag((now() - tick.t) * 1e3);
                    let (n0, t0) = *self.origin.get_or_insert((tick.n, tick.t));
                    let due = t0 + tick.n.saturating_sub(n0) as f64 * self.interval;
                    let late = (tick.t - due) * 1e3;
                    totals.window_late.note(late);
                    totals.late_max.note(late);
                }
                Err(_) => totals.garbled.set(totals.garbled.get() + 1),
            }
        }
        self.pending.drain(..start);
    }
}

/// Why a stream did not count.
enum Failure {
    Open(String),
    Held(String),
}

/// How a stream reaches the server.
enum Transport {
    /// Its own HTTP/1.1 connection from this source address.
    Http1(std::net::IpAddr),
    /// A stream of an h2c connection shared with other streams.
    H2(Rc<H2Connection>),
}

/// An h2c connection (prior knowledge) from `source`, made by the first of its streams to
/// open; a failure to connect is kept and fails each of its streams.
struct H2Connection {
    source: std::net::IpAddr,
    sender: tokio::sync::OnceCell<Result<client::H2Sender, String>>,
}

impl H2Connection {
    fn new(source: std::net::IpAddr) -> Rc<Self> {
        Rc::new(Self {
            source,
            sender: tokio::sync::OnceCell::new(),
        })
    }
}

/// A stream's connection future, to poll beside its body: the HTTP/1.1 connection's, or
/// (HTTP/2, whose connection is driven by its own task and fails every stream's body
/// when it fails) one that never ends.
type Connection = Pin<Box<dyn Future<Output = Result<(), hyper::Error>>>>;

impl Transport {
    /// Opens a stream of `GET /soak` up to its response head.
    async fn open(&self, addr: SocketAddr) -> Result<(Connection, client::Opened), String> {
        match self {
            Transport::Http1(source) => {
                let (conn, opened) = client::open_head_from(addr, Some(*source), "/soak")
                    .await
                    .map_err(|err| err.to_string())?;
                Ok((conn, opened))
            }
            Transport::H2(connection) => {
                let sender = connection
                    .sender
                    .get_or_init(|| async {
                        client::h2_connect_from(addr, Some(connection.source))
                            .await
                            .map_err(|err| format!("h2c connection: {err}"))
                    })
                    .await
                    .clone()?;
                let opened = client::h2_open(sender, addr, "/soak")
                    .await
                    .map_err(|err| err.to_string())?;
                Ok((Box::pin(std::future::pending()), opened))
            }
        }
    }
}

/// Opens one stream and reads it until the end (sent on `end` once every stream is
/// open); then holds the connection, unread, until `release`, so that the last memory
/// sample still sees every stream open.
async fn hold(
    addr: SocketAddr,
    transport: Transport,
    interval: u64,
    totals: Rc<Totals>,
    permits: Rc<tokio::sync::Semaphore>,
    mut end: tokio::sync::watch::Receiver<Option<tokio::time::Instant>>,
    mut release: tokio::sync::watch::Receiver<bool>,
) -> Result<Held, Failure> {
    let permit = permits.acquire().await;
    let (mut conn, mut opened) = transport.open(addr).await.map_err(Failure::Open)?;
    let mut reader = Reader::new(interval);
    // Open at the first event.
    let first = loop {
        tokio::select! {
            frame = opened.body.frame() => match frame {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        reader.feed(&data, &totals);
                    }
                    if reader.received > 0 {
                        break Instant::now();
                    }
                }
                Some(Err(err)) => return Err(Failure::Open(err.to_string())),
                None => return Err(Failure::Open("the stream ended before its first event".into())),
            },
            ended = &mut conn => {
                return Err(Failure::Open(format!("the connection closed before the first event: {ended:?}")));
            }
        }
    };
    drop(permit);
    totals.open.set(totals.open.get() + 1);
    let until = async {
        let at = end
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|at| *at)
            .unwrap_or_else(tokio::time::Instant::now);
        tokio::time::sleep_until(at).await;
        at
    };
    tokio::pin!(until);
    let outcome = loop {
        tokio::select! {
            biased;
            at = &mut until => break Ok(at),
            frame = opened.body.frame() => match frame {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        reader.feed(&data, &totals);
                    }
                }
                Some(Err(err)) => break Err(err.to_string()),
                None => break Err("the stream ended".to_owned()),
            },
            ended = &mut conn => break Err(format!("the connection closed: {ended:?}")),
        }
    };
    totals.open.set(totals.open.get() - 1);
    let at = outcome.map_err(Failure::Held)?;
    let _ = release.wait_for(|released| *released).await;
    drop((conn, opened, transport));
    let held_for = at.into_std().saturating_duration_since(first);
    Ok(Held {
        received: reader.received,
        expected: held_for.as_secs() / interval + 1,
    })
}

/// One row of the memory table.
struct Sample {
    label: String,
    rss_kib: Option<u64>,
    open: usize,
    events: u64,
    /// The longest delivery lag since the previous sample, in ms.
    max_lag_ms: Option<f64>,
    /// The server's longest delay in making an event since the previous sample, in ms.
    max_late_ms: Option<f64>,
}

/// `load soak ...`: runs the soak, prints and writes the report; the exit status.
pub fn main(args: &[String]) -> i32 {
    let settings = match Settings::parse(args) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("load: {err}");
            return 2;
        }
    };
    match run(&settings) {
        Ok(clean) => i32::from(!clean),
        Err(err) => {
            eprintln!("load soak: {err}");
            1
        }
    }
}

fn millis(ms: Option<f64>) -> String {
    ms.map_or_else(
        || "—".to_owned(),
        |ms| thousands(ms.max(0.0).round() as usize),
    )
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "—".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
}

/// CPU time (user + system) of the waited-for children (the server, once stopped).
fn server_cpu_secs() -> Option<f64> {
    cpu_secs(libc::RUSAGE_CHILDREN)
}

/// CPU time (user + system) of this process, every thread: the load generator.
fn client_cpu_secs() -> Option<f64> {
    cpu_secs(libc::RUSAGE_SELF)
}

fn cpu_secs(who: libc::c_int) -> Option<f64> {
    // SAFETY: getrusage fills a local struct.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut usage) != 0 {
            return None;
        }
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(secs(usage.ru_utime) + secs(usage.ru_stime))
}

/// Runs the soak; `Ok(true)` if every stream delivered every event.
fn run(settings: &Settings) -> Result<bool, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let sockets = settings.connections();
    let fd_limit = procs::raise_fd_limit_to(sockets as u64 + 1_000);
    if fd_limit < sockets as u64 + 100 {
        return Err(format!(
            "the open-files limit is {fd_limit}: {} streams on {sockets} connections need {} \
             descriptors in each process; raise the hard limit (`ulimit -Hn`, \
             `LimitNOFILE=`: this process could not, which needs CAP_SYS_RESOURCE), run \
             fewer streams, or multiplex them (SOAK_H2_STREAMS_PER_CONNECTION=100)",
            settings.streams,
            sockets + 100
        )
        .into());
    }
    let pinning = Pinning::choose(settings.pin);
    if let Some(cpu) = pinning.client_cpu {
        procs::pin_current_thread(cpu)?;
    }
    let cpu_before = server_cpu_secs();
    let client_cpu_before = client_cpu_secs();
    let server = ServerProc::start(&Launch::Rust("soak"), pinning)?;
    let addr = server.addr;
    eprintln!(
        "soak: {} streams ({}, an event every {} s, from {} source addresses) for {} s against {addr}, RSS sampled every {} s; open-files limit {fd_limit}",
        settings.streams,
        settings.transport(),
        settings.interval,
        settings.sources,
        settings.hold.as_secs(),
        settings.sample_every.as_secs()
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let totals = Rc::new(Totals::default());
    let mut samples = Vec::new();
    let mut open_errors = Vec::new();
    let mut hold_errors = Vec::new();
    let mut held = Vec::new();
    let mut open_secs = 0.0;

    local.block_on(&runtime, async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        samples.push(Sample {
            label: "before any stream".to_owned(),
            rss_kib: server.rss_kib(),
            open: 0,
            events: 0,
            max_lag_ms: None,
            max_late_ms: None,
        });
        // Every stream's task holds it until the end, which is fixed once all are open.
        let (release_tx, release) = tokio::sync::watch::channel(false);
        let (end_tx, end) = tokio::sync::watch::channel(None);
        let permits = Rc::new(tokio::sync::Semaphore::new(settings.open_concurrency));
        let opening = Instant::now();
        let source = |i: usize| -> std::net::IpAddr {
            std::net::Ipv4Addr::new(127, 0, 0, (1 + i % settings.sources) as u8).into()
        };
        let h2_connections: Vec<_> = (0..settings.connections())
            .filter(|_| settings.h2_per_connection > 0)
            .map(|c| H2Connection::new(source(c)))
            .collect();
        let tasks: Vec<_> = (0..settings.streams)
            .map(|i| {
                let transport = match settings.h2_per_connection {
                    0 => Transport::Http1(source(i)),
                    per => Transport::H2(Rc::clone(&h2_connections[i / per])),
                };
                tokio::task::spawn_local(hold(
                    addr,
                    transport,
                    settings.interval,
                    Rc::clone(&totals),
                    Rc::clone(&permits),
                    end.clone(),
                    release.clone(),
                ))
            })
            .collect();
        drop(h2_connections);
        // Wait until every stream is open or failed.
        let failed_early = loop {
            let finished = tasks.iter().filter(|t| t.is_finished()).count();
            if totals.open.get() + finished >= settings.streams {
                break finished;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        open_secs = opening.elapsed().as_secs_f64();
        let hold_start = tokio::time::Instant::now();
        let hold_end = hold_start + settings.hold;
        let _ = end_tx.send(Some(hold_end));
        eprintln!(
            "soak: {} streams open in {open_secs:.1} s ({failed_early} failed); holding",
            totals.open.get()
        );
        samples.push(Sample {
            label: "all open (0 s)".to_owned(),
            rss_kib: server.rss_kib(),
            open: totals.open.get(),
            events: totals.events.get(),
            max_lag_ms: totals.window_lag.take(),
            max_late_ms: totals.window_late.take(),
        });
        let mut next = hold_start + settings.sample_every;
        while next < hold_end {
            tokio::time::sleep_until(next).await;
            let at = (next - hold_start).as_secs();
            let sample = Sample {
                label: if at.is_multiple_of(60) {
                    format!("{} min", at / 60)
                } else {
                    format!("{at} s")
                },
                rss_kib: server.rss_kib(),
                open: totals.open.get(),
                events: totals.events.get(),
                max_lag_ms: totals.window_lag.take(),
            max_late_ms: totals.window_late.take(),
            };
            eprintln!(
                "soak: {:>7}: RSS {} MiB, {} streams open, {} events, {} gaps, max lag {} ms, server late by up to {} ms",
                sample.label,
                mib(sample.rss_kib),
                sample.open,
                sample.events,
                totals.gaps.get(),
                millis(sample.max_lag_ms),
                millis(sample.max_late_ms)
            );
            samples.push(sample);
            next += settings.sample_every;
        }
        // The end: every stream stops reading but stays connected for this sample.
        tokio::time::sleep_until(hold_end + Duration::from_millis(500)).await;
        let still_open = tasks.iter().filter(|t| !t.is_finished()).count();
        samples.push(Sample {
            label: format!("end ({} s)", settings.hold.as_secs()),
            rss_kib: server.rss_kib(),
            open: still_open,
            events: totals.events.get(),
            max_lag_ms: totals.window_lag.take(),
            max_late_ms: totals.window_late.take(),
        });
        let _ = release_tx.send(true);
        for task in tasks {
            match task.await {
                Ok(Ok(stream)) => held.push(stream),
                Ok(Err(Failure::Open(err))) => open_errors.push(err),
                Ok(Err(Failure::Held(err))) => hold_errors.push(err),
                Err(err) => hold_errors.push(err.to_string()),
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        samples.push(Sample {
            label: "2 s after closing all".to_owned(),
            rss_kib: server.rss_kib(),
            open: 0,
            events: totals.events.get(),
            max_lag_ms: totals.window_lag.take(),
            max_late_ms: totals.window_late.take(),
        });
    });
    let client_cpu = client_cpu_secs()
        .zip(client_cpu_before)
        .map(|(after, before)| after - before);
    server.stop();
    let cpu = server_cpu_secs()
        .zip(cpu_before)
        .map(|(after, before)| after - before);

    let received: u64 = held.iter().map(|h| h.received).sum();
    let expected: u64 = held.iter().map(|h| h.expected).sum();
    let behind = held.iter().filter(|h| h.received + 1 < h.expected).count();
    let clean = open_errors.is_empty()
        && hold_errors.is_empty()
        && totals.gaps.get() == 0
        && totals.garbled.get() == 0
        && behind == 0;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## Soak: {} streams ({}) for {} s\n",
        thousands(settings.streams),
        settings.transport(),
        settings.hold.as_secs()
    );
    let _ = writeln!(
        out,
        "| time | server RSS (MiB) | streams open | events received so far | since the previous row: longest lag (ms) | longest server delay (ms) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for sample in &samples {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            sample.label,
            mib(sample.rss_kib),
            thousands(sample.open),
            thousands(sample.events as usize),
            millis(sample.max_lag_ms),
            millis(sample.max_late_ms)
        );
    }
    let rss_at = |label: &str| {
        samples
            .iter()
            .find(|s| s.label.starts_with(label))
            .and_then(|s| s.rss_kib)
    };
    let _ = writeln!(out);
    if let (Some(start), Some(end)) = (rss_at("all open"), rss_at("end")) {
        let _ = writeln!(
            out,
            "- RSS from all open to the end: {:+.1} MiB ({:+.2} %)",
            (end as f64 - start as f64) / 1024.0,
            (end as f64 - start as f64) * 100.0 / start.max(1) as f64
        );
    }
    if let (Some(before), Some(start)) = (rss_at("before"), rss_at("all open")) {
        let _ = writeln!(
            out,
            "- RSS per open stream: {:.1} KiB",
            start.saturating_sub(before) as f64 / settings.streams.max(1) as f64
        );
    }
    let _ = writeln!(
        out,
        "- events: {} expected (one every {} s per stream, from its first event to the end), {} received ({:+})",
        thousands(expected as usize),
        settings.interval,
        thousands(received as usize),
        received as i64 - expected as i64
    );
    let _ = writeln!(
        out,
        "- errors: {} streams failed to open, {} ended or failed while held, {} sequence gaps, {} unreadable events, {} streams more than one event behind",
        open_errors.len(),
        hold_errors.len(),
        totals.gaps.get(),
        totals.garbled.get(),
        behind
    );
    for (what, errors) in [("open", &open_errors), ("held", &hold_errors)] {
        if let Some(first) = errors.first() {
            let _ = writeln!(out, "- first {what} error: {first}");
        }
    }
    if let (Some(p50), Some(p99), Some(max)) = (
        totals.lag_quantile(0.5),
        totals.lag_quantile(0.99),
        totals.lag_quantile(1.0),
    ) {
        let _ = writeln!(
            out,
            "- delivery lag (arrival at the client minus the event's `t`): p50 ≤ {p50} ms, p99 ≤ {p99} ms, max ≤ {max} ms"
        );
    }
    if let Some(late) = totals.late_max.take() {
        let _ = writeln!(
            out,
            "- server delay (an event's `t` after its stream's schedule, the first event's `t` plus `n` intervals): at most {} ms",
            millis(Some(late))
        );
    }
    let _ = writeln!(
        out,
        "- streams opened in {open_secs:.1} s, {} at a time, over {}",
        settings.open_concurrency,
        settings.transport()
    );
    let wall = started.elapsed().as_secs_f64();
    for (who, cpu) in [("server", cpu), ("load generator (one thread)", client_cpu)] {
        if let Some(cpu) = cpu {
            let _ = writeln!(
                out,
                "- {who} CPU time over the whole run (open, hold, close): {cpu:.1} s, {:.1} % of one core",
                cpu * 100.0 / wall
            );
        }
    }
    let h2 = match settings.h2_per_connection {
        0 => String::new(),
        per => format!(" SOAK_H2_STREAMS_PER_CONNECTION={per}"),
    };
    let _ = writeln!(
        out,
        "- command: `SOAK_SECS={} SOAK_STREAMS={} SOAK_INTERVAL_SECS={} SOAK_SOURCES={}{h2} cargo bench -p sse-bench --bench load -- soak`",
        settings.hold.as_secs(),
        settings.streams,
        settings.interval,
        settings.sources
    );
    let _ = writeln!(out, "- open-files limit: {fd_limit} (client and server)");
    let _ = writeln!(out, "- date: {date}");
    let _ = writeln!(
        out,
        "- machine: {}; shared with other work while it ran",
        machine(cores)
    );
    let _ = writeln!(out, "- pinning: {}", pinning.describe());
    let _ = writeln!(out, "- wall time: {:.0} s", started.elapsed().as_secs_f64());
    let _ = writeln!(out, "- verdict: {}", if clean { "clean" } else { "ERRORS" });
    print!("{out}");
    if let Some(dir) = settings.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&settings.out, &out)?;
    eprintln!("written to {}", settings.out.display());
    Ok(clean)
}
