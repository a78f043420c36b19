//! A zero-loss rolling restart behind real proxies (issue 24, item 4): two `chat_room`
//! processes on one `redis-server`, nginx, HAProxy and Caddy in front of both (configs
//! from `docs/deploy.md`), and through each proxy three kinds of clients — Chromium's
//! `EventSource`, the npm `eventsource` package (both in `tests/proxies/rolling_clients.mjs`,
//! which this test runs) and `sse_runtime::client` — reading one room that a publisher
//! feeds every 10 ms. Instance A gets SIGTERM and is started again, then B: every client
//! reconnects through its proxy to the other instance with `Last-Event-ID` and must have
//! every message exactly once, in order. The longest gap between two events each client
//! saw is printed.
//!
//! Also: an app's `shutdown_retry` is the last thing its streams send at shutdown.
//!
//! Without redis-server, nginx, haproxy, caddy, node, Chromium or the node packages
//! (`cd tests/proxies && npm ci`) the rolling test is skipped with a notice, unless `CI`
//! is set: then it fails (`.ci/run` installs them).

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sse_runtime::{App, ServerSentEvent, Sse};
use sse_tests::proxy::{example, free_port, root, Instance, Kind, Proxy};
use sse_tests::redis::RedisServer;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::showcase::chat_room::{self, ChatMessage};

const SUITE: &str = "the rolling-restart test (tests/it/rolling.rs)";
const COMMAND: &str = "apt-get install redis-server nginx haproxy caddy chromium nodejs npm \
     && (cd tests/proxies && npm ci) && cargo test -p sse-tests --test it rolling";

/// The message that tells the clients the publisher is done.
const END: &str = "end";

/// What one client got.
#[derive(Debug)]
struct Seen {
    client: String,
    values: Vec<u64>,
    distinct_ids: usize,
    opens: u64,
    max_gap_ms: u64,
    done: bool,
}

/// An `sse_runtime::client` reading `url` until the `end` message.
async fn rust_client(name: String, url: String, ready: tokio::sync::mpsc::Sender<()>) -> Seen {
    let mut source = sse_runtime::client::Client::new().get(&url).send();
    let mut seen = Seen {
        client: name,
        values: Vec::new(),
        distinct_ids: 0,
        opens: 0,
        max_gap_ms: 0,
        done: false,
    };
    let mut ids = std::collections::HashSet::new();
    let mut last: Option<Instant> = None;
    match source.open().await {
        Ok(true) => {
            let _ = ready.send(()).await;
        }
        other => panic!("{}: did not open: {other:?}", seen.client),
    }
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(30), source.next()).await {
        let event = event.unwrap_or_else(|err| panic!("{}: {err}", seen.client));
        let now = Instant::now();
        if let Some(last) = last {
            seen.max_gap_ms = seen
                .max_gap_ms
                .max(u64::try_from((now - last).as_millis()).unwrap_or(u64::MAX));
        }
        last = Some(now);
        ids.insert(event.id.clone());
        let message: ChatMessage = event.json().expect("a chat message");
        if message.text == END {
            seen.done = true;
            break;
        }
        seen.values.push(message.text.parse().expect("a number"));
    }
    seen.opens = u64::from(source.opens());
    seen.distinct_ids = ids.len();
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_behind_three_balancers_loses_and_duplicates_nothing() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    if !Proxy::available(&Kind::DOCUMENTED, SUITE, COMMAND)
        || sse_tests::tools::require("node", SUITE, COMMAND).is_none()
        || sse_tests::tools::require(&chromium, SUITE, COMMAND).is_none()
    {
        return;
    }
    let clients_dir = root().join("tests/proxies");
    if !clients_dir.join("node_modules/eventsource").is_dir()
        || !clients_dir.join("node_modules/playwright-core").is_dir()
    {
        sse_tests::tools::missing(
            SUITE,
            "tests/proxies/node_modules is not installed",
            COMMAND,
        );
        return;
    }
    let Some(redis) = RedisServer::start(SUITE, COMMAND) else {
        return;
    };
    let exe = tokio::task::spawn_blocking(|| example("chat_room"))
        .await
        .unwrap();
    let redis_url = redis.url();
    // Keep-alive below the proxies' 5 s idle timeout (docs/deploy.md).
    let env = [("REDIS_URL", redis_url.as_str()), ("KEEP_ALIVE_SECS", "2")];
    let ports = [free_port(), free_port()];
    let mut instances = [
        Instance::start(&exe, ports[0], &env),
        Instance::start(&exe, ports[1], &env),
    ];
    let proxies = tokio::task::spawn_blocking(move || {
        Kind::DOCUMENTED.map(|kind| Proxy::start(kind, &ports))
    })
    .await
    .unwrap();
    let room = format!("rolling-{}", std::process::id());

    // The browser and npm clients.
    let targets: Vec<_> = proxies
        .iter()
        .map(|p| serde_json::json!({ "name": p.kind.name(), "url": p.url() }))
        .collect();
    let config = serde_json::json!({
        "targets": targets, "room": room, "end": END, "timeoutMs": 60_000,
    });
    let mut node = tokio::process::Command::new("node")
        .arg("rolling_clients.mjs")
        .arg(config.to_string())
        .current_dir(&clients_dir)
        .env("CHROMIUM", &chromium)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start node");
    let mut node_lines = BufReader::new(node.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), node_lines.next_line())
        .await
        .expect("the node clients open within 30 s")
        .expect("read node's output");
    assert_eq!(ready.as_deref(), Some(r#"{"ready":true}"#));

    // Two Rust clients per proxy.
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(8);
    let mut rust = Vec::new();
    for proxy in &proxies {
        for i in 0..2 {
            let url = format!("{}/rooms/{room}/events", proxy.url());
            let name = format!("sse_runtime::client #{i} via {}", proxy.kind.name());
            rust.push(tokio::spawn(rust_client(name, url, ready_tx.clone())));
        }
    }
    for _ in 0..rust.len() {
        tokio::time::timeout(Duration::from_secs(10), ready_rx.recv())
            .await
            .expect("the Rust clients open");
    }

    // The publisher: one message every 10 ms, on its own hub on the same Redis.
    let hub = chat_room::make_hub(Some(&redis_url)).await.expect("hub");
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (hub, room, stop) = (hub.clone(), room.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut n = 0u64;
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let message = ChatMessage {
                    user: "publisher".into(),
                    text: n.to_string(),
                };
                hub.publish(&room, message).await.expect("publish");
                n += 1;
            }
            n
        })
    };

    // The rolling restart: A, then B, each SIGTERM'd and started again on its port.
    let mut cycle = Vec::new();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for i in 0..2 {
        let name = ["A", "B"][i];
        let port = instances[i].port;
        let started = Instant::now();
        let status =
            tokio::task::block_in_place(|| instances[i].terminate(Duration::from_secs(10)));
        let exited = started.elapsed();
        assert!(
            status.is_some_and(|s| s.success()),
            "instance {name} after SIGTERM: {status:?}"
        );
        instances[i] = tokio::task::block_in_place(|| Instance::start(&exe, port, &env));
        cycle.push(format!(
            "{name}: SIGTERM → exit 0 in {exited:.0?}, back after {:.0?}",
            started.elapsed()
        ));
        // Long enough for every proxy to take the new instance back (nginx: fail_timeout
        // 2 s; HAProxy, Caddy: health checks every 500 ms).
        tokio::time::sleep(Duration::from_millis(2500)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let published = publisher.await.unwrap();
    hub.publish(
        &room,
        ChatMessage {
            user: "publisher".into(),
            text: END.into(),
        },
    )
    .await
    .expect("publish the end");

    let mut seen = Vec::new();
    for task in rust {
        seen.push(task.await.unwrap());
    }
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_secs(60), node_lines.next_line()).await
    {
        let value: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        seen.push(Seen {
            client: value["client"].as_str().unwrap_or("?").to_owned(),
            values: serde_json::from_value(value["values"].clone()).expect("values"),
            distinct_ids: value["ids"].as_u64().unwrap_or(0) as usize,
            opens: value["opens"].as_u64().unwrap_or(0),
            max_gap_ms: value["maxGapMs"].as_u64().unwrap_or(0),
            done: value["done"].as_bool().unwrap_or(false),
        });
    }
    let _ = node.wait().await;

    for line in &cycle {
        eprintln!("rolling restart: {line}");
    }
    eprintln!("rolling restart: {published} messages published, one every 10 ms");
    assert_eq!(seen.len(), 3 * 4, "every client reported: {seen:?}");
    let expected: Vec<u64> = (0..published).collect();
    let mut worst: HashMap<&str, u64> = HashMap::new();
    for client in &seen {
        let lost = expected
            .iter()
            .filter(|n| !client.values.contains(n))
            .count();
        let dupes = client.values.len() + lost - expected.len();
        eprintln!(
            "rolling restart: {:<34} received {:>4}, lost {lost}, duplicates {dupes}, \
             connections {}, longest gap between two events {} ms",
            client.client,
            client.values.len(),
            client.opens,
            client.max_gap_ms
        );
        let proxy = client.client.rsplit(' ').next().unwrap_or("?");
        let entry = worst.entry(proxy).or_default();
        *entry = (*entry).max(client.max_gap_ms);
    }
    for client in &seen {
        assert!(client.done, "{}: no end message", client.client);
        assert_eq!(
            client.values, expected,
            "{}: lost, duplicated or reordered messages",
            client.client
        );
        assert_eq!(
            client.distinct_ids,
            expected.len() + 1,
            "{}: ids",
            client.client
        );
        // A went down, then B: every client was moved at least once.
        assert!(
            client.opens >= 2,
            "{}: never reconnected ({} connection)",
            client.client,
            client.opens
        );
    }
    let mut worst: Vec<_> = worst.into_iter().collect();
    worst.sort();
    eprintln!("rolling restart: longest gap per proxy (ms): {worst:?}");
    drop(proxies);
}

/// `App::shutdown_retry`: at shutdown an open stream's last bytes are the `retry:` field
/// (then the farewell event, if any), and the chunked body is terminated.
#[tokio::test]
async fn rolling_shutdown_retry_is_the_last_thing_a_stream_sends() {
    async fn forever() -> Sse {
        Sse::new(
            futures_util::stream::once(async { ServerSentEvent::new().raw_data("hello") })
                .chain(futures_util::stream::pending()),
        )
    }
    for farewell in [false, true] {
        let mut app = App::new()
            .get("/stream", forever)
            .shutdown_retry(Duration::from_millis(100));
        if farewell {
            app = app
                .farewell(ServerSentEvent::new().event("bye").raw_data("restarting"))
                .unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.serve_with_shutdown(listener, async move {
            let _ = stopped.await;
        }));
        let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        socket
            .write_all(b"GET /stream HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(11).any(|w| w == b"data: hello") {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed early");
            head.extend_from_slice(&buf[..n]);
        }
        drop(stop);
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut rest))
            .await
            .expect("the stream ends")
            .unwrap();
        let rest = String::from_utf8_lossy(&rest);
        let expected = if farewell {
            "retry: 100\n\nevent: bye\ndata: restarting\n\n"
        } else {
            "retry: 100\n\n"
        };
        assert!(
            rest.contains(expected) && rest.ends_with("0\r\n\r\n"),
            "farewell {farewell}: {rest:?}"
        );
        server.await.unwrap().unwrap();
    }
}
