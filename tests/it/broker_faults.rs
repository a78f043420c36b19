//! The Redis broker failing during fan-out (issue 17): two app instances, each with a
//! Redis hub on the same `redis-server` and three SSE clients over real sockets, while
//! two publishers (one per instance) publish every few milliseconds. Then
//!
//! - `kill -9` of the redis-server, restarted on the same port after a second (empty:
//!   nothing persisted), and
//! - the network to Redis cut without killing it: redis-server runs in a network
//!   namespace reached through a veth pair whose namespace end goes down for 7 s (longer
//!   than the hub's 5 s response timeout), then up again.
//!
//! Afterwards every client must have every event whose publish returned `Ok`, exactly
//! once and in order, or an explicit `reset` event where the broker lost history (the
//! kill: every client gets one; the network cut loses nothing, so none): never a silent
//! gap. A publish that returned an error may or may not have reached Redis (its command
//! can still arrive once the link is back), so its event may show up, at most once. Each
//! publisher must get errors while Redis is away. The kill must count a reconnection in
//! `sse_broadcast_redis_reconnects_total`.
//!
//! Needs `redis-server`; the network cut also needs root and `ip netns` (iproute2).
//! Without them the tests print a notice and pass, unless `CI` is set: then they fail
//! (the rule of `sse_tests::tools`). `--nocapture` shows the figures.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sse_runtime::broadcast::{Broadcast, BroadcastConfig, EventId, Subscription, RESET_EVENT};
use sse_runtime::observability::REDIS_RECONNECTS;
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{App, LastEventId, Path, State, StatusCode};
use sse_tests::netns::{why_not, Veth};
use sse_tests::redis::RedisServer;
use tokio::sync::watch;

use crate::showcase;

const SUITE: &str = "the broker fault tests (tests/it/broker_faults.rs)";
const TOPIC: &str = "faults";
const CLIENTS_PER_INSTANCE: usize = 3;
/// A publisher's values: `publisher * STRIDE + sequence`.
const STRIDE: u64 = 1_000_000_000;

fn redis_server_available() -> bool {
    sse_tests::tools::require(
        "redis-server",
        SUITE,
        "apt-get install redis-server && cargo test -p sse-tests --test it broker_faults",
    )
    .is_some()
}

// ---------------------------------------------------------------------------------------
// A network namespace for redis-server, joined to ours by a veth pair
// ---------------------------------------------------------------------------------------

/// The namespace for redis-server, or `None` after the notice where one cannot be made.
fn lab() -> Option<Veth> {
    let pid = std::process::id();
    let made = match why_not(&[]) {
        Some(why) => Err(why),
        None => Veth::create(
            format!("sse-broker-{pid}"),
            format!("bh{pid}"),
            format!("bp{pid}"),
            232,
            0,
        ),
    };
    match made {
        Ok(lab) => Some(lab),
        Err(why) => {
            sse_tests::tools::missing(
                SUITE,
                &format!("cannot make a network namespace: {why}"),
                "apt-get install iproute2 redis-server && sudo -E cargo test -p sse-tests --test it broker_faults",
            );
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// Two instances, their clients, the publishers
// ---------------------------------------------------------------------------------------

type Hub = Broadcast<u64>;

async fn events(
    State(hub): State<Hub>,
    Path(topic): Path<String>,
    last: LastEventId,
) -> Subscription<u64> {
    hub.subscribe(&topic, last)
}

/// What a client saw, in order.
#[derive(Clone, Debug)]
enum Seen {
    Event {
        value: u64,
        id: EventId,
        at: Instant,
    },
    Reset,
}

#[derive(Default)]
struct ClientLog {
    seen: Vec<Seen>,
    /// Times its stream ended and it reconnected (with `Last-Event-ID`, as `EventSource`).
    reconnects: usize,
}

/// An SSE client reading `/topics/faults/events` until told to stop.
fn client(server: Arc<TestClient>, stop: watch::Receiver<bool>) -> Arc<Mutex<ClientLog>> {
    let log = Arc::new(Mutex::new(ClientLog::default()));
    let out = Arc::clone(&log);
    tokio::spawn(async move {
        let mut last: Option<String> = None;
        let mut stop = stop;
        loop {
            let mut request = server.get(&format!("/topics/{TOPIC}/events"));
            if let Some(last) = &last {
                request = request.header("last-event-id", last.as_str());
            }
            let response = tokio::select! {
                response = request.send() => response,
                _ = stop.wait_for(|stop| *stop) => return,
            };
            if response.status() != StatusCode::OK {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            let mut events = response.events();
            loop {
                let event = tokio::select! {
                    event = events.next() => event,
                    _ = stop.wait_for(|stop| *stop) => return,
                };
                let Some(event) = event else { break };
                let seen = if event.event == RESET_EVENT {
                    Seen::Reset
                } else {
                    let id = event.id.clone().expect("a published event has an id");
                    last = Some(id.clone());
                    Seen::Event {
                        value: event.data.parse().expect("a number"),
                        id: id.parse().expect("an event id"),
                        at: Instant::now(),
                    }
                };
                out.lock().unwrap().seen.push(seen);
            }
            out.lock().unwrap().reconnects += 1;
        }
    });
    log
}

struct Published {
    value: u64,
    ok: bool,
    at: Instant,
}

/// Publishes `publisher * STRIDE + n` for n = 0, 1, ... on `hub` every 5 ms until told
/// to stop, recording each result.
fn publisher(
    hub: Hub,
    publisher: u64,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Vec<Published>> {
    tokio::spawn(async move {
        let mut log = Vec::new();
        for n in 0.. {
            if *stop.borrow() {
                break;
            }
            let value = publisher * STRIDE + n;
            let ok = hub.publish(TOPIC, value).await.is_ok();
            log.push(Published {
                value,
                ok,
                at: Instant::now(),
            });
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        log
    })
}

fn reconnects_metric() -> f64 {
    let handle = showcase::metrics_handle().expect("the showcase's recorder is installed");
    handle
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{REDIS_RECONNECTS} ")))
        .map_or(0.0, |value| value.trim().parse().unwrap_or(0.0))
}

/// What one client's log says, checked against what was published.
#[derive(Debug, Default)]
struct Verdict {
    resets: usize,
    delivered_ok: usize,
    /// `Ok`-published events it did not get, each announced by a reset.
    covered: usize,
    /// Failed publishes whose event arrived anyway (its command reached Redis late).
    delivered_failed: usize,
}

/// Checks one client's log: within each stretch between resets, ids strictly increase,
/// no value twice, each publisher's `Ok` values in publishing order; every `Ok` value
/// delivered, or missing only across a reset (the last one before it is older, the
/// first one after it is newer).
fn check(name: &str, log: &ClientLog, published: &[Vec<Published>]) -> Verdict {
    let mut verdict = Verdict::default();
    let ok_values: std::collections::HashSet<u64> = published
        .iter()
        .flatten()
        .filter(|p| p.ok)
        .map(|p| p.value)
        .collect();
    let mut seen_values = std::collections::HashSet::new();
    let mut last_id: Option<EventId> = None;
    let mut last_ok_of: Vec<Option<u64>> = vec![None; published.len()];
    for (index, item) in log.seen.iter().enumerate() {
        match item {
            Seen::Reset => {
                verdict.resets += 1;
                last_id = None;
                seen_values.clear();
                last_ok_of.iter_mut().for_each(|last| *last = None);
            }
            Seen::Event { value, id, .. } => {
                assert!(
                    last_id.is_none_or(|last| *id > last),
                    "{name}: id {id} after {last_id:?} (item {index})"
                );
                last_id = Some(*id);
                assert!(
                    seen_values.insert(*value),
                    "{name}: value {value} twice without a reset between (item {index})"
                );
                if ok_values.contains(value) {
                    let from = usize::try_from(value / STRIDE).expect("a publisher");
                    assert!(
                        last_ok_of[from].is_none_or(|last| *value > last),
                        "{name}: {value} after {:?}: out of order (item {index})",
                        last_ok_of[from]
                    );
                    last_ok_of[from] = Some(*value);
                } else {
                    verdict.delivered_failed += 1;
                }
            }
        }
    }
    // Every Ok value: delivered, or between two delivered neighbours with a reset between.
    for (from, log_of) in published.iter().enumerate() {
        // (position in the client's log, value) of the Ok values of this publisher it got.
        let got: Vec<(usize, u64)> = log
            .seen
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match item {
                Seen::Event { value, .. }
                    if ok_values.contains(value)
                        && usize::try_from(value / STRIDE).ok() == Some(from) =>
                {
                    Some((i, *value))
                }
                _ => None,
            })
            .collect();
        let resets: Vec<usize> = log
            .seen
            .iter()
            .enumerate()
            .filter_map(|(i, item)| matches!(item, Seen::Reset).then_some(i))
            .collect();
        for p in log_of.iter().filter(|p| p.ok) {
            if got.iter().any(|(_, value)| *value == p.value) {
                verdict.delivered_ok += 1;
                continue;
            }
            let before = got
                .iter()
                .filter(|(_, value)| *value < p.value)
                .map(|(i, _)| *i)
                .max();
            let after = got
                .iter()
                .filter(|(i, value)| *value > p.value && before.is_none_or(|b| *i > b))
                .map(|(i, _)| *i)
                .min()
                .unwrap_or(log.seen.len());
            let announced = resets
                .iter()
                .any(|r| before.is_none_or(|b| *r > b) && *r < after);
            assert!(
                announced,
                "{name}: the Ok-published {} is missing with no reset announcing it \
                 (a silent gap)",
                p.value
            );
            verdict.covered += 1;
        }
    }
    verdict
}

enum Fault<'a> {
    /// `kill -9`, and a fresh (empty) redis-server on the same port this much later.
    Kill(Duration),
    /// The link to the namespace down for this long.
    Cut(Duration, &'a Veth),
}

struct Figures {
    verdicts: Vec<Verdict>,
    publish_errors: usize,
    publishes: usize,
    /// From Redis back (restarted / link up) to the first `Ok` publish of each publisher.
    publish_recovered: Duration,
    /// From Redis back to every client having an event again.
    delivery_recovered: Duration,
    reconnects: f64,
    reconnected_clients: usize,
}

async fn run(redis: &mut RedisServer, fault: Fault<'_>) -> Figures {
    showcase::metrics_handle();
    let reconnects_before = reconnects_metric();
    let (stop_tx, stop) = watch::channel(false);
    let mut hubs = Vec::new();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let hub: Hub = Broadcast::redis(&redis.url(), BroadcastConfig::new())
            .await
            .expect("connect the hub to redis");
        let app = App::new()
            .get("/topics/{topic}/events", events)
            .state(hub.clone());
        servers.push(Arc::new(TestClient::spawn(app, Protocol::Http1).await));
        hubs.push(hub);
    }
    let mut clients = Vec::new();
    for server in &servers {
        for _ in 0..CLIENTS_PER_INSTANCE {
            clients.push(client(Arc::clone(server), stop.clone()));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while hubs
        .iter()
        .any(|hub| hub.subscriber_count(TOPIC) < CLIENTS_PER_INSTANCE)
    {
        assert!(Instant::now() < deadline, "clients did not subscribe");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let (stop_publishing_tx, stop_publishing) = watch::channel(false);
    let publishers: Vec<_> = hubs
        .iter()
        .zip(0..)
        .map(|(hub, n)| publisher(hub.clone(), n, stop_publishing.clone()))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The fault, from a blocking thread (the test's runtime keeps publishing and reading).
    let back_at = match fault {
        Fault::Kill(downtime) => {
            redis.kill();
            tokio::time::sleep(downtime).await;
            let restarted = tokio::task::block_in_place(|| redis.spawn());
            assert!(restarted, "redis-server did not come back");
            Instant::now()
        }
        Fault::Cut(downtime, lab) => {
            lab.set_peer_link(false).expect("link down");
            tokio::time::sleep(downtime).await;
            lab.set_peer_link(true).expect("link up");
            Instant::now()
        }
    };
    // Publish on for a while after recovery, then let the clients catch up.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop_publishing_tx.send(true).unwrap();
    let mut published = Vec::new();
    for publisher in publishers {
        published.push(publisher.await.unwrap());
    }
    let last_ok: Vec<u64> = published
        .iter()
        .filter_map(|log| log.iter().rev().find(|p| p.ok).map(|p| p.value))
        .collect();
    assert_eq!(last_ok.len(), 2, "a publisher never recovered");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done = clients.iter().all(|log| {
            let log = log.lock().unwrap();
            last_ok.iter().all(|v| {
                log.seen
                    .iter()
                    .any(|s| matches!(s, Seen::Event { value, .. } if value == v))
            })
        });
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the clients did not get the last events within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_tx.send(true).unwrap();

    let publish_recovered = published
        .iter()
        .map(|log| {
            log.iter()
                .find(|p| p.ok && p.at > back_at)
                .map(|p| p.at - back_at)
                .expect("an Ok publish after recovery")
        })
        .max()
        .unwrap_or_default();
    // Until every client got an event again.
    let delivery_recovered = clients
        .iter()
        .filter_map(|log| {
            log.lock().unwrap().seen.iter().find_map(|seen| match seen {
                Seen::Event { at, .. } if *at > back_at => Some(*at - back_at),
                _ => None,
            })
        })
        .max()
        .unwrap_or_default();

    let mut verdicts = Vec::new();
    let mut reconnected_clients = 0;
    for (i, log) in clients.iter().enumerate() {
        let log = log.lock().unwrap();
        reconnected_clients += usize::from(log.reconnects > 0);
        verdicts.push(check(&format!("client {i}"), &log, &published));
    }
    Figures {
        verdicts,
        publish_errors: published.iter().flatten().filter(|p| !p.ok).count(),
        publishes: published.iter().map(Vec::len).sum(),
        publish_recovered,
        delivery_recovered,
        reconnects: reconnects_metric() - reconnects_before,
        reconnected_clients,
    }
}

fn print(what: &str, figures: &Figures) {
    let resets: Vec<usize> = figures.verdicts.iter().map(|v| v.resets).collect();
    let covered: Vec<usize> = figures.verdicts.iter().map(|v| v.covered).collect();
    let late: Vec<usize> = figures
        .verdicts
        .iter()
        .map(|v| v.delivered_failed)
        .collect();
    eprintln!(
        "{what}: {} publishes, {} failed; Ok publish again {:?} after Redis was back, \
         every client had an event again {:?} after; per client: resets {resets:?}, \
         Ok events announced missing {covered:?}, failed publishes delivered {late:?}; \
         clients that reconnected: {}; reconnects metric +{}",
        figures.publishes,
        figures.publish_errors,
        figures.publish_recovered,
        figures.delivery_recovered,
        figures.reconnected_clients,
        figures.reconnects,
    );
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_during_fan_out_means_every_event_or_a_reset() {
    if !redis_server_available() {
        return;
    }
    let mut redis = RedisServer::start_on(None, Ipv4Addr::LOCALHOST);
    let figures = run(&mut redis, Fault::Kill(Duration::from_secs(1))).await;
    print("kill -9", &figures);
    assert!(
        figures.publish_errors > 0,
        "no publish failed while Redis was down"
    );
    for (i, verdict) in figures.verdicts.iter().enumerate() {
        // The restarted Redis lost the stream: each client is told, at least once.
        assert!(verdict.resets >= 1, "client {i} got no reset: {verdict:?}");
    }
    assert!(
        figures.reconnects >= 2.0,
        "{REDIS_RECONNECTS} went up by {} (two hubs reconnected)",
        figures.reconnects
    );
    assert_eq!(figures.reconnected_clients, 0, "SSE streams stay open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_to_redis_cut_during_fan_out_loses_nothing() {
    if !redis_server_available() {
        return;
    }
    let Some(lab) = lab() else {
        return;
    };
    let mut redis = RedisServer::start_on(Some(lab.ns.clone()), lab.peer_ip);
    let figures = run(&mut redis, Fault::Cut(Duration::from_secs(7), &lab)).await;
    print("network cut", &figures);
    assert!(
        figures.publish_errors > 0,
        "no publish failed while Redis was away"
    );
    for (i, verdict) in figures.verdicts.iter().enumerate() {
        // Redis kept its streams: nothing to reset, every Ok event delivered.
        assert_eq!(verdict.resets, 0, "client {i}: {verdict:?}");
        assert_eq!(verdict.covered, 0, "client {i}: {verdict:?}");
    }
    assert_eq!(figures.reconnected_clients, 0, "SSE streams stay open");
}

/// The case the restart detection (Redis's `run_id`) exists for: an event Redis
/// acknowledged whose pub/sub message never reached this instance (here: written with a
/// bare `XADD`, no `PUBLISH`), on a topic whose feed had seen no event yet, then Redis
/// killed and restarted empty. The stream holds nothing to compare with, so only the new
/// `run_id` tells the hub that something may be gone: the subscriber gets a reset before
/// the next event, not a silent gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_event_lost_in_a_restart_is_announced_even_on_a_fresh_topic() {
    if !redis_server_available() {
        return;
    }
    let mut redis = RedisServer::start_on(None, Ipv4Addr::LOCALHOST);
    let hub: Hub = Broadcast::redis(&redis.url(), BroadcastConfig::new())
        .await
        .expect("connect the hub to redis");
    let mut subscription = hub.subscribe("fresh", sse_runtime::broadcast::Resume::live());
    let deadline = Instant::now() + Duration::from_secs(15);
    while hub.subscriber_count("fresh") < 1 {
        assert!(Instant::now() < deadline, "not subscribed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let client = redis::Client::open(redis.url()).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let _: String = redis::cmd("XADD")
        .arg("sse:broadcast:fresh")
        .arg("*")
        .arg("data")
        .arg("7")
        .query_async(&mut conn)
        .await
        .expect("XADD");
    drop(conn);

    redis.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        tokio::task::block_in_place(|| redis.spawn()),
        "redis-server did not come back"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let id = loop {
        match hub.publish("fresh", 8).await {
            Ok(id) => break id,
            Err(err) => {
                assert!(
                    Instant::now() < deadline,
                    "publisher never recovered: {err}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let first = next_message(&mut subscription).await;
    assert!(
        matches!(first, sse_runtime::broadcast::Message::Reset(_)),
        "a reset first, not {first:?}"
    );
    match next_message(&mut subscription).await {
        sse_runtime::broadcast::Message::Event(event) => {
            assert_eq!((*event.data(), event.id()), (8, id));
        }
        other => panic!("event 8, not {other:?}"),
    }
}

/// The next event or reset (the ready step, `Message::Open`, is skipped).
async fn next_message(
    subscription: &mut Subscription<u64>,
) -> sse_runtime::broadcast::Message<u64> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(15), subscription.next())
            .await
            .expect("a message within 15 s")
            .expect("the subscription is open");
        if !matches!(message, sse_runtime::broadcast::Message::Open) {
            return message;
        }
    }
}
