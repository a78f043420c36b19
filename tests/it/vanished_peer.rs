//! A peer that vanishes without a FIN or RST, over a real link: the client (`curl`) runs
//! in a network namespace joined to the test process by a veth pair; once it is
//! streaming, its end of the link goes down, so nothing it would send (no FIN, no RST, no
//! ACK) ever reaches the server. The server, bound to the host end, must notice on its
//! own — keep-alive comments or events that stay unacknowledged past `TCP_USER_TIMEOUT`
//! (= `Limits::send_timeout`), or TCP keepalive probes while nothing at all is sent —
//! drop the connection, run the stream's cleanup, and keep serving.
//!
//! Needs root and `ip netns` (iproute2) and `curl`. Without them the tests print a notice
//! and pass, unless `CI` is set: then they fail (the rule of `sse_tests::tools`).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sse_runtime::{App, Compression, KeepAlive, Limits, ServerSentEvent, Sse, State};
use sse_tests::cleanups::Cleanups;
use sse_tests::netns::{why_not, Veth};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// How long a write may stay unacknowledged: the send timeout, which is also
/// `TCP_USER_TIMEOUT` on Linux.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);
/// Keep-alive comments after this much silence.
const KEEP_ALIVE: Duration = Duration::from_millis(500);
/// TCP keepalive: idle time before the first probe (probes every second after it).
const TCP_KEEPALIVE: Duration = Duration::from_secs(1);
/// Sooner than this, the server can only have learnt of the disconnection from a FIN or
/// an RST: the link would not be a blackhole.
const TOO_SOON: Duration = Duration::from_millis(500);

/// An event every 200 ms, forever.
async fn ticking(State(cleanups): State<Cleanups>) -> Sse {
    Sse::new(async_stream::stream! {
        let _guard = cleanups.guard();
        for i in 0u64.. {
            yield ServerSentEvent::new().data(i).id(i.to_string());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

/// Three events, then nothing: only keep-alive comments (if any) go out.
async fn quiet(State(cleanups): State<Cleanups>) -> Sse {
    Sse::new(async_stream::stream! {
        let _guard = cleanups.guard();
        for i in 0u64..3 {
            yield ServerSentEvent::new().data(i).id(i.to_string());
        }
        std::future::pending::<()>().await;
    })
}

/// A network namespace with a veth pair to the test process's namespace, on a private
/// /30: the host end has `.1`, the namespace end `.2`. Torn down when dropped (also when
/// a test panics), with every client started in it.
struct Lab {
    veth: Veth,
    clients: Vec<Child>,
}

impl Lab {
    /// The lab of test `case` (0, 1, 2, ...: unique within this file), or `None` after
    /// a notice where namespaces cannot be made. Under CI that is a failure instead.
    fn create(case: u8) -> Option<Self> {
        let pid = std::process::id();
        let made = match why_not(&["curl"]) {
            Some(why) => Err(why),
            None => Veth::create(
                format!("sse-vanish-{pid}-{case}"),
                format!("vh{pid}x{case}"),
                format!("vp{pid}x{case}"),
                231,
                case * 4,
            ),
        };
        match made {
            Ok(veth) => Some(Lab {
                veth,
                clients: Vec::new(),
            }),
            Err(why) => {
                sse_tests::tools::missing(
                    "the vanished-peer tests (tests/it/vanished_peer.rs)",
                    &format!("cannot make a network namespace: {why}"),
                    "apt-get install iproute2 curl && sudo -E cargo test -p sse-tests --test it vanished_peer",
                );
                None
            }
        }
    }

    /// Takes the namespace's end of the link down: whatever the client sends from now on
    /// (FIN, RST, ACK) is lost, and so is whatever the server sends it.
    fn blackhole(&self) {
        self.veth.set_peer_link(false).expect("link down");
    }

    /// Ends the clients started so far (the vanished ones stay gone: the server's RST
    /// would only confuse them), then brings the namespace's end of the link back up.
    fn restore(&mut self) {
        for client in &mut self.clients {
            let _ = client.kill();
            let _ = client.wait();
        }
        self.clients.clear();
        self.veth.set_peer_link(true).expect("link up");
    }

    /// `curl -N http://HOST:PORT/PATH` inside the namespace (with `--compressed`: asking
    /// for gzip, br or zstd, and decoding as it goes); its output, line by line.
    fn curl(&mut self, port: u16, path: &str, compressed: bool) -> UnboundedReceiver<String> {
        let url = format!("http://{}:{port}{path}", self.veth.host_ip);
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.veth.ns, "curl", "-sSN", "--http1.1"])
            .args(compressed.then_some("--compressed"))
            .args(["-H", "accept: text/event-stream", &url])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start curl in the namespace");
        let stdout = child.stdout.take().expect("curl's stdout");
        self.clients.push(child);
        let (lines, received) = unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        received
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for client in &mut self.clients {
            let _ = client.kill();
            let _ = client.wait();
        }
        // Then `veth` tears the namespace down.
    }
}

/// Reads lines until `n` events (`data:` lines) and, if `comments`, as many keep-alive
/// comments arrived.
async fn expect_lines(lines: &mut UnboundedReceiver<String>, events: usize, comments: usize) {
    let (mut seen_events, mut seen_comments) = (0, 0);
    let read = async {
        while seen_events < events || seen_comments < comments {
            let line = lines.recv().await.expect("curl ended early");
            if line.starts_with("data:") {
                seen_events += 1;
            } else if line.starts_with(':') {
                seen_comments += 1;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the client did not receive the expected lines within 10 s");
}

/// `GET /health` over a fresh connection to `addr`.
async fn health(addr: SocketAddr) -> String {
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket
        .write_all(b"GET /health HTTP/1.1\r\nhost: lab\r\nconnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_string(&mut answer))
        .await
        .expect("answer within 5 s")
        .expect("read");
    answer
}

/// One case: a client streams `path` from the namespace; once it has `events` events and
/// `comments` keep-alive comments (the stream idle but for them), and `idle` more passed,
/// its link is blackholed.
/// The stream's cleanup must run after more than `TOO_SOON` and within `bound`; the
/// server must then serve a client on the host, and a new one in the namespace once the
/// link is back. `compressed`: the app compresses and curl asks for it (`--compressed`).
async fn vanish(
    case: u8,
    compressed: bool,
    keep_alive: KeepAlive,
    path: &str,
    (events, comments): (usize, usize),
    idle: Duration,
    bound: Duration,
) {
    let Some(mut lab) = Lab::create(case) else {
        return;
    };
    let cleanups = Cleanups::default();
    let app = App::new()
        .get("/ticking", ticking)
        .get("/quiet", quiet)
        .get("/health", || async { "ok" })
        .state(cleanups.clone())
        .compression(if compressed {
            Compression::new()
        } else {
            Compression::off()
        })
        .keep_alive(keep_alive)
        .limits(
            Limits::default()
                .send_timeout(Some(SEND_TIMEOUT))
                .tcp_keepalive(Some(TCP_KEEPALIVE)),
        );
    let listener = tokio::net::TcpListener::bind((lab.veth.host_ip, 0))
        .await
        .expect("bind the host end of the veth");
    let addr = listener.local_addr().expect("local address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve_with_shutdown(listener, async {
        let _ = stopped.await;
    }));

    let mut lines = lab.curl(addr.port(), path, compressed);
    expect_lines(&mut lines, events, comments).await;
    tokio::time::sleep(idle).await;
    assert_eq!(
        cleanups.count(),
        0,
        "the stream ended before the link went down"
    );

    lab.blackhole();
    let after = cleanups
        .reached(1, bound + Duration::from_secs(5))
        .await
        .unwrap_or_else(|| {
            panic!("{path}: no cleanup within {bound:?} + 5 s of the link going down")
        });
    eprintln!(
        "{path}: vanished peer dropped, stream cleaned up {after:?} after the link went down"
    );
    assert!(
        after >= TOO_SOON,
        "{path}: cleanup after {after:?}: a FIN or RST must have reached the server"
    );
    assert!(
        after <= bound,
        "{path}: cleanup after {after:?}, over {bound:?}"
    );

    // The server keeps serving: a client on the host side...
    let answer = health(addr).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
    // ... and, with the link back, a new one in the namespace.
    lab.restore();
    let mut again = lab.curl(addr.port(), "/ticking", compressed);
    expect_lines(&mut again, 3, 0).await;

    let _ = stop.send(());
    drop(lab);
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server shut down")
        .expect("server task")
        .expect("server ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_vanishes_mid_stream_is_dropped_within_the_send_timeout() {
    // Events every 200 ms stay unacknowledged: TCP_USER_TIMEOUT fires.
    vanish(
        0,
        false,
        KeepAlive::new().interval(KEEP_ALIVE),
        "/ticking",
        (3, 0),
        Duration::ZERO,
        SEND_TIMEOUT + KEEP_ALIVE + Duration::from_secs(3),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_vanishes_from_an_idle_stream_is_found_by_keep_alive_comments() {
    // Nothing but keep-alive comments flows (two seen first): the first one after the
    // link went down stays unacknowledged, and TCP_USER_TIMEOUT fires.
    vanish(
        1,
        false,
        KeepAlive::new().interval(KEEP_ALIVE),
        "/quiet",
        (3, 2),
        Duration::ZERO,
        SEND_TIMEOUT + KEEP_ALIVE + Duration::from_secs(3),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_vanishes_from_a_silent_stream_is_found_by_tcp_keepalive() {
    // No keep-alive comments at all: only the kernel's keepalive probes (after 1 s idle,
    // bounded by TCP_USER_TIMEOUT) notice the vanished peer.
    vanish(
        2,
        false,
        KeepAlive::disabled(),
        "/quiet",
        (3, 0),
        // Idle long enough for a first keepalive probe to be answered.
        Duration::from_millis(1500),
        TCP_KEEPALIVE + SEND_TIMEOUT + TCP_KEEPALIVE + Duration::from_secs(3),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_vanishes_from_an_idle_compressed_stream_is_found_by_keep_alive_comments() {
    // As above, compressed (curl --compressed): each keep-alive comment is flushed through
    // the compressor at once, so it still goes out, stays unacknowledged, and
    // TCP_USER_TIMEOUT fires.
    vanish(
        3,
        true,
        KeepAlive::new().interval(KEEP_ALIVE),
        "/quiet",
        (3, 2),
        Duration::ZERO,
        SEND_TIMEOUT + KEEP_ALIVE + Duration::from_secs(3),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_vanishes_mid_compressed_stream_is_dropped_within_the_send_timeout() {
    vanish(
        4,
        true,
        KeepAlive::new().interval(KEEP_ALIVE),
        "/ticking",
        (3, 0),
        Duration::ZERO,
        SEND_TIMEOUT + KEEP_ALIVE + Duration::from_secs(3),
    )
    .await;
}
