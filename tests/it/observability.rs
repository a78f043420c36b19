//! Observability (issue #14): the metrics and the end-of-stream log line, after scripted
//! runs over real sockets: streams that complete, error, are dropped by their client,
//! stop reading (send timeout) or are shut down; keep-alives; broadcast subscribers that
//! lag, are dropped or replayed; the bounded topic label. And the showcase's `/metrics`,
//! which must list every metric `docs/observability.md` documents.
//!
//! The `metrics` facade has one global recorder per process and the suites share this
//! binary: every test reads the showcase's Prometheus recorder (installed once, by
//! `showcase::metrics_handle`) and uses route patterns and topics of its own, so its
//! series are its alone.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use sse_runtime::broadcast::{Broadcast, BroadcastConfig, Overflow, Resume, Subscription};
use sse_runtime::observability::{self, TOPIC_LABELS};
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{App, HttpError, KeepAlive, LastEventId, Limits, ServerSentEvent, Sse, State};
use sse_runtime::{Path, StatusCode};
use tokio::io::AsyncWriteExt;

use crate::showcase;

/// One sample of the text format: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format (comments skipped).
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.strip_suffix('}').expect("closing brace")),
            None => (series, ""),
        };
        let mut map = BTreeMap::new();
        let mut rest = labels;
        while let Some((key, after)) = rest.split_once("=\"") {
            // Values here hold no escaped quotes (route patterns, topic names, words).
            let (value, after) = after.split_once('"').expect("closing quote");
            map.insert(key.trim_start_matches(',').to_owned(), value.to_owned());
            rest = after;
        }
        samples.push(Sample {
            name: name.to_owned(),
            labels: map,
            value: value.parse().expect("a number"),
        });
    }
    samples
}

/// The process's metrics now.
fn scrape() -> Vec<Sample> {
    let handle = showcase::metrics_handle().expect("the showcase's recorder is installed");
    handle.run_upkeep();
    parse(&handle.render())
}

/// The sum of `name`'s samples whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

/// Waits until `name{labels}` reaches `at_least`; returns the samples then.
async fn wait_for(name: &str, labels: &[(&str, &str)], at_least: f64) -> Vec<Sample> {
    let start = std::time::Instant::now();
    loop {
        let samples = scrape();
        if value(&samples, name, labels) >= at_least {
            return samples;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{name}{labels:?} stayed at {} (expected >= {at_least})",
            value(&samples, name, labels)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A `MakeWriter` that keeps what is logged, for the end-of-stream lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The `stream ended` line of `route`.
    fn ended(&self, route: &str) -> Option<String> {
        let needle = format!("route={route} ");
        self.text()
            .lines()
            .find(|l| l.contains("stream ended") && l.contains(&needle))
            .map(str::to_owned)
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Logs of this thread (the test runs on a current-thread runtime, the server too) into
/// a buffer, until the guard is dropped.
fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

/// The `key=value` field of a log line, without quotes.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &line[at..];
    let value = rest.split(' ').next()?;
    Some(value.trim_matches('"'))
}

/// Every event of the stream at `path`, until it ends.
async fn all_events(client: &TestClient, path: &str) -> Vec<sse_runtime::parse::ParsedEvent> {
    client.get(path).send().await.events().collect().await
}

/// Three events, then the end.
async fn three() -> Sse {
    Sse::new(futures_util::stream::iter(
        (0..3).map(|i| ServerSentEvent::new().data(i)),
    ))
}

/// One event, then an error.
async fn failing() -> Sse {
    Sse::try_new(async_stream::stream! {
        yield Ok(ServerSentEvent::new().data("first"));
        yield Err(HttpError::new(StatusCode::CONFLICT, "gone wrong"));
    })
}

/// An error before any event: the client gets an HTTP error, the stream counts as ended.
async fn failing_at_once() -> Sse {
    Sse::try_new(futures_util::stream::iter([Err::<ServerSentEvent, _>(
        HttpError::new(StatusCode::CONFLICT, "no"),
    )]))
}

/// One event, then silence (keep-alives only) until the client or the server ends it.
async fn quiet() -> Sse {
    Sse::new(async_stream::stream! {
        yield ServerSentEvent::new().data("hello");
        std::future::pending::<()>().await;
    })
}

/// Endless 64 KiB events, as fast as the socket takes them.
async fn firehose() -> Sse {
    Sse::new(async_stream::stream! {
        let payload = "x".repeat(64 * 1024);
        loop {
            yield ServerSentEvent::new().raw_data(payload.clone());
        }
    })
}

#[tokio::test]
async fn streams_report_events_bytes_keep_alives_and_why_they_ended() {
    showcase::metrics_handle();
    let (logs, _guard) = capture_logs();
    let app = App::new()
        .get("/obs/three", three)
        .get("/obs/failing", failing)
        .get("/obs/failing-at-once", failing_at_once)
        .get("/obs/quiet/{n}", quiet)
        .get("/obs/shut", quiet)
        .get("/obs/firehose", firehose)
        .keep_alive(KeepAlive::new().interval(Duration::from_millis(50)))
        .limits(Limits::default().send_timeout(Some(Duration::from_millis(300))));
    let client = TestClient::spawn(app, Protocol::Http1).await;
    let ended = observability::STREAMS_ENDED;

    // Completed.
    let events = all_events(&client, "/obs/three").await;
    assert_eq!(events.len(), 3);
    let samples = wait_for(
        ended,
        &[("route", "/obs/three"), ("reason", "completed")],
        1.0,
    )
    .await;
    let route = [("route", "/obs/three")];
    assert_eq!(value(&samples, observability::STREAM_EVENTS, &route), 3.0);
    let bytes = value(&samples, observability::STREAM_BYTES, &route);
    assert!(bytes >= "data: 0\n\n".len() as f64 * 3.0, "{bytes} bytes");
    assert_eq!(value(&samples, observability::STREAMS_OPEN, &route), 0.0);
    assert_eq!(
        value(&samples, "sse_stream_duration_seconds_count", &route),
        1.0
    );

    // An error event after the first event, and an error before any.
    let events = all_events(&client, "/obs/failing").await;
    assert_eq!(events.last().map(|e| e.event.as_str()), Some("error"));
    wait_for(
        ended,
        &[("route", "/obs/failing"), ("reason", "error")],
        1.0,
    )
    .await;
    let refused = client.get("/obs/failing-at-once").send().await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    wait_for(
        ended,
        &[("route", "/obs/failing-at-once"), ("reason", "error")],
        1.0,
    )
    .await;

    // Open, with keep-alives, then the client goes away.
    let route = [("route", "/obs/quiet/{n}")];
    let mut frames = client.get("/obs/quiet/1").send().await.frames();
    let mut comments = 0;
    while comments < 2 {
        let frame = tokio::time::timeout(Duration::from_secs(5), frames.next())
            .await
            .expect("a frame within 5 s")
            .expect("the stream goes on");
        comments += frame.comments.len();
    }
    let samples = wait_for(observability::STREAM_KEEPALIVES, &route, 2.0).await;
    assert_eq!(value(&samples, observability::STREAMS_OPEN, &route), 1.0);
    assert!(value(&samples, observability::CONNECTIONS_OPEN, &[]) >= 1.0);
    drop(frames);
    let gone = [("route", "/obs/quiet/{n}"), ("reason", "client_gone")];
    let samples = wait_for(ended, &gone, 1.0).await;
    assert_eq!(value(&samples, observability::STREAMS_OPEN, &route), 0.0);

    // A client that stops reading: the send timeout ends the stream.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(client.addr().unwrap()).await.unwrap();
    stalled
        .write_all(b"GET /obs/firehose HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let timeout = [("route", "/obs/firehose"), ("reason", "send_timeout")];
    wait_for(ended, &timeout, 1.0).await;
    drop(stalled);

    // Shutdown.
    let mut events = client.get("/obs/shut").send().await.events();
    assert_eq!(
        events.next().await.map(|e| e.data),
        Some("\"hello\"".to_owned())
    );
    client.shutdown();
    wait_for(
        ended,
        &[("route", "/obs/shut"), ("reason", "shutdown")],
        1.0,
    )
    .await;
    drop(events);

    // One `info` line per stream, at its end, with its numbers.
    let line = logs.ended("/obs/three").expect("a `stream ended` line");
    assert!(line.contains(" INFO "), "{line}");
    assert!(line.contains("request{"), "in the request's span: {line}");
    assert_eq!(field(&line, "reason"), Some("completed"), "{line}");
    assert_eq!(field(&line, "events"), Some("3"), "{line}");
    assert_eq!(
        field(&line, "bytes"),
        Some(bytes.to_string().as_str()),
        "{line}"
    );
    assert!(field(&line, "duration_ms").is_some(), "{line}");
    for (route, reason) in [
        ("/obs/failing", "error"),
        ("/obs/failing-at-once", "error"),
        ("/obs/quiet/{n}", "client_gone"),
        ("/obs/firehose", "send_timeout"),
        ("/obs/shut", "shutdown"),
    ] {
        let line = logs
            .ended(route)
            .unwrap_or_else(|| panic!("no `stream ended` line for {route}:\n{}", logs.text()));
        assert_eq!(field(&line, "reason"), Some(reason), "{line}");
    }
    let quiet = logs.ended("/obs/quiet/{n}").unwrap();
    let keep_alives: u32 = field(&quiet, "keep_alives").unwrap().parse().unwrap();
    assert!(keep_alives >= 2, "{quiet}");
    assert_eq!(field(&quiet, "events"), Some("1"), "{quiet}");
}

type Hub = Broadcast<u32>;

async fn topic_events(
    State(hub): State<Hub>,
    Path(topic): Path<String>,
    last: LastEventId,
) -> Subscription<u32> {
    hub.subscribe(&topic, last)
}

#[tokio::test]
async fn broadcast_subscribers_lag_drop_and_replay() {
    showcase::metrics_handle();
    let hub = Hub::with_config(BroadcastConfig::new().queue(4));
    // In process: a response's body is only polled when the test reads it, so a
    // subscriber that is not read falls behind.
    let client = TestClient::new(
        App::new()
            .get("/obs/topics/{topic}/events", topic_events)
            .state(hub.clone()),
    );
    let topic = [("topic", "obs-lag")];
    let mut slow = client
        .get("/obs/topics/obs-lag/events")
        .send()
        .await
        .events();
    let mut fast = client
        .get("/obs/topics/obs-lag/events")
        .send()
        .await
        .events();
    let samples = scrape();
    assert_eq!(
        value(&samples, observability::BROADCAST_SUBSCRIBERS, &topic),
        2.0
    );

    let first = hub.publish("obs-lag", 0).await.unwrap();
    assert_eq!(slow.next().await.unwrap().data, "0");
    assert_eq!(fast.next().await.unwrap().data, "0");
    for n in 1..20 {
        hub.publish("obs-lag", n).await.unwrap();
        assert_eq!(fast.next().await.unwrap().data, n.to_string());
    }
    // The slow one overflowed: its stream ends (Overflow::Disconnect).
    let rest: Vec<_> = tokio::time::timeout(Duration::from_secs(5), slow.collect())
        .await
        .expect("the slow stream ends");
    assert!(rest.len() <= 4, "{rest:?}");
    let samples = scrape();
    assert_eq!(
        value(&samples, observability::BROADCAST_LAGGED, &topic),
        1.0
    );
    let dropped = value(&samples, observability::BROADCAST_DROPPED, &topic);
    assert!((1.0..=19.0).contains(&dropped), "{dropped} dropped");
    assert_eq!(
        value(&samples, observability::BROADCAST_SUBSCRIBERS, &topic),
        1.0
    );

    // Its client comes back with the first id: 19 events from the replay buffer.
    let mut back = client
        .get("/obs/topics/obs-lag/events")
        .header("last-event-id", &first.to_string())
        .send()
        .await
        .events();
    assert_eq!(back.next().await.unwrap().data, "1");
    let samples = scrape();
    let resumed = [("topic", "obs-lag"), ("cause", "resume")];
    assert_eq!(
        value(&samples, observability::BROADCAST_REPLAYED, &resumed),
        19.0
    );
    drop((fast, back));
    let samples = scrape();
    assert_eq!(
        value(&samples, observability::BROADCAST_SUBSCRIBERS, &topic),
        0.0
    );

    // Overflow::Resume: the lagging subscriber catches up from the buffer in place.
    let hub = Hub::with_config(BroadcastConfig::new().queue(4).overflow(Overflow::Resume));
    let mut sub = hub.subscribe("obs-catch-up", Resume::live());
    for n in 0..20 {
        hub.publish("obs-catch-up", n).await.unwrap();
    }
    for _ in 0..20 {
        tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("caught up")
            .expect("an event");
    }
    let samples = scrape();
    let topic = [("topic", "obs-catch-up")];
    assert_eq!(
        value(&samples, observability::BROADCAST_LAGGED, &topic),
        1.0
    );
    let overflow = [("topic", "obs-catch-up"), ("cause", "overflow")];
    assert_eq!(
        value(&samples, observability::BROADCAST_REPLAYED, &overflow),
        20.0
    );
}

#[tokio::test]
async fn a_hub_labels_its_first_topics_by_name_and_the_rest_as_other() {
    showcase::metrics_handle();
    let hub = Hub::new();
    let other = [("topic", observability::OTHER_TOPIC)];
    let before = value(&scrape(), observability::BROADCAST_SUBSCRIBERS, &other);
    let subs: Vec<_> = (0..TOPIC_LABELS + 6)
        .map(|n| hub.subscribe(&format!("obs-many-{n}"), Resume::live()))
        .collect();
    let samples = scrape();
    let named = samples
        .iter()
        .filter(|s| s.name == observability::BROADCAST_SUBSCRIBERS)
        .filter(|s| {
            s.labels
                .get("topic")
                .is_some_and(|t| t.starts_with("obs-many-"))
        })
        .count();
    assert_eq!(named, TOPIC_LABELS);
    let during = value(&samples, observability::BROADCAST_SUBSCRIBERS, &other);
    assert!(during - before >= 6.0, "{before} -> {during}");
    // A labeled topic keeps its label.
    let again = hub.subscribe("obs-many-0", Resume::live());
    let samples = scrape();
    let first = [("topic", "obs-many-0")];
    assert_eq!(
        value(&samples, observability::BROADCAST_SUBSCRIBERS, &first),
        2.0
    );
    drop((subs, again));
}

/// The metric names of `docs/observability.md`'s table (rows that start with a name).
fn documented_metrics() -> Vec<String> {
    let doc = include_str!("../../docs/observability.md");
    doc.lines()
        .filter_map(|line| line.strip_prefix("| `sse_"))
        .map(|rest| format!("sse_{}", rest.split('`').next().unwrap_or_default()))
        .collect()
}

#[test]
fn the_doc_and_the_runtime_name_the_same_metrics() {
    assert_eq!(documented_metrics(), observability::METRICS);
}

/// After a scripted run (streams opened and closed, a broadcast with a lagging
/// subscriber), `GET /metrics` on the showcase lists every documented metric with
/// plausible values.
#[tokio::test]
async fn the_showcase_serves_every_documented_metric() {
    let server = TestClient::spawn(showcase::app(), Protocol::Http1).await;
    // A stream that completes (quickstart: 10 events).
    let events = all_events(&server, "/stream").await;
    assert_eq!(events.len(), 10);
    // One whose client leaves after the first event.
    let mut ticker = server.get("/stocks/OBS/stream").send().await.events();
    ticker.next().await.expect("a price");
    drop(ticker);

    // The chat room in process: a subscriber that is not read while 300 messages go out
    // falls behind its queue (256), then comes back with its last id.
    let local = TestClient::new(showcase::app());
    let room = "/rooms/obs-showcase";
    let post = |n: usize| {
        local
            .post(&format!("{room}/messages"))
            .json(&serde_json::json!({"user": "obs", "text": format!("m{n}")}))
            .send()
    };
    let mut slow = local.get(&format!("{room}/events")).send().await.events();
    assert_eq!(post(0).await.status(), StatusCode::CREATED);
    let first = slow.next().await.expect("the first message");
    for n in 1..300 {
        assert_eq!(post(n).await.status(), StatusCode::CREATED);
    }
    let rest: Vec<_> = tokio::time::timeout(Duration::from_secs(5), slow.collect())
        .await
        .expect("the lagging subscriber's stream ends");
    assert!(
        rest.len() < 299,
        "{} more messages: it did not lag",
        rest.len()
    );
    let mut back = local
        .get(&format!("{room}/events"))
        .header("last-event-id", &first.last_event_id)
        .send()
        .await
        .events();
    assert!(back.next().await.is_some());
    drop(back);

    let response = server.get("/metrics").send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")));
    let text = response.text().await;
    let samples = parse(&text);
    for metric in documented_metrics() {
        assert!(
            samples
                .iter()
                .any(|s| s.name == metric || s.name == format!("{metric}_count")),
            "/metrics does not list {metric}:\n{text}"
        );
        assert!(
            text.contains(&format!("# HELP {metric} ")),
            "{metric} has no help text"
        );
    }
    let quickstart = [("route", "/stream")];
    assert!(value(&samples, observability::STREAM_EVENTS, &quickstart) >= 10.0);
    assert!(value(&samples, observability::STREAM_BYTES, &quickstart) >= 100.0);
    let completed = [("route", "/stream"), ("reason", "completed")];
    assert!(value(&samples, observability::STREAMS_ENDED, &completed) >= 1.0);
    // This very request is on an open connection.
    assert!(value(&samples, observability::CONNECTIONS_OPEN, &[]) >= 1.0);
    let topic = [("topic", "obs-showcase")];
    assert!(value(&samples, observability::BROADCAST_LAGGED, &topic) >= 1.0);
    assert!(value(&samples, observability::BROADCAST_DROPPED, &topic) >= 1.0);
    assert!(value(&samples, observability::BROADCAST_REPLAYED, &topic) >= 1.0);
    for sample in &samples {
        assert!(
            sample.value >= 0.0 && sample.value.is_finite(),
            "implausible {sample:?}"
        );
    }
    // The stocks stream ends as `client_gone` once the server notices.
    let gone = [
        ("route", "/stocks/{symbol}/stream"),
        ("reason", "client_gone"),
    ];
    wait_for(observability::STREAMS_ENDED, &gone, 1.0).await;
}
