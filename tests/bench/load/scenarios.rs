//! The scenarios. Each one runs against one freshly started server process and returns
//! its figures; the driver alternates servers and repeats rounds.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;

use crate::client;
use crate::procs::ServerProc;
use crate::shared::{thousands, BoxError};

/// What is measured, one row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    Throughput,
    OpenTime(usize),
    RssPerStream(usize),
    /// RSS per idle stream when `H2_STREAMS_PER_CONNECTION` streams share each h2c
    /// connection.
    RssPerStreamH2(usize),
    TtfeP50,
    TtfeP99,
    ShortConnections,
    /// The transport, subscribers, then the statistic (so that the rows of one fan-out
    /// stay together): delivery latency by the kernel's receive time (`fanout_client.rs`).
    Fanout(Transport, usize, Stat),
    /// The fan-out client's CPU time from the publish request to the last delivery.
    FanoutClientCpu(Transport, usize),
    /// Growth of the server's RSS with every subscriber open, per subscriber.
    FanoutRss(Transport, usize),
    /// The server's CPU time from the publish request to the last delivery, per delivery.
    FanoutServerCpu(Transport, usize),
    /// The old method (hyper client on one `LocalSet`, user-space arrival stamp), only
    /// with `--scenarios fanout-hyper`: for comparing methods.
    FanoutHyper(usize, Stat),
}

/// How the fan-out's subscribers are carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    /// One HTTP/1.1 connection per subscriber (`fanout_client::Http1`).
    Http1,
    /// HTTP/2 streams, `H2_STREAMS_PER_CONNECTION` per h2c connection (`fanout_h2.rs`).
    H2c,
}

impl Transport {
    /// "fan-out to N" and how, for labels.
    fn fan_out_to(self, n: usize) -> String {
        match self {
            Transport::Http1 => format!("fan-out to {}", thousands(n)),
            Transport::H2c => format!(
                "fan-out to {} over h2c, {H2_STREAMS_PER_CONNECTION} per connection",
                thousands(n)
            ),
        }
    }
}

/// A statistic of a distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stat {
    P50,
    P99,
    Max,
}

impl Metric {
    pub fn label(self) -> String {
        match self {
            Metric::Throughput => "throughput, 1 stream (events/s)".to_owned(),
            Metric::OpenTime(n) => format!("open {} idle streams (ms)", thousands(n)),
            Metric::RssPerStream(n) => {
                format!("server RSS per idle stream at {} (KiB)", thousands(n))
            }
            Metric::RssPerStreamH2(n) => format!(
                "server RSS per idle stream at {}, h2c, {H2_STREAMS_PER_CONNECTION} per connection (KiB)",
                thousands(n)
            ),
            Metric::TtfeP50 => "time to first event p50 (µs)".to_owned(),
            Metric::TtfeP99 => "time to first event p99 (µs)".to_owned(),
            Metric::ShortConnections => "short streams, 10 events, 64 conc. (conn/s)".to_owned(),
            Metric::Fanout(t, n, stat) => {
                format!("{}: delivery {} (ms)", t.fan_out_to(n), stat.label())
            }
            Metric::FanoutClientCpu(t, n) => {
                format!("{}: client CPU while publishing (ms)", t.fan_out_to(n))
            }
            Metric::FanoutRss(t, n) => {
                format!("{}: server RSS per subscriber (KiB)", t.fan_out_to(n))
            }
            Metric::FanoutServerCpu(t, n) => {
                format!("{}: server CPU per delivery (µs)", t.fan_out_to(n))
            }
            Metric::FanoutHyper(n, stat) => format!(
                "fan-out to {}, old client (hyper, user-space stamp): {} (ms)",
                thousands(n),
                stat.label()
            ),
        }
    }

    /// The row's name in the run's record (`record.rs`): the scenario's `--scenarios` key,
    /// its size, the metric's short name and its unit.
    pub fn row_id(self) -> (&'static str, Option<usize>, &'static str, &'static str) {
        let fanout = |t: Transport| match t {
            Transport::Http1 => "fanout",
            Transport::H2c => "fanout-h2",
        };
        match self {
            Metric::Throughput => ("throughput", None, "events_per_s", "events/s"),
            Metric::OpenTime(n) => ("streams", Some(n), "open_time", "ms"),
            Metric::RssPerStream(n) => ("streams", Some(n), "rss_per_stream", "KiB"),
            Metric::RssPerStreamH2(n) => ("streams-h2", Some(n), "rss_per_stream", "KiB"),
            Metric::TtfeP50 => ("ttfe", None, "p50", "µs"),
            Metric::TtfeP99 => ("ttfe", None, "p99", "µs"),
            Metric::ShortConnections => ("short", None, "connections_per_s", "conn/s"),
            Metric::Fanout(t, n, stat) => (fanout(t), Some(n), stat.label(), "ms"),
            Metric::FanoutClientCpu(t, n) => (fanout(t), Some(n), "client_cpu", "ms"),
            Metric::FanoutRss(t, n) => (fanout(t), Some(n), "rss_per_subscriber", "KiB"),
            Metric::FanoutServerCpu(t, n) => (fanout(t), Some(n), "server_cpu_per_delivery", "µs"),
            Metric::FanoutHyper(n, stat) => ("fanout-hyper", Some(n), stat.label(), "ms"),
        }
    }

    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Throughput | Metric::ShortConnections)
    }

    pub fn format(self, value: f64) -> String {
        match self {
            Metric::RssPerStream(_)
            | Metric::RssPerStreamH2(_)
            | Metric::Fanout(..)
            | Metric::FanoutHyper(..)
            | Metric::FanoutClientCpu(..)
            | Metric::FanoutRss(..)
            | Metric::FanoutServerCpu(..) => format!("{value:.1}"),
            Metric::Throughput | Metric::ShortConnections => thousands(value.round() as usize),
            _ => thousands(value.round() as usize),
        }
    }
}

impl Stat {
    fn label(self) -> &'static str {
        match self {
            Stat::P50 => "p50",
            Stat::P99 => "p99",
            Stat::Max => "max",
        }
    }
}

/// Sizes of the scenarios (full run, or `--quick`).
#[derive(Clone, Debug)]
pub struct Config {
    pub throughput_events: u64,
    /// A server that has not sent `throughput_events` by then is measured on what it sent.
    pub throughput_cap: Duration,
    pub stream_counts: Vec<usize>,
    /// Sizes of the idle-stream scenario over h2c (`BENCH_STREAMS_H2_COUNTS`): 100
    /// streams per connection, so 100,000 need 1,000 sockets.
    pub h2_stream_counts: Vec<usize>,
    /// Streams being opened at once (connect to first event) in the open-streams scenario.
    pub open_concurrency: usize,
    pub ttfe_connections: usize,
    pub ttfe_warmup: usize,
    /// A server that has not served `ttfe_connections` by then is measured on those it did.
    pub ttfe_cap: Duration,
    pub short_concurrency: usize,
    pub short_warmup: Duration,
    pub short_window: Duration,
    pub fanout_counts: Vec<usize>,
    /// Events published in the fan-out scenario, one every `fanout_every`: far enough apart
    /// that one is delivered to every subscriber before the next (a latency figure, not a
    /// queue that builds up).
    pub fanout_events: u64,
    pub fanout_every: Duration,
    /// FastAPI is left out of fan-outs larger than this (it would take minutes).
    pub fanout_fastapi_max: usize,
    /// FastAPI is left out of idle-stream runs larger than this: opening 10,000 takes it
    /// 25–55 s a round, which would break the 10-minute budget of the whole run, and its
    /// memory per stream is the same at 1,000.
    pub streams_fastapi_max: usize,
}

/// `BENCH_FANOUT_COUNTS=1000,10000`: the fan-out sizes instead of the default ones (over
/// HTTP/1.1 and h2c alike); `BENCH_STREAMS_H2_COUNTS`: the same for the idle streams over
/// h2c.
fn counts_from_env(name: &str) -> Option<Vec<usize>> {
    let counts = std::env::var(name).ok()?;
    let counts: Vec<usize> = counts
        .split(',')
        .filter_map(|c| c.trim().replace('_', "").parse().ok())
        .filter(|&c| c > 0)
        .collect();
    (!counts.is_empty()).then_some(counts)
}

impl Config {
    /// The interval between the events of a fan-out to `n`: `fanout_every`, or more for
    /// large fan-outs (1 ms per 20 subscribers: 950 ms at 19,000, 5 s at 100,000) so that
    /// one event's fan-out ends before the next starts on this 2-core machine.
    pub fn fanout_every(&self, n: usize) -> Duration {
        self.fanout_every.max(Duration::from_millis(
            u64::try_from(n / 20).unwrap_or(u64::MAX),
        ))
    }

    pub fn full() -> Self {
        Self {
            throughput_events: 1_000_000,
            throughput_cap: Duration::from_secs(10),
            stream_counts: vec![1_000, 10_000],
            h2_stream_counts: counts_from_env("BENCH_STREAMS_H2_COUNTS")
                .unwrap_or_else(|| vec![1_000, 10_000, 100_000]),
            open_concurrency: 256,
            ttfe_connections: 10_000,
            ttfe_warmup: 200,
            ttfe_cap: Duration::from_secs(10),
            short_concurrency: 64,
            short_warmup: Duration::from_millis(500),
            short_window: Duration::from_secs(3),
            fanout_counts: counts_from_env("BENCH_FANOUT_COUNTS")
                .unwrap_or_else(|| vec![1_000, 10_000, 100_000]),
            fanout_events: 6,
            fanout_every: Duration::from_millis(500),
            fanout_fastapi_max: 1_000,
            streams_fastapi_max: 1_000,
        }
    }

    pub fn quick() -> Self {
        Self {
            throughput_events: 100_000,
            throughput_cap: Duration::from_secs(3),
            stream_counts: vec![1_000],
            h2_stream_counts: counts_from_env("BENCH_STREAMS_H2_COUNTS")
                .unwrap_or_else(|| vec![1_000]),
            ttfe_connections: 1_000,
            ttfe_warmup: 50,
            ttfe_cap: Duration::from_secs(3),
            short_warmup: Duration::from_millis(200),
            short_window: Duration::from_secs(1),
            fanout_counts: counts_from_env("BENCH_FANOUT_COUNTS").unwrap_or_else(|| vec![1_000]),
            fanout_events: 4,
            ..Self::full()
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    Throughput,
    Streams(usize),
    /// Idle streams over h2c, `H2_STREAMS_PER_CONNECTION` per connection.
    StreamsH2(usize),
    Ttfe,
    Short,
    Fanout(usize),
    /// The fan-out to HTTP/2 streams, `H2_STREAMS_PER_CONNECTION` per h2c connection.
    FanoutH2(usize),
    /// The fan-out with the old client (`--scenarios fanout-hyper`).
    FanoutHyper(usize),
}

impl Scenario {
    pub fn name(self) -> String {
        match self {
            Scenario::Throughput => "throughput".to_owned(),
            Scenario::Streams(n) => format!("{} idle streams", thousands(n)),
            Scenario::StreamsH2(n) => format!("{} idle streams over h2c", thousands(n)),
            Scenario::Ttfe => "time to first event".to_owned(),
            Scenario::Short => "short streams".to_owned(),
            Scenario::Fanout(n) => format!("fan-out to {}", thousands(n)),
            Scenario::FanoutH2(n) => format!("fan-out to {} over h2c", thousands(n)),
            Scenario::FanoutHyper(n) => format!("fan-out to {} (old client)", thousands(n)),
        }
    }

    /// Why `server` sits this scenario out, if it does.
    pub fn skips(self, server: &str, config: &Config) -> Option<String> {
        match self {
            Scenario::Fanout(n) | Scenario::FanoutHyper(n)
                if server == "FastAPI" && n > config.fanout_fastapi_max =>
            {
                Some(format!(
                    "FastAPI sits out fan-outs above {}",
                    thousands(config.fanout_fastapi_max)
                ))
            }
            Scenario::StreamsH2(_) | Scenario::FanoutH2(_) if server == "FastAPI" => {
                Some("FastAPI (uvicorn) serves no h2c".to_owned())
            }
            Scenario::Streams(n) if server == "FastAPI" && n > config.streams_fastapi_max => {
                Some(format!(
                    "FastAPI sits out idle-stream runs above {}",
                    thousands(config.streams_fastapi_max)
                ))
            }
            _ => None,
        }
    }

    pub async fn run(
        self,
        server: &ServerProc,
        config: &Config,
    ) -> Result<Vec<(Metric, f64)>, BoxError> {
        match self {
            Scenario::Throughput => throughput(server.addr, config).await,
            Scenario::Streams(n) => idle_streams(server, n, config).await,
            Scenario::StreamsH2(n) => idle_streams_h2(server, n).await,
            Scenario::Ttfe => time_to_first_event(server.addr, config).await,
            Scenario::Short => short_streams(server.addr, config).await,
            Scenario::Fanout(n) => fan_out(server, n, config, Transport::Http1),
            Scenario::FanoutH2(n) => fan_out(server, n, config, Transport::H2c),
            Scenario::FanoutHyper(n) => fan_out_hyper(server.addr, n, config).await,
        }
    }
}

/// Throughput: one connection, `GET /events`, read until `throughput_events` events were
/// counted (or the cap elapsed). Events/s = events counted / time from connect to the
/// last one. The client only scans for line ends (memchr), far faster than any server.
async fn throughput(addr: SocketAddr, config: &Config) -> Result<Vec<(Metric, f64)>, BoxError> {
    let want = config.throughput_events;
    let cap = config.throughput_cap;
    let start = Instant::now();
    let events = client::with_stream(addr, "/events", |mut stream| async move {
        let read = stream.read_events(want);
        match tokio::time::timeout(cap, read).await {
            Ok(Ok(true)) | Err(_) => Ok(stream.counter.events()),
            Ok(Ok(false)) => Err(BoxError::from("/events ended")),
            Ok(Err(err)) => Err(err),
        }
    })
    .await?;
    let rate = events as f64 / start.elapsed().as_secs_f64();
    Ok(vec![(Metric::Throughput, rate)])
}

/// Open streams: after one warm-up stream, `GET /idle` (one event, then only keep-alive)
/// on `n` connections, `open_concurrency` of them being opened at a time, each counted
/// open at its first event. Figures: the time until all `n` are open, and the growth of
/// the server's resident memory (VmRSS) from before the first to 300 ms after the last,
/// divided by `n`. The client holds each connection without polling it.
async fn idle_streams(
    server: &ServerProc,
    n: usize,
    config: &Config,
) -> Result<Vec<(Metric, f64)>, BoxError> {
    let addr = server.addr;
    drop(client::open_and_hold(addr, "/idle").await?);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = server.rss_kib();

    let start = Instant::now();
    let permits = Rc::new(tokio::sync::Semaphore::new(config.open_concurrency));
    let mut opening = Vec::with_capacity(n);
    for _ in 0..n {
        let permits = Rc::clone(&permits);
        opening.push(tokio::task::spawn_local(async move {
            let _permit = permits.acquire().await;
            client::open_and_hold(addr, "/idle").await
        }));
    }
    let mut held = Vec::with_capacity(n);
    let mut failed = 0usize;
    let mut first_error = None;
    for task in opening {
        match task.await? {
            Ok(stream) => held.push(stream),
            Err(err) => {
                failed += 1;
                first_error.get_or_insert(err);
            }
        }
    }
    let open_ms = start.elapsed().as_secs_f64() * 1e3;
    if let Some(err) = first_error {
        return Err(format!("{failed} of {n} streams failed to open: {err}").into());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = server.rss_kib();
    drop(held);
    let mut figures = vec![(Metric::OpenTime(n), open_ms)];
    if let (Some(before), Some(after)) = (before, after) {
        let per_stream = after.saturating_sub(before) as f64 / n as f64;
        figures.push((Metric::RssPerStream(n), per_stream));
    }
    Ok(figures)
}

/// HTTP/2 streams that share one connection in the h2c idle-stream scenario.
pub const H2_STREAMS_PER_CONNECTION: usize = 100;

/// Idle streams over HTTP/2: `n` streams of `GET /idle` on `n / 100` h2c connections
/// (prior knowledge), 100 streams each, every stream open at its first event; the client
/// holds them without polling. Figure: the growth of the server's RSS from before the
/// first (after a warm-up connection) to 300 ms after the last, per stream: what a
/// stream costs when the connection's cost is shared, beside `RssPerStream` (one
/// connection per stream).
async fn idle_streams_h2(server: &ServerProc, n: usize) -> Result<Vec<(Metric, f64)>, BoxError> {
    let addr = server.addr;
    drop(client::open_h2_streams(addr, "/idle", 1).await?);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = server.rss_kib();
    let connections = n.div_ceil(H2_STREAMS_PER_CONNECTION);
    let mut held = Vec::with_capacity(connections);
    // Ten connections at a time: 1,000 streams being opened at once.
    for batch in (0..connections).collect::<Vec<_>>().chunks(10) {
        let mut opening = Vec::new();
        for _ in batch {
            opening.push(tokio::task::spawn_local(client::open_h2_streams(
                addr,
                "/idle",
                H2_STREAMS_PER_CONNECTION,
            )));
        }
        for task in opening {
            held.push(task.await??);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = server.rss_kib();
    drop(held);
    let mut figures = Vec::new();
    if let (Some(before), Some(after)) = (before, after) {
        let streams = (connections * H2_STREAMS_PER_CONNECTION) as f64;
        figures.push((
            Metric::RssPerStreamH2(n),
            after.saturating_sub(before) as f64 / streams,
        ));
    }
    Ok(figures)
}

/// Time to first event: `ttfe_connections` connections one after the other (after a
/// warm-up), each timed from before `connect` to the end of the first event of
/// `GET /idle`, then closed (or as many as fit in `ttfe_cap`).
async fn time_to_first_event(
    addr: SocketAddr,
    config: &Config,
) -> Result<Vec<(Metric, f64)>, BoxError> {
    let mut samples = Vec::with_capacity(config.ttfe_connections);
    let mut deadline = None;
    for i in 0..config.ttfe_warmup + config.ttfe_connections {
        if i == config.ttfe_warmup {
            deadline = Some(Instant::now() + config.ttfe_cap);
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            break;
        }
        let start = Instant::now();
        client::with_stream(addr, "/idle", |mut stream| async move {
            if stream.read_events(1).await? {
                Ok(())
            } else {
                Err(BoxError::from("/idle ended before its first event"))
            }
        })
        .await?;
        if i >= config.ttfe_warmup {
            samples.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    samples.sort_by(f64::total_cmp);
    Ok(vec![
        (Metric::TtfeP50, percentile(&samples, 0.50)),
        (Metric::TtfeP99, percentile(&samples, 0.99)),
    ])
}

/// Short streams: `short_concurrency` clients, each in a loop: new connection,
/// `GET /short`, read to the end (checking 10 events), close. Connections/s = streams
/// completed inside the window that follows the warm-up, divided by the window.
async fn short_streams(addr: SocketAddr, config: &Config) -> Result<Vec<(Metric, f64)>, BoxError> {
    let start = Instant::now();
    let counted_from = start + config.short_warmup;
    let end = counted_from + config.short_window;
    let completed = Rc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..config.short_concurrency {
        let completed = Rc::clone(&completed);
        workers.push(tokio::task::spawn_local(async move {
            while Instant::now() < end {
                let events = client::with_stream(addr, "/short", |mut stream| async move {
                    stream.read_to_end().await?;
                    Ok(stream.counter.events())
                })
                .await?;
                if events != 10 {
                    return Err(BoxError::from(format!(
                        "/short sent {events} events, not 10"
                    )));
                }
                let done = Instant::now();
                if done >= counted_from && done < end {
                    completed.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok::<(), BoxError>(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let rate = completed.load(Ordering::Relaxed) as f64 / config.short_window.as_secs_f64();
    Ok(vec![(Metric::ShortConnections, rate)])
}

/// Fan-out: `n` subscribers open `GET /fanout` (each counted open at its response head);
/// 500 ms after the last is open, one `GET /publish` makes the server publish
/// `fanout_events` events, `Config::fanout_every(n)` apart, each stamped with its
/// publication time. Every delivery's latency is the kernel's receive time of the segment
/// that completed the event minus that stamp (`fanout_client.rs`: plain sockets on one
/// epoll, `SO_TIMESTAMPNS`), so the client's own speed does not enter the figure; its CPU
/// time is reported beside it. Also: the server's RSS growth per open subscriber.
///
/// Over `Transport::Http1` every subscriber is a connection (`open_concurrency` being
/// opened at a time); over `Transport::H2c` a stream, `H2_STREAMS_PER_CONNECTION` per
/// connection (`fanout_h2.rs`; ten connections, 1,000 streams, being opened at a time, as
/// in the idle h2c scenario).
///
/// Runs the client on the calling thread (it blocks the driver's runtime, which has
/// nothing else to do meanwhile).
fn fan_out(
    server: &ServerProc,
    n: usize,
    config: &Config,
    transport: Transport,
) -> Result<Vec<(Metric, f64)>, BoxError> {
    use crate::fanout_client::{self, Plan};
    let before = server.rss_kib();
    let mut after = None;
    let mut cpu_before = None;
    let mut on_open = || {
        after = server.rss_kib();
        cpu_before = server.cpu_time();
    };
    let mut plan = Plan {
        addr: server.addr,
        subscribers: n,
        events: config.fanout_events,
        every: config.fanout_every(n),
        open_concurrency: config.open_concurrency,
        on_open: &mut on_open,
    };
    let run = match transport {
        Transport::Http1 => fanout_client::run(plan, 1, |_| fanout_client::Http1::default())?,
        Transport::H2c => {
            plan.open_concurrency = 10;
            fanout_client::run(plan, H2_STREAMS_PER_CONNECTION, crate::fanout_h2::H2::new)?
        }
    };
    let server_cpu = server
        .cpu_time()
        .zip(cpu_before)
        .map(|(end, start)| end.saturating_sub(start));
    let name = transport.fan_out_to(n);
    if run.coalesced > 0 {
        eprintln!(
            "[{name}] NOTICE: {} reads completed more than one event of one subscriber, \
             stamped alike: right if the server wrote them together (it fell an event \
             behind), late for the first if the client read after the second arrived",
            run.coalesced
        );
    }
    eprintln!(
        "[{name}] opened in {:.0} ms; client CPU {:.0} ms over {:.0} ms of publishing; \
         user-space stamp p50/p99/max {:.1}/{:.1}/{:.1} ms; {} reads completed events of \
         several subscribers (h2c: streams of one connection)",
        run.open.as_secs_f64() * 1e3,
        run.client_cpu.as_secs_f64() * 1e3,
        run.publish_wall.as_secs_f64() * 1e3,
        percentile_of(&run.user_ms, 0.50),
        percentile_of(&run.user_ms, 0.99),
        percentile_of(&run.user_ms, 1.0),
        run.multi_stream_reads,
    );
    let mut all = run.kernel_ms;
    all.sort_by(f64::total_cmp);
    let mut figures = vec![
        (
            Metric::Fanout(transport, n, Stat::P50),
            percentile(&all, 0.50),
        ),
        (
            Metric::Fanout(transport, n, Stat::P99),
            percentile(&all, 0.99),
        ),
        (
            Metric::Fanout(transport, n, Stat::Max),
            all.last().copied().unwrap_or(f64::NAN),
        ),
        (
            Metric::FanoutClientCpu(transport, n),
            run.client_cpu.as_secs_f64() * 1e3,
        ),
    ];
    if let Some(cpu) = server_cpu {
        let deliveries = (n as f64) * config.fanout_events as f64;
        figures.push((
            Metric::FanoutServerCpu(transport, n),
            cpu.as_secs_f64() * 1e6 / deliveries,
        ));
    }
    if let (Some(before), Some(after)) = (before, after) {
        figures.push((
            Metric::FanoutRss(transport, n),
            after.saturating_sub(before) as f64 / n as f64,
        ));
    }
    Ok(figures)
}

fn percentile_of(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    percentile(&sorted, q)
}

/// The old fan-out (`--scenarios fanout-hyper`, for comparing methods): `n` subscribers
/// open `GET /fanout` with the hyper client on the driver's single-threaded `LocalSet`
/// (`open_concurrency` at a time, each counted open at its response head) and read on;
/// 500 ms after the last is open, one
/// `GET /publish` makes the server publish `fanout_events` events, one every
/// `fanout_every`, each stamped with its publication time. Every subscriber notes, for
/// every event, its arrival time minus that stamp (same machine, same clock); the figures
/// are the percentiles over all n × events deliveries. Deliveries still missing 15 s after
/// the last publication fail the run.
async fn fan_out_hyper(
    addr: SocketAddr,
    n: usize,
    config: &Config,
) -> Result<Vec<(Metric, f64)>, BoxError> {
    let events = config.fanout_events;
    let opened = Rc::new(AtomicU64::new(0));
    let failed: Rc<std::cell::RefCell<Option<BoxError>>> = Rc::default();
    let permits = Rc::new(tokio::sync::Semaphore::new(config.open_concurrency));
    let publish_span = config.fanout_every(n) * u32::try_from(events).unwrap_or(u32::MAX);
    let mut subscribers = Vec::with_capacity(n);
    for _ in 0..n {
        let (opened, failed, permits) =
            (Rc::clone(&opened), Rc::clone(&failed), Rc::clone(&permits));
        subscribers.push(tokio::task::spawn_local(async move {
            let permit = permits.acquire().await;
            let (mut conn, mut stream) = match client::open_head(addr, "/fanout").await {
                Ok(open) => open,
                Err(err) => {
                    failed.borrow_mut().get_or_insert(err);
                    return Vec::new();
                }
            };
            drop(permit);
            opened.fetch_add(1, Ordering::Relaxed);
            let mut latencies = client::Latencies::default();
            let read = async {
                while (latencies.millis.len() as u64) < events {
                    match stream.body.frame().await {
                        Some(Ok(frame)) => {
                            if let Ok(data) = frame.into_data() {
                                latencies.feed(&data);
                            }
                        }
                        _ => break,
                    }
                }
            };
            // Bounded: opening everything, publishing, and 15 s to spare.
            let limit = Duration::from_secs(60) + publish_span;
            tokio::select! {
                _ = tokio::time::timeout(limit, read) => {}
                _ = &mut conn => {}
            }
            latencies.millis
        }));
    }
    while opened.load(Ordering::Relaxed) < n as u64 {
        if let Some(err) = failed.borrow_mut().take() {
            return Err(format!("a subscriber failed to open: {err}").into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let every = config.fanout_every(n).as_millis();
    client::get_text(addr, &format!("/publish?n={events}&every_ms={every}")).await?;
    let mut all = Vec::with_capacity(n * events as usize);
    let deadline = Instant::now() + publish_span + Duration::from_secs(15);
    for subscriber in subscribers {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, subscriber).await {
            Ok(latencies) => all.extend(latencies?),
            Err(_) => break,
        }
    }
    let expected = n * events as usize;
    if all.len() < expected {
        return Err(format!("{} of {expected} deliveries missing", expected - all.len()).into());
    }
    all.sort_by(f64::total_cmp);
    Ok(vec![
        (Metric::FanoutHyper(n, Stat::P50), percentile(&all, 0.50)),
        (Metric::FanoutHyper(n, Stat::P99), percentile(&all, 0.99)),
        (
            Metric::FanoutHyper(n, Stat::Max),
            all.last().copied().unwrap_or(f64::NAN),
        ),
    ])
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Checks that a server sends what the others send: `/events`, `/idle` and `/short`
/// streams of `{"message":"Event N","timestamp":<float>}` events. Returns the first
/// event of `/events`, for the log.
pub async fn sanity_check(addr: SocketAddr) -> Result<String, BoxError> {
    let first = client::with_stream(addr, "/events", |mut stream| async move {
        stream.read_events(3).await?;
        Ok(stream.counter.first_event().map(<[u8]>::to_vec))
    })
    .await?
    .ok_or("no first event")?;
    let text = String::from_utf8(first)?;
    let json = text
        .strip_prefix("data: ")
        .and_then(|t| t.strip_suffix("\n\n"))
        .ok_or_else(|| format!("unexpected first event {text:?}"))?;
    let value: serde_json::Value = serde_json::from_str(json)?;
    if value["message"] != "Event 0" || !value["timestamp"].is_f64() {
        return Err(format!("unexpected first event {text:?}").into());
    }
    let short = client::with_stream(addr, "/short", |mut stream| async move {
        stream.read_to_end().await?;
        Ok(stream.counter.events())
    })
    .await?;
    if short != 10 {
        return Err(format!("/short sent {short} events").into());
    }
    drop(client::open_and_hold(addr, "/idle").await?);
    Ok(text.trim_end().to_owned())
}
