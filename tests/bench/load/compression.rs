//! Compressed streams (issue #15): `--scenarios compression`.
//!
//! One server process (`load serve compress PORT`: our app with `App::compression` on)
//! per measurement, pinned like the others. For each payload and coding (`identity` =
//! no `Accept-Encoding`, then `gzip`, `br`, `zstd`):
//!
//! - **bytes per event**: the response body bytes (after HTTP/1.1 chunked framing is
//!   removed) of a stream of N events, one frame each (the handler yields to the runtime
//!   between events, so none are coalesced: the worst case for compression), divided by N;
//! - **server CPU per event**: the server process's `utime + stime` (`/proc/PID/stat`)
//!   over that stream, divided by N;
//! - **time to first event**: p50 of M sequential fresh connections per coding, request
//!   sent to the first body bytes received (the compressor is created and its first frame
//!   flushed in between), all to one server with the codings taking turns (identity, gzip,
//!   br, zstd, identity, ...), so that the machine's changing load falls on every coding
//!   alike;
//! - **RSS per idle stream**: K streams held open after their first event, the server's
//!   RSS growth divided by K (an idle compressed stream keeps its encoder state).
//!
//! Payloads (served by `servers/compressed.rs`): the stock ticker's `price_update` events as
//! `examples/stocks.rs` sends them (its own `PriceFeed`: one symbol per stream, no id) and an
//! LLM token stream (OpenAI `chat.completion.chunk` objects with one token each).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

use crate::procs::{Launch, Pinning, ServerProc};
use crate::record;
use crate::shared::{median, BoxError, COMPRESSED_SERVER as SERVER};

const CODINGS: [&str; 4] = ["identity", "gzip", "br", "zstd"];

/// Sizes of one run.
pub struct Sizes {
    events: u64,
    ttfe_connections: usize,
    idle_streams: usize,
}

impl Sizes {
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                events: 5_000,
                ttfe_connections: 50,
                idle_streams: 200,
            }
        } else {
            Self {
                events: 50_000,
                ttfe_connections: 1_000,
                idle_streams: 1_000,
            }
        }
    }
}

/// `utime + stime` of `pid` in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces), from field 3 on.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((utime + stime) / ticks)
}

/// A GET of `path` with `Accept-Encoding: coding` (none for `identity`) on a fresh
/// connection; the response, and the connection task.
async fn open(
    addr: SocketAddr,
    path: &str,
    coding: &str,
) -> Result<
    (
        hyper::Response<hyper::body::Incoming>,
        tokio::task::JoinHandle<()>,
    ),
    BoxError,
> {
    let tcp = crate::client::connect(addr).await?;
    let (mut sender, conn) = http1::handshake::<_, Empty<Bytes>>(TokioIo::new(tcp)).await?;
    let conn = tokio::task::spawn_local(async move {
        let _ = conn.await;
    });
    let mut request = http::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .header(http::header::ACCEPT, "text/event-stream");
    if coding != "identity" {
        request = request.header(http::header::ACCEPT_ENCODING, coding);
    }
    let response = sender.send_request(request.body(Empty::new())?).await?;
    let got = response
        .headers()
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity");
    if got != coding {
        return Err(format!("{path}: content-encoding {got}, want {coding}").into());
    }
    Ok((response, conn))
}

/// Body bytes per event and server CPU seconds per event of `n` events of `path`.
async fn per_event(
    proc: &ServerProc,
    pid: u32,
    path: &str,
    coding: &str,
    n: u64,
) -> Result<(f64, f64), BoxError> {
    let before = cpu_seconds(pid).ok_or("no /proc stat")?;
    let (response, conn) = open(proc.addr, &format!("{path}?n={n}"), coding).await?;
    let mut body = response.into_body();
    let mut bytes = 0usize;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            bytes += data.len();
        }
    }
    conn.abort();
    let after = cpu_seconds(pid).ok_or("no /proc stat")?;
    Ok((bytes as f64 / n as f64, (after - before) / n as f64))
}

/// Time to the first body bytes of one fresh connection asking for `coding` (ms).
async fn first_event_ms(proc: &ServerProc, coding: &str) -> Result<f64, BoxError> {
    let started = Instant::now();
    let (response, conn) = open(proc.addr, "/idle", coding).await?;
    let mut body = response.into_body();
    loop {
        let Some(frame) = body.frame().await else {
            return Err("the stream ended before its first event".into());
        };
        if frame?.data_ref().is_some_and(|d| !d.is_empty()) {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    conn.abort();
    Ok(elapsed)
}

/// p50 time to first body bytes per coding (ms, in `CODINGS` order), over `m` rounds of
/// sequential fresh connections to one server, the codings taking turns within each round:
/// the machine's load changes over seconds, so codings measured one after the other (or
/// on servers started one after the other) would each see a different machine.
async fn ttfe_interleaved(proc: &ServerProc, m: usize) -> Result<Vec<f64>, BoxError> {
    let mut times = vec![Vec::with_capacity(m); CODINGS.len()];
    // Warm-up: the first connections pay for the runtime's and the allocator's first use.
    for coding in CODINGS {
        for _ in 0..5 {
            first_event_ms(proc, coding).await?;
        }
    }
    for _ in 0..m {
        for (slot, coding) in times.iter_mut().zip(CODINGS) {
            slot.push(first_event_ms(proc, coding).await?);
        }
    }
    Ok(times.iter().map(|t| median(t)).collect())
}

/// Server RSS growth per stream (KiB) with `k` idle streams open after their first event.
async fn rss_per_idle(proc: &ServerProc, coding: &str, k: usize) -> Result<f64, BoxError> {
    // Warm up the runtime's allocator and worker threads first.
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(open_idle(proc.addr, coding).await?);
    }
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = proc.rss_kib().ok_or("no RSS")?;
    let mut held = Vec::with_capacity(k);
    for _ in 0..k {
        held.push(open_idle(proc.addr, coding).await?);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = proc.rss_kib().ok_or("no RSS")?;
    drop(held);
    Ok((after.saturating_sub(before)) as f64 / k as f64)
}

/// An idle stream whose first event arrived; dropping it closes the connection.
async fn open_idle(addr: SocketAddr, coding: &str) -> Result<impl Drop, BoxError> {
    struct Held {
        conn: tokio::task::JoinHandle<()>,
        /// Kept so that the response stays open.
        _body: hyper::body::Incoming,
    }
    impl Drop for Held {
        fn drop(&mut self) {
            self.conn.abort();
        }
    }
    let (response, conn) = open(addr, "/idle", coding).await?;
    let mut body = response.into_body();
    match body.frame().await {
        Some(frame) => {
            frame?;
        }
        None => return Err("the idle stream ended".into()),
    }
    Ok(Held { conn, _body: body })
}

/// One row of the table.
struct Row {
    coding: &'static str,
    stock_bytes: f64,
    stock_cpu: f64,
    token_bytes: f64,
    token_cpu: f64,
    ttfe: f64,
    rss: f64,
}

/// The rows of the run's record (`record.rs`): scenario `compression`, the coding as the
/// variant, server `ours`, one repetition each.
fn records(rows: &[Row]) -> Vec<record::Row> {
    let mut records = Vec::new();
    for row in rows {
        for (metric, label, unit, value) in [
            (
                "stocks_bytes_per_event",
                "stocks bytes per event",
                "B",
                row.stock_bytes,
            ),
            (
                "stocks_cpu_per_event",
                "stocks server CPU per event",
                "µs",
                row.stock_cpu * 1e6,
            ),
            (
                "tokens_bytes_per_event",
                "tokens bytes per event",
                "B",
                row.token_bytes,
            ),
            (
                "tokens_cpu_per_event",
                "tokens server CPU per event",
                "µs",
                row.token_cpu * 1e6,
            ),
            ("ttfe_p50", "time to first event p50", "ms", row.ttfe),
            (
                "rss_per_idle_stream",
                "server RSS per idle stream",
                "KiB",
                row.rss,
            ),
        ] {
            let label = format!("compressed streams: {label} ({unit})");
            records.extend(record::Row::new(
                "compression",
                None,
                Some(row.coding),
                metric,
                "ours",
                &label,
                unit,
                false,
                &[value],
            ));
        }
    }
    records
}

/// Runs every measurement and returns the report's section and the record's rows.
pub fn run(
    pinning: Pinning,
    sizes: &Sizes,
    runtime: &tokio::runtime::Runtime,
    local: &tokio::task::LocalSet,
) -> Result<(String, Vec<record::Row>), BoxError> {
    let mut rows = Vec::new();
    for coding in CODINGS {
        let proc = ServerProc::start(&Launch::Rust(SERVER), pinning)?;
        let pid = proc.pid().ok_or("no pid")?;
        let measured = local.block_on(runtime, async {
            let (stock_bytes, stock_cpu) =
                per_event(&proc, pid, "/stocks", coding, sizes.events).await?;
            let (token_bytes, token_cpu) =
                per_event(&proc, pid, "/tokens", coding, sizes.events).await?;
            let rss = rss_per_idle(&proc, coding, sizes.idle_streams).await?;
            Ok::<_, BoxError>(Row {
                coding,
                stock_bytes,
                stock_cpu,
                token_bytes,
                token_cpu,
                ttfe: f64::NAN,
                rss,
            })
        });
        proc.stop();
        let row = measured?;
        eprintln!(
            "[compression] {coding}: stocks {:.1} B/event {:.2} µs/event, tokens {:.1} B/event {:.2} µs/event, {:.1} KiB/idle stream",
            row.stock_bytes,
            row.stock_cpu * 1e6,
            row.token_bytes,
            row.token_cpu * 1e6,
            row.rss
        );
        rows.push(row);
    }
    // Time to first event: one server, the codings interleaved.
    let proc = ServerProc::start(&Launch::Rust(SERVER), pinning)?;
    let ttfes = local.block_on(runtime, ttfe_interleaved(&proc, sizes.ttfe_connections));
    proc.stop();
    for (row, ttfe) in rows.iter_mut().zip(ttfes?) {
        row.ttfe = ttfe;
        eprintln!("[compression] {}: ttfe p50 {ttfe:.3} ms", row.coding);
    }
    let base = &rows[0];
    let mut out = String::new();
    let _ = writeln!(out, "\n## Compressed streams\n");
    let _ = writeln!(
        out,
        "| coding | stocks B/event | stocks ratio | stocks CPU µs/event | tokens B/event | tokens ratio | tokens CPU µs/event | TTFE p50 ms | TTFE vs identity | RSS KiB/idle stream |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    for row in &rows {
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1}× | {:.2} | {:.1} | {:.1}× | {:.2} | {:.3} | {:.2}× | {:.1} |",
            row.coding,
            row.stock_bytes,
            base.stock_bytes / row.stock_bytes,
            row.stock_cpu * 1e6,
            row.token_bytes,
            base.token_bytes / row.token_bytes,
            row.token_cpu * 1e6,
            row.ttfe,
            row.ttfe / base.ttfe,
            row.rss,
        );
    }
    let _ = writeln!(
        out,
        "\n{} events per stream (one frame each) and {} idle streams for RSS, one server \
         process per coding; time to first event: p50 of {} fresh connections per coding to \
         one server, the codings taking turns. Targets (read, not \
         asserted): ≥ 5× fewer bytes for both payloads, time to first event within 1.1× of \
         identity.",
        sizes.events, sizes.idle_streams, sizes.ttfe_connections
    );
    for row in &rows[1..] {
        let _ = writeln!(
            out,
            "- {}: bytes ≥ 5× fewer: stocks {} ({:.1}×), tokens {} ({:.1}×); TTFE ≤ 1.1×: {} ({:.2}×)",
            row.coding,
            if base.stock_bytes / row.stock_bytes >= 5.0 { "met" } else { "NOT met" },
            base.stock_bytes / row.stock_bytes,
            if base.token_bytes / row.token_bytes >= 5.0 { "met" } else { "NOT met" },
            base.token_bytes / row.token_bytes,
            if row.ttfe / base.ttfe <= 1.1 { "met" } else { "NOT met" },
            row.ttfe / base.ttfe,
        );
    }
    Ok((out, records(&rows)))
}
