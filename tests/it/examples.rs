//! The example binaries (`examples/NAME.rs`, package `sse-examples`), as
//! `cargo run --example NAME` runs them: each prints `listening on http://HOST:PORT` first,
//! serves its routes over TCP, and exits cleanly on Ctrl-C (SIGINT), even with a stream
//! open.
//!
//! Each example's routes are tested in the example itself (`cargo test -p sse-examples
//! --examples`); this file only runs what is common to all of them, the binaries.

/// The example binaries themselves, as `cargo run --example NAME` runs them.
mod binaries {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// `target/<profile>/examples/NAME`, freshly built: `cargo test` builds the examples,
    /// but `cargo test --test it examples` alone does not, so build them (a no-op when fresh).
    fn example_binary(name: &str) -> PathBuf {
        static BUILT: std::sync::Once = std::sync::Once::new();
        BUILT.call_once(|| {
            let mut cargo = Command::new(env!("CARGO"));
            cargo.args(["build", "--quiet", "-p", "sse-examples", "--examples"]);
            if !cfg!(debug_assertions) {
                cargo.arg("--release");
            }
            let status = cargo.status().expect("run cargo");
            assert!(status.success(), "cargo build --examples failed");
        });
        // This test runs from target/<profile>/deps/.
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target/<profile>");
        let binary = profile_dir
            .join("examples")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        assert!(binary.exists(), "{} was not built", binary.display());
        binary
    }

    /// Kills the example if the test fails before it stops it.
    struct Running(Child);

    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Starts the example on a free port; returns it and its `HOST:PORT`.
    fn start(name: &str) -> (Running, String) {
        let mut child = Command::new(example_binary(name))
            .env("ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the example");
        let stdout = child.stdout.take().expect("stdout");
        let running = Running(child);
        let mut first_line = String::new();
        BufReader::new(stdout)
            .read_line(&mut first_line)
            .expect("read the first line");
        let addr = first_line
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.strip_suffix('\n'))
            .unwrap_or_else(|| panic!("{name}: first line was {first_line:?}"))
            .to_owned();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        (running, addr)
    }

    /// Sends one request and reads until `until` shows up; leaves the connection open.
    fn request_until(addr: &str, method: &str, path: &str, until: &str) -> (TcpStream, String) {
        let mut socket = TcpStream::connect(addr).expect("connect");
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            socket,
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\ncontent-length: 0\r\n\r\n"
        )
        .expect("send the request");
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains(until) {
            let n = socket.read(&mut buf).expect("read the response");
            assert!(n > 0, "connection closed before {until:?}: {seen:?}");
            seen.extend_from_slice(&buf[..n]);
        }
        (socket, String::from_utf8_lossy(&seen).into_owned())
    }

    /// Ctrl-C: SIGINT, then a clean exit within the shutdown grace period.
    fn interrupt_and_wait(mut running: Running, name: &str) {
        let pid = running.0.id().to_string();
        let status = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = running.0.try_wait().expect("wait") {
                assert!(status.success(), "{name} exited with {status} after Ctrl-C");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name} still running 10 s after Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Each example serves its route over TCP and stops on Ctrl-C, with the stream
    /// still open (the endless ones never end on their own).
    #[test]
    #[cfg(unix)]
    fn every_example_prints_its_address_serves_and_stops_on_ctrl_c() {
        let cases = [
            ("quickstart", "GET", "/stream", "\"message\":\"Event 0\""),
            ("typed_events", "GET", "/events", "\"message\":\"Hello\""),
            (
                "notifications",
                "GET",
                "/notifications",
                "event: notification",
            ),
            (
                "logs",
                "GET",
                "/logs/stream",
                "data: 2025-01-01 INFO Application started",
            ),
            (
                "chat",
                "POST",
                "/chat/stream?query=Rust",
                "data: \"Thinking...\"",
            ),
            (
                "stocks",
                "GET",
                "/stocks/AAPL/stream",
                "event: price_update",
            ),
            ("resume", "GET", "/items/stream", "id: 0"),
            ("safe_stream", "GET", "/safe-stream", "data: {\"count\":0}"),
            ("chat_room", "GET", "/rooms/lobby/events", "retry: 1000"),
            (
                "auth",
                "GET",
                "/private/events?token=demo-token",
                "event: private",
            ),
            ("hand_written", "GET", "/counter", "event: tick"),
            ("axum_mount", "GET", "/events/ticks", "data: {\"tick\":0}"),
            (
                "showcase",
                "GET",
                "/",
                "<title>sse-runtime showcase</title>",
            ),
        ];
        for (name, method, path, until) in cases {
            let (running, addr) = start(name);
            let (socket, seen) = request_until(&addr, method, path, until);
            if path != "/" {
                assert!(
                    seen.contains("content-type: text/event-stream; charset=utf-8"),
                    "{name}: {seen}"
                );
            }
            interrupt_and_wait(running, name);
            drop(socket);
        }
    }
}
