//! The server that `tests/it/h2_abuse.rs` attacks, in a process of its own so that the
//! suite can read its resident memory (`/proc/PID/status`) without the test process's
//! own allocations in the figure.
//!
//! Prints `listening on ADDR` on stdout once bound, then serves until killed (the test
//! kills it when done), SIGTERM or Ctrl-C. Environment:
//!
//! - `TLS_CERT_PEM`, `TLS_KEY_PEM`: serve HTTPS (ALPN `h2`, `http/1.1`) with this
//!   certificate and key (the PEM text itself); otherwise plain HTTP/1.1 and h2c.
//! - `SEND_TIMEOUT_MS`: the send timeout (default: [`Limits`]' own).
//! - `MIN_SEND_RATE`: the minimum send rate in bytes a second, or `off` (default:
//!   [`Limits`]' own).
//!
//! Routes:
//!
//! - `GET /ticker`: an event at once, then one every 100 ms (a well-behaved client times
//!   its first event);
//! - `GET /firehose`: endless 16 KiB events, as fast as the client takes them;
//! - `GET /firehoses`: how many `/firehose` streams are open (the test sees when the
//!   server dropped one, which a client that does not read may not see for long);
//! - `GET /topic`: the broadcast topic `t`, to which the server publishes every 10 ms the
//!   wall-clock time in microseconds, a space and 1 KiB of padding (subscribers compute
//!   their delivery latency; the padding fills a stalled subscriber's socket quickly);
//! - `GET /health`: `ok`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sse_runtime::broadcast::{Broadcast, BroadcastConfig, Overflow, Subscription};
use sse_runtime::{App, LastEventId, Limits, ServerSentEvent, Sse, State, TlsConfig};

type Hub = Broadcast<String>;

async fn ticker() -> Sse {
    Sse::new(async_stream::stream! {
        for i in 0u64.. {
            yield ServerSentEvent::new().data(i);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// Open `/firehose` streams.
static FIREHOSES: AtomicUsize = AtomicUsize::new(0);

/// Counts one open `/firehose` stream until dropped.
struct Open;

impl Open {
    fn new() -> Self {
        FIREHOSES.fetch_add(1, Ordering::SeqCst);
        Self
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        FIREHOSES.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn firehose() -> Sse {
    Sse::new(async_stream::stream! {
        let _open = Open::new();
        let payload = "x".repeat(16 * 1024);
        loop {
            yield ServerSentEvent::new().raw_data(payload.clone());
        }
    })
}

async fn topic(State(hub): State<Hub>, last: LastEventId) -> Subscription<String> {
    hub.subscribe("t", last)
}

fn micros_now() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_micros())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sse_tests::init_tracing();
    let mut limits = Limits::default();
    if let Ok(ms) = std::env::var("SEND_TIMEOUT_MS") {
        limits = limits.send_timeout(Some(Duration::from_millis(ms.parse()?)));
    }
    if let Ok(rate) = std::env::var("MIN_SEND_RATE") {
        limits = limits.min_send_rate(match rate.as_str() {
            "off" => None,
            rate => Some(rate.parse()?),
        });
    }
    // A stalled subscriber's queue holds 1,024 events: at 100 a second it overflows (and
    // is disconnected) about ten seconds after its socket filled up.
    let hub = Hub::with_config(
        BroadcastConfig::new()
            .queue(1024)
            .overflow(Overflow::Disconnect),
    );
    let publisher = hub.clone();
    tokio::spawn(async move {
        let padding = "p".repeat(1024);
        let mut every = tokio::time::interval(Duration::from_millis(10));
        loop {
            every.tick().await;
            let _ = publisher
                .publish("t", format!("{} {padding}", micros_now()))
                .await;
        }
    });
    let app = App::new()
        .get("/ticker", ticker)
        .get("/firehose", firehose)
        .get("/topic", topic)
        .get("/firehoses", || async {
            FIREHOSES.load(Ordering::SeqCst).to_string()
        })
        .get("/health", || async { "ok" })
        .state(hub)
        .limits(limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?);
    let stop = sse_runtime::shutdown_signal();
    match (std::env::var("TLS_CERT_PEM"), std::env::var("TLS_KEY_PEM")) {
        (Ok(cert), Ok(key)) => {
            let tls = TlsConfig::from_pem(cert.as_bytes(), key.as_bytes())?;
            app.serve_tls(listener, tls, stop).await?;
        }
        _ => app.serve_with_shutdown(listener, stop).await?,
    }
    Ok(())
}
