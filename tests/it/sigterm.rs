//! SIGTERM to a running example with open streams: it stops accepting, ends every stream
//! (each cleanup runs, each chunked body is terminated properly) and exits 0: with three
//! streams, and with 10,000 (within the shutdown grace).

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use sse_tests::example_bin::example;

#[tokio::test]
async fn sigterm_ends_open_streams_runs_cleanup_and_exits_zero() {
    let mut child = Command::new(example("hand_written"))
        .env("ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start example");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line was {first:?}"))
        .to_owned();

    // Three clients attached to live streams.
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
        socket
            .write_all(b"GET /counter HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = socket.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).contains("200 OK"));
        sockets.push(socket);
    }

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    for mut socket in sockets {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut rest))
            .await
            .expect("stream ended after SIGTERM")
            .unwrap();
        assert!(
            rest.ends_with(b"0\r\n\r\n"),
            "chunked body not terminated: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }

    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "did not exit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(code.success(), "exit status {code:?}");

    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logs).unwrap();
    assert_eq!(
        logs.matches("counter stream cleaned up").count(),
        3,
        "cleanups in logs:\n{logs}"
    );
    assert!(logs.contains("SIGTERM received"), "{logs}");
    // Nothing listens any more.
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err());
}

/// Raises this process's soft limit of open files to its hard limit (children inherit
/// it); the limit now.
fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur
    }
}

/// SIGTERM with 10,000 open streams (`SIGTERM_STREAMS`): every stream ends with a
/// terminated chunked body, every one of their cleanups runs (the example's `Drop`
/// guard logs a line each), and the process exits 0 within the shutdown grace (5 s)
/// plus a margin. The streams come from 127.0.0.1 and 127.0.0.2 (bound before
/// connecting); this process's open-files limit is raised to its hard limit, which the
/// example inherits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_ten_thousand_open_streams_drains_within_the_grace() {
    const GRACE: Duration = Duration::from_secs(5);
    const MARGIN: Duration = Duration::from_secs(5);
    let streams: usize = std::env::var("SIGTERM_STREAMS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let limit = raise_fd_limit();
    // Ours and the example's sockets, each in its process; the other suites' too.
    let streams = if limit < streams as u64 + 2_000 {
        let fewer = usize::try_from(limit.saturating_sub(2_000)).unwrap_or(0);
        eprintln!("NOTICE: the open-files limit is {limit}: {fewer} streams instead of {streams}");
        fewer
    } else {
        streams
    };
    let mut child = Command::new(example("hand_written"))
        .env("ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start example");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr: std::net::SocketAddr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line was {first:?}"))
        .parse()
        .unwrap();
    // The logs, read as they come (20,000 lines would fill the pipe and stall it).
    let stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut cleanups = 0usize;
        let mut sigterm = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            cleanups += usize::from(line.contains("counter stream cleaned up"));
            sigterm |= line.contains("SIGTERM received");
        }
        (cleanups, sigterm)
    });

    // Every stream open: response head and first event read, then held.
    let opening = Instant::now();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(256));
    let mut tasks = Vec::with_capacity(streams);
    for i in 0..streams {
        let permits = std::sync::Arc::clone(&permits);
        tasks.push(tokio::spawn(async move {
            let permit = permits.acquire_owned().await.unwrap();
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            let source = std::net::Ipv4Addr::new(127, 0, 0, 1 + u8::from(i % 2 == 1));
            socket.bind((source, 0).into()).unwrap();
            let mut socket = socket.connect(addr).await.unwrap();
            socket
                .write_all(b"GET /counter HTTP/1.1\r\nhost: x\r\n\r\n")
                .await
                .unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(11).any(|w| w == b"event: tick") {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed before the first event");
                head.extend_from_slice(&buf[..n]);
            }
            assert!(String::from_utf8_lossy(&head).contains("200 OK"));
            drop(permit);
            socket
        }));
    }
    let mut sockets = Vec::with_capacity(streams);
    for task in tasks {
        sockets.push(task.await.expect("a stream opens"));
    }
    let opened_in = opening.elapsed();

    let sigterm_at = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    // Every stream ends properly.
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                let mut rest = Vec::new();
                tokio::time::timeout(GRACE + MARGIN, socket.read_to_end(&mut rest))
                    .await
                    .expect("stream ended after SIGTERM")
                    .unwrap();
                assert!(
                    rest.ends_with(b"0\r\n\r\n"),
                    "chunked body not terminated: {:?}",
                    String::from_utf8_lossy(&rest[rest.len().saturating_sub(200)..])
                );
            })
        })
        .collect();
    for reader in readers {
        reader.await.unwrap();
    }
    let drained_in = sigterm_at.elapsed();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            sigterm_at.elapsed() < GRACE + MARGIN,
            "did not exit within the grace + {MARGIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let exited_in = sigterm_at.elapsed();
    assert!(code.success(), "exit status {code:?}");
    let (cleanups, sigterm) = logs.join().unwrap();
    assert!(sigterm, "no `SIGTERM received` in the logs");
    assert_eq!(cleanups, streams, "cleanups that ran");
    eprintln!(
        "SIGTERM with {streams} streams: opened in {opened_in:?}; every stream ended {drained_in:?} \
         after SIGTERM, the process exited after {exited_in:?}; {cleanups} cleanups"
    );
}
