//! Real reverse proxies in front of two app instances (issue 24, item 3): nginx, HAProxy
//! and Caddy, each started here with its configuration read verbatim from
//! `docs/deploy.md` (only the placeholder ports replaced), and `curl -N` as the client.
//!
//! - the first event of a one-per-second stream arrives within 1 s through each proxy,
//!   and every later one about a second after the one before (never two at once);
//! - through the proxies' gzip, the same: each event decodable as it arrives;
//! - a stream silent for 20 s stays open through a 5 s proxy timeout thanks to a 2 s
//!   keep-alive, and without keep-alive the proxy cuts it after about 5 s;
//! - a bare nginx `proxy_pass`: HTTP/1.0 upstream; per event only thanks to the app's
//!   `X-Accel-Buffering: no` (without it, buffered), which the documented config does not
//!   depend on.
//!
//! Without nginx, haproxy, caddy or curl on PATH these tests are skipped with a notice,
//! unless `CI` is set: then they fail (`.ci/run` installs them).

use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::stream;
use sse_runtime::http::request::Parts;
use sse_runtime::{App, Compression, KeepAlive, ServerSentEvent, Sse};
use sse_tests::proxy::{documented_block, Kind, Proxy};
use tokio::io::{AsyncBufReadExt, BufReader};

const SUITE: &str = "the proxy tests (tests/it/proxy.rs)";
const COMMAND: &str =
    "apt-get install nginx haproxy caddy curl && cargo test -p sse-tests --test it proxy";

/// How long the quiet streams stay silent.
const QUIET: Duration = Duration::from_secs(20);

/// One event per second, forever: `id: n`, `data: tick n`.
async fn ticks() -> Sse {
    Sse::new(stream::unfold(0u64, |n| async move {
        if n > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let event = ServerSentEvent::new()
            .raw_data(format!("tick {n}"))
            .id(n.to_string());
        Some((event, n + 1))
    }))
}

/// `data: start`, then silence for [`QUIET`], then `data: end`, and the end.
fn quiet_events() -> impl futures_util::Stream<Item = ServerSentEvent> + Send + 'static {
    async_stream::stream! {
        yield ServerSentEvent::new().raw_data("start");
        tokio::time::sleep(QUIET).await;
        yield ServerSentEvent::new().raw_data("end");
    }
}

/// A quiet stream with the app's keep-alive (2 s).
async fn quiet() -> Sse {
    Sse::new(quiet_events())
}

/// A quiet stream without keep-alive.
async fn quiet_no_keep_alive() -> Sse {
    Sse::new(quiet_events()).keep_alive(KeepAlive::disabled())
}

/// The request as the app got it: `HTTP/1.0 connection=close`.
async fn request_line(parts: Parts) -> String {
    let connection = parts
        .headers
        .get("connection")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-");
    format!("{:?} connection={connection}", parts.version)
}

async fn health() -> &'static str {
    "ok"
}

/// The tests' app: keep-alive every 2 s. With `strip_accel`, a tower layer removes
/// `X-Accel-Buffering` from every response (an app that does not send it).
fn app(strip_accel: bool) -> App {
    App::new()
        .get("/health", health)
        .get("/ticks", ticks)
        .get("/quiet", quiet)
        .get("/quiet-no-keep-alive", quiet_no_keep_alive)
        .get("/request", request_line)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(2)))
        .layer(::tower::util::MapResponseLayer::new(
            move |mut response: sse_runtime::Response| {
                if strip_accel {
                    response.headers_mut().remove("x-accel-buffering");
                }
                response
            },
        ))
}

/// Serves `app` on a free loopback port in this process until dropped.
async fn serve(app: App) -> (u16, Stop) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        let _ = stopped.await;
    };
    tokio::spawn(async move {
        app.serve_with_shutdown(listener, signal).await.unwrap();
    });
    (port, stop)
}

/// Shuts a [`serve`]d app down when dropped.
type Stop = tokio::sync::oneshot::Sender<()>;

/// Two instances of `app`.
async fn two_instances(app: impl Fn() -> App) -> ([u16; 2], [Stop; 2]) {
    let (a, stop_a) = serve(app()).await;
    let (b, stop_b) = serve(app()).await;
    ([a, b], [stop_a, stop_b])
}

/// Proxies start in threads (each waits for its port): all at once.
async fn start_proxies(kinds: &[Kind], upstreams: &[u16]) -> Vec<Proxy> {
    let upstreams = upstreams.to_vec();
    let kinds = kinds.to_vec();
    tokio::task::spawn_blocking(move || {
        kinds
            .iter()
            .map(|&kind| Proxy::start(kind, &upstreams))
            .collect()
    })
    .await
    .unwrap()
}

/// What `curl -sS -N` read from `url`: the response head and each body line with the
/// time it arrived (from the start), and how curl ended.
#[derive(Debug)]
struct Read {
    head: String,
    lines: Vec<(Duration, String)>,
    ended: Option<(Duration, i32)>,
}

impl Read {
    /// The `data:` lines with their times.
    fn data(&self) -> Vec<(Duration, &str)> {
        self.lines
            .iter()
            .filter_map(|(at, line)| line.strip_prefix("data: ").map(|data| (*at, data)))
            .collect()
    }

    fn comments(&self) -> usize {
        self.lines
            .iter()
            .filter(|(_, l)| l.starts_with(':'))
            .count()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

/// Runs `curl -sS -N [--compressed] -D - url` until it has read `data_lines` data lines
/// (then stops it) or ends by itself, for at most `limit`.
async fn curl(url: &str, compressed: bool, data_lines: usize, limit: Duration) -> Read {
    let mut command = tokio::process::Command::new("curl");
    command.args(["-sS", "-N", "-D", "-"]);
    if compressed {
        command.arg("--compressed");
    }
    let mut child = command
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start curl");
    let started = Instant::now();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut read = Read {
        head: String::new(),
        lines: Vec::new(),
        ended: None,
    };
    let mut in_head = true;
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let line = match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Err(_) => break,
            Ok(Ok(Some(line))) => line,
            Ok(_) => {
                let status = child.wait().await.expect("curl's status");
                read.ended = Some((started.elapsed(), status.code().unwrap_or(-1)));
                break;
            }
        };
        let line = line.trim_end_matches('\r').to_owned();
        if in_head {
            if line.is_empty() {
                in_head = false;
            } else {
                read.head.push_str(&line);
                read.head.push('\n');
            }
            continue;
        }
        read.lines.push((started.elapsed(), line));
        if read.data().len() >= data_lines {
            break;
        }
    }
    let _ = child.kill().await;
    read
}

/// Asserts one event per second through `what`: the first within 1 s, each later one
/// 0.5 to 1.5 s after the one before (so not held back and released together). Returns
/// the first event's latency.
fn assert_one_by_one(what: &str, read: &Read) -> Duration {
    let data = read.data();
    assert!(
        data.len() >= 3,
        "{what}: only {} events in time: {read:?}",
        data.len()
    );
    for (n, (_, text)) in data.iter().enumerate() {
        assert_eq!(*text, format!("tick {n}"), "{what}: {read:?}");
    }
    let first = data[0].0;
    assert!(
        first < Duration::from_secs(1),
        "{what}: the first event took {first:?}: {read:?}"
    );
    for pair in data.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap > Duration::from_millis(500) && gap < Duration::from_millis(1500),
            "{what}: events {gap:?} apart, not one by one: {read:?}"
        );
    }
    first
}

/// How a stream is compressed in [`proxy_streams_each_event_at_once_plain_and_gzipped`].
#[derive(Clone, Copy, Debug, PartialEq)]
enum Gzip {
    /// Not at all: the client does not ask.
    No,
    /// The client asks; the app does not compress, the proxy may.
    AtProxy,
    /// The client asks; the app compresses (`App::compression`).
    AtApp,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_streams_each_event_at_once_plain_and_gzipped() {
    if !Proxy::available(&Kind::DOCUMENTED, SUITE, COMMAND)
        || sse_tests::tools::require("curl", SUITE, COMMAND).is_none()
    {
        return;
    }
    let (ports, _stop) = two_instances(|| app(false)).await;
    let (compressing, _stop_compressing) =
        two_instances(|| app(false).compression(Compression::new())).await;
    let proxies = start_proxies(&Kind::DOCUMENTED, &ports).await;
    let before_compressing = start_proxies(&Kind::DOCUMENTED, &compressing).await;
    let mut runs = Vec::new();
    for (proxy, gzip) in proxies
        .iter()
        .flat_map(|proxy| [(proxy, Gzip::No), (proxy, Gzip::AtProxy)])
        .chain(before_compressing.iter().map(|proxy| (proxy, Gzip::AtApp)))
    {
        let url = format!("{}/ticks", proxy.url());
        let name = proxy.kind.name();
        runs.push(async move {
            let read = curl(&url, gzip != Gzip::No, 3, Duration::from_secs(8)).await;
            (name, gzip, read)
        });
    }
    for (name, gzip, read) in futures_util::future::join_all(runs).await {
        let what = match gzip {
            Gzip::No => name.to_owned(),
            Gzip::AtProxy => format!("{name}, gzip at the proxy"),
            Gzip::AtApp => format!("{name}, gzip by the app"),
        };
        assert!(read.head.starts_with("HTTP/1.1 200"), "{what}: {read:?}");
        assert!(
            read.header("content-type")
                .is_some_and(|t| t.starts_with("text/event-stream")),
            "{what}: {}",
            read.head
        );
        // The documented HAProxy and Caddy configs keep their gzip off event streams
        // (docs/deploy.md): every other combination is gzip.
        let encoding = match (gzip, name) {
            (Gzip::No, _) | (Gzip::AtProxy, "caddy" | "haproxy") => None,
            _ => Some("gzip"),
        };
        assert_eq!(
            read.header("content-encoding"),
            encoding,
            "{what}: {}",
            read.head
        );
        let first = assert_one_by_one(&what, &read);
        eprintln!(
            "{what}: content-encoding {}, first event after {:.0} ms, then {:?}",
            encoding.unwrap_or("none"),
            first.as_secs_f64() * 1e3,
            read.data()
                .windows(2)
                .map(|p| format!("{:.0} ms", (p[1].0 - p[0].0).as_secs_f64() * 1e3))
                .collect::<Vec<_>>()
        );
    }
}

/// 20 s without an event, through a proxy whose idle timeout is 5 s: the app's 2 s
/// keep-alive keeps the stream open (the same connection gets `end` at 20 s); without
/// keep-alive the proxy cuts it after about 5 s. All proxies and both streams at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_keep_alive_keeps_an_idle_stream_open_and_without_it_the_proxy_cuts_it() {
    if !Proxy::available(&Kind::DOCUMENTED, SUITE, COMMAND)
        || sse_tests::tools::require("curl", SUITE, COMMAND).is_none()
    {
        return;
    }
    let (ports, _stop) = two_instances(|| app(false)).await;
    let proxies = start_proxies(&Kind::DOCUMENTED, &ports).await;
    let limit = QUIET + Duration::from_secs(8);
    let mut runs = Vec::new();
    for proxy in &proxies {
        for keep_alive in [true, false] {
            let path = if keep_alive {
                "/quiet"
            } else {
                "/quiet-no-keep-alive"
            };
            let url = format!("{}{path}", proxy.url());
            let name = proxy.kind.name();
            runs.push(async move { (name, keep_alive, curl(&url, false, 2, limit).await) });
        }
    }
    for (name, keep_alive, read) in futures_util::future::join_all(runs).await {
        let data = read.data();
        assert_eq!(data.first().map(|d| d.1), Some("start"), "{name}: {read:?}");
        if keep_alive {
            assert_eq!(
                data.get(1).map(|d| d.1),
                Some("end"),
                "{name}: the idle stream did not survive {QUIET:?}: {read:?}"
            );
            let silent = data[1].0 - data[0].0;
            assert!(silent >= QUIET - Duration::from_millis(500), "{name}");
            // At least one comment per 2 s interval reached the client.
            assert!(read.comments() >= 8, "{name}: {read:?}");
            eprintln!(
                "{name}: idle stream with a 2 s keep-alive open for {silent:.1?} \
                 ({} keep-alive comments), then its last event",
                read.comments()
            );
        } else {
            assert_eq!(data.len(), 1, "{name}: {read:?}");
            let (ended, code) = read
                .ended
                .unwrap_or_else(|| panic!("{name}: the unkept stream was not cut: {read:?}"));
            let open = ended - data[0].0;
            assert!(
                open > Duration::from_secs(4) && open < Duration::from_secs(12),
                "{name}: cut after {open:?}: {read:?}"
            );
            eprintln!(
                "{name}: idle stream without keep-alive cut by the proxy after {open:.1?} \
                 (curl exit {code})"
            );
        }
    }
}

/// A bare nginx `proxy_pass` (`test:nginx-bare`): the app gets HTTP/1.0 with
/// `Connection: close` (the documented config: HTTP/1.1, no `Connection: close`); events
/// pass one by one only because the app says `X-Accel-Buffering: no`: behind an app
/// that does not, the bare config holds them back, the documented one does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_bare_nginx_proxy_pass_needs_the_app_header_the_documented_config_does_not() {
    if !Proxy::available(&[Kind::Nginx], SUITE, COMMAND)
        || sse_tests::tools::require("curl", SUITE, COMMAND).is_none()
    {
        return;
    }
    let (ports, _stop) = two_instances(|| app(false)).await;
    let (stripped, _stop_stripped) = two_instances(|| app(true)).await;
    let bare = documented_block("nginx-bare");
    let mut proxies = tokio::task::spawn_blocking(move || {
        vec![
            Proxy::start_with(Kind::NginxBare, &bare, &ports),
            Proxy::start_with(Kind::NginxBare, &bare, &stripped),
            Proxy::start(Kind::Nginx, &ports),
            Proxy::start(Kind::Nginx, &stripped),
        ]
    })
    .await
    .unwrap();
    let stripped_documented = proxies.pop().unwrap();
    let documented = proxies.pop().unwrap();
    let bare_stripped = proxies.pop().unwrap();
    let bare = proxies.pop().unwrap();

    // What the app sees.
    for (proxy, expected) in [
        (&bare, "HTTP/1.0 connection=close"),
        (&documented, "HTTP/1.1 connection=-"),
    ] {
        let read = curl(
            &format!("{}/request", proxy.url()),
            false,
            0,
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(
            read.lines.first().map(|l| l.1.as_str()),
            Some(expected),
            "{read:?}"
        );
    }

    let runs = [
        ("bare, app sends X-Accel-Buffering: no", &bare),
        ("bare, app without the header", &bare_stripped),
        ("documented, app sends the header", &documented),
        ("documented, app without the header", &stripped_documented),
    ]
    .map(|(what, proxy)| async move {
        let read = curl(
            &format!("{}/ticks", proxy.url()),
            false,
            3,
            Duration::from_millis(2500),
        )
        .await;
        (what, read)
    });
    let reads = futures_util::future::join_all(runs).await;
    for (what, read) in &reads {
        if *what == "bare, app without the header" {
            assert!(
                read.data().is_empty(),
                "{what}: expected nginx to buffer, got {read:?}"
            );
            eprintln!(
                "nginx {what}: no event within 2.5 s (buffered; response head {})",
                if read.head.is_empty() {
                    "not sent either"
                } else {
                    "sent"
                }
            );
        } else {
            let first = assert_one_by_one(&format!("nginx {what}"), read);
            eprintln!(
                "nginx {what}: first event after {:.0} ms, one per second",
                first.as_secs_f64() * 1e3
            );
        }
    }
}
