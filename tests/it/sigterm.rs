//! SIGTERM to a running example with open streams: it stops accepting, ends every stream
//! (each cleanup runs, each chunked body is terminated properly) and exits 0.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Builds the example (a no-op when fresh) and returns its path next to this test binary.
fn example(name: &str) -> std::path::PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "sse-examples", "--example", name])
        .status()
        .expect("run cargo");
    assert!(status.success(), "building example {name} failed");
    let deps = std::env::current_exe().unwrap();
    let profile_dir = deps.parent().and_then(|d| d.parent()).unwrap();
    profile_dir.join("examples").join(name)
}

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
