//! What the bench's parts share, and nothing else: the event every server sends, the
//! clock it is stamped with, the error type, the server names both sides use, and the
//! report's number formatting. A leaf: it imports no other module of the bench, so the
//! client side (`client`, `scenarios`, `fanout_*`, `compression`, `soak`) and the server
//! side (`servers`) meet here instead of in each other.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The error of everything that measures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The event every server sends (`Deserialize` for the Redis hub, which decodes what it
/// reads back from Redis).
#[derive(Clone, Serialize, Deserialize)]
pub struct Event {
    pub message: String,
    pub timestamp: f64,
}

impl Event {
    pub fn new(i: u64) -> Self {
        Self {
            message: format!("Event {i}"),
            timestamp: now(),
        }
    }
}

/// Seconds since the Unix epoch, as Python's `time.time()`: the servers stamp events with
/// it, the clients take arrival times from it.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The query of `GET /publish`.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
pub struct Publish {
    pub n: u64,
    pub every_ms: u64,
}

/// The topic of the fan-out scenario.
pub const TOPIC: &str = "bench";

/// The server name of `load serve compress PORT`: ours with `App::compression`
/// (`servers/compressed.rs`, measured by `compression.rs`).
pub const COMPRESSED_SERVER: &str = "compress";

/// The name of ours on the Redis hub in the table and in the log
/// (`target/tmp/bench-logs/`): `servers/ours.rs`, measured by `fanout_redis.rs`.
pub const REDIS_SERVER: &str = "ours + Redis";

/// Where the `ours + Redis` server process finds Redis (set by the driver, inherited).
pub const REDIS_URL_ENV: &str = "BENCH_REDIS_URL";

/// The median of `values` (not empty).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// `n` with thousands separators: `100,000`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The machine, for a report's "Run" section: CPU model, cores, memory, kernel.
pub fn machine(cores: usize) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or_else(String::new, |kib| {
            format!(", {} GiB", (kib + (1 << 19)) >> 20)
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| format!(", Linux {}", s.trim()))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores{memory}{kernel}")
}
