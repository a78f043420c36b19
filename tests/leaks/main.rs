//! No leaks: many connect / read one event / disconnect cycles leave the server's live
//! task count at its baseline, run every cleanup guard, and return RSS to within a small
//! margin.
//!
//! CI runs a time-bounded number of cycles; the full 100,000 is
//! `LEAK_CYCLES=100000 cargo test --release -p sse-tests --test leaks -- --nocapture`.

use std::time::{Duration, Instant};

use sse_runtime::{App, ServerSentEvent, Sse, State};
use sse_tests::cleanups::Cleanups;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn stream(State(cleanups): State<Cleanups>) -> Sse {
    Sse::new(async_stream::stream! {
        let _guard = cleanups.guard();
        for i in 0u64.. {
            yield ServerSentEvent::new().data(i);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// One cycle: connect, request the stream, read up to the first event, close.
async fn cycle(addr: std::net::SocketAddr) {
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket
        .write_all(b"GET /stream HTTP/1.1\r\nhost: leak\r\n\r\n")
        .await
        .expect("write");
    let mut seen = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    while !seen.windows(2).any(|w| w == b"\n\n") {
        let n = socket.read(&mut buf).await.expect("read");
        assert!(n > 0, "server closed before the first event");
        seen.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn connect_read_disconnect_cycles_leak_nothing() {
    let cycles: usize = std::env::var("LEAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000);
    let budget = Duration::from_secs(
        std::env::var("LEAK_SECONDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if cycles > 3_000 { 3_600 } else { 30 }),
    );

    // The server gets a runtime of its own, so its task count is not mixed with the client's.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let cleanups = Cleanups::default();
    let listener = server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = App::new().get("/stream", stream).state(cleanups.clone());
    server_rt.spawn(app.serve_with_shutdown(listener, std::future::pending::<()>()));
    let metrics = server_rt.handle().metrics();

    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Warm up (allocator arenas, lazy statics), then take the baseline.
    client_rt.block_on(async {
        for _ in 0..200 {
            cycle(addr).await;
        }
    });
    let settle = |want: usize| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while cleanups.count() < want && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Connection tasks end right after their streams.
        std::thread::sleep(Duration::from_millis(300));
    };
    settle(200);
    let baseline_tasks = metrics.num_alive_tasks();
    let baseline_rss = rss_bytes();

    let started = Instant::now();
    let done = client_rt.block_on(async {
        let mut done = 0;
        while done < cycles && started.elapsed() < budget {
            let batch: Vec<_> = (0..32.min(cycles - done))
                .map(|_| tokio::spawn(cycle(addr)))
                .collect();
            for task in batch {
                task.await.expect("cycle");
                done += 1;
            }
        }
        done
    });
    assert!(done >= 500, "only {done} cycles ran in {budget:?}");
    settle(200 + done);

    let cleaned = cleanups.count();
    let tasks = metrics.num_alive_tasks();
    let rss = rss_bytes();
    eprintln!(
        "{done} cycles in {:?}: cleanups {cleaned}, tasks {baseline_tasks} -> {tasks}, RSS {} KiB -> {} KiB",
        started.elapsed(),
        baseline_rss / 1024,
        rss / 1024
    );
    assert_eq!(cleaned, 200 + done, "every stream's cleanup guard ran");
    assert_eq!(tasks, baseline_tasks, "live server tasks back at baseline");
    assert!(
        rss < baseline_rss + 32 * 1024 * 1024,
        "RSS grew from {baseline_rss} to {rss}"
    );
}
