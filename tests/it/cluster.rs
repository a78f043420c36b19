//! The broadcast hub on a Redis Cluster (issue 24), through real processes: six
//! `redis-server` processes in cluster mode (three masters with one replica each, made by
//! `redis-cli --cluster create`, `cluster-node-timeout` 1 s; `sse_tests::redis_cluster`)
//! and the `chat_room` example as two instances (`REDIS_CLUSTER=host:port,...`), each a
//! child process with its own connections.
//!
//! - `a_master_killed_during_fan_out_loses_nothing_silently`: SSE clients on both
//!   instances read three rooms, two of them on the master that gets SIGKILL while a
//!   publisher per room posts every 10 ms through both instances. After its replica has
//!   taken over, every client has each event whose `POST` answered 201 exactly once, in
//!   order, or an explicit `reset` before the gap (the topic's epoch changed); the clients
//!   of the room on another master got no reset. Measured (`--nocapture`): the time until
//!   publishing and delivery recover, the events lost, the resets.
//! - `a_topic_follows_its_slot_to_another_master`: the slot of a room moved to another
//!   master (`CLUSTER SETSLOT ... MIGRATING/IMPORTING`, `MIGRATE`, `SETSLOT ... NODE`)
//!   while a client streams it: both instances follow (`MOVED` for the publisher, the old
//!   node's `sunsubscribe` for the subscriptions) without a restart; nothing is lost
//!   silently.
//!
//! Without `redis-server`/`redis-cli` on PATH these tests are skipped with a notice,
//! unless `CI` is set: then they fail (`.ci/run` installs them).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sse_runtime::broadcast::{
    Broadcast, BroadcastConfig, EventId, Message, PublishError, Resume, RESET_EVENT,
};
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{App, StatusCode};
use sse_tests::redis_cluster::RedisCluster;
use tokio::sync::watch;

const SUITE: &str = "the Redis Cluster tests (tests/it/cluster.rs)";
const HOW: &str =
    "apt-get install redis-server redis-tools && cargo test -p sse-tests --test it cluster";
/// A room's values: `room * STRIDE + sequence`.
const STRIDE: u64 = 1_000_000_000;
const CLIENTS_PER_ROOM_AND_INSTANCE: usize = 2;

// ---------------------------------------------------------------------------------------
// The chat_room example as a process
// ---------------------------------------------------------------------------------------

/// `target/<profile>/examples/chat_room`, built once per test process.
fn chat_room_binary() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY
        .get_or_init(|| sse_tests::example_bin::example("chat_room"))
        .clone()
}

/// A `chat_room` instance on the cluster; killed when dropped.
struct Instance {
    child: Child,
    client: TestClient,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_instance(nodes: &[String]) -> Instance {
    let mut child = Command::new(chat_room_binary())
        .env("ADDR", "127.0.0.1:0")
        .env("REDIS_CLUSTER", nodes.join(","))
        .env("RUST_LOG", "warn,redis=error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start chat_room");
    let stdout = child.stdout.take().expect("stdout");
    let mut first_line = String::new();
    BufReader::new(stdout)
        .read_line(&mut first_line)
        .expect("read the first line");
    let addr: SocketAddr = first_line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("chat_room's first line was {first_line:?}"));
    Instance {
        child,
        client: TestClient::connect(addr, Protocol::Http1, App::new()),
    }
}

// ---------------------------------------------------------------------------------------
// Clients and publishers
// ---------------------------------------------------------------------------------------

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
    connected: bool,
    reconnects: usize,
}

/// An SSE client of `room`, reconnecting with `Last-Event-ID` as `EventSource` does,
/// until told to stop.
fn client(server: TestClient, room: String, stop: watch::Receiver<bool>) -> Arc<Mutex<ClientLog>> {
    let log = Arc::new(Mutex::new(ClientLog::default()));
    let out = Arc::clone(&log);
    tokio::spawn(async move {
        let mut last: Option<String> = None;
        let mut stop = stop;
        loop {
            let mut request = server.get(&format!("/rooms/{room}/events"));
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
            out.lock().unwrap().connected = true;
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
                    let message: serde_json::Value = event.json().expect("a chat message");
                    Seen::Event {
                        value: message["text"]
                            .as_str()
                            .and_then(|text| text.parse().ok())
                            .expect("a number as text"),
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// 201: stored on the master and confirmed by a replica.
    Ok,
    /// 503 "no replica confirmed": published, may be lost.
    Unconfirmed,
    /// 503 otherwise: not published (or, if the connection broke, maybe).
    Failed,
}

struct Published {
    value: u64,
    outcome: Outcome,
    at: Instant,
}

/// Posts `room_index * STRIDE + n` to `room` every 10 ms, alternately through each
/// instance, until told to stop.
fn publisher(
    servers: Vec<TestClient>,
    room: String,
    room_index: u64,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Vec<Published>> {
    tokio::spawn(async move {
        let mut log = Vec::new();
        for n in 0u64.. {
            if *stop.borrow() {
                break;
            }
            let value = room_index * STRIDE + n;
            let server = &servers[usize::try_from(n % 2).unwrap()];
            let response = server
                .post(&format!("/rooms/{room}/messages"))
                .json(&serde_json::json!({ "user": "publisher", "text": value.to_string() }))
                .send()
                .await;
            let outcome = match response.status() {
                StatusCode::CREATED => Outcome::Ok,
                _ => {
                    let body = response.text().await;
                    if body.contains("no replica confirmed") {
                        Outcome::Unconfirmed
                    } else {
                        Outcome::Failed
                    }
                }
            };
            log.push(Published {
                value,
                outcome,
                at: Instant::now(),
            });
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        log
    })
}

/// What one client's log says, checked against what was published.
#[derive(Debug, Default)]
struct Verdict {
    resets: usize,
    /// Ok-published events it did not get, each announced by a reset.
    covered: usize,
}

/// Checks one client's log (as `broker_faults` does): between resets, ids increase, no
/// value twice, each publisher's values in order; every Ok value delivered, or missing
/// only across a reset.
fn check(name: &str, log: &ClientLog, published: &[Published]) -> Verdict {
    let mut verdict = Verdict::default();
    let ok: HashSet<u64> = published
        .iter()
        .filter(|p| p.outcome == Outcome::Ok)
        .map(|p| p.value)
        .collect();
    let mut seen_values = HashSet::new();
    let mut last_id: Option<EventId> = None;
    let mut last_ok: Option<u64> = None;
    for (index, item) in log.seen.iter().enumerate() {
        match item {
            Seen::Reset => {
                verdict.resets += 1;
                last_id = None;
                last_ok = None;
                seen_values.clear();
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
                if ok.contains(value) {
                    assert!(
                        last_ok.is_none_or(|last| *value > last),
                        "{name}: {value} after {last_ok:?}: out of order (item {index})"
                    );
                    last_ok = Some(*value);
                }
            }
        }
    }
    let got: Vec<(usize, u64)> = log
        .seen
        .iter()
        .enumerate()
        .filter_map(|(i, item)| match item {
            Seen::Event { value, .. } if ok.contains(value) => Some((i, *value)),
            _ => None,
        })
        .collect();
    let resets: Vec<usize> = log
        .seen
        .iter()
        .enumerate()
        .filter_map(|(i, item)| matches!(item, Seen::Reset).then_some(i))
        .collect();
    for p in published.iter().filter(|p| p.outcome == Outcome::Ok) {
        if got.iter().any(|(_, value)| *value == p.value) {
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
            "{name}: the Ok-published {} is missing with no reset announcing it (a silent gap)",
            p.value
        );
        verdict.covered += 1;
    }
    verdict
}

async fn wait_connected(clients: &[Arc<Mutex<ClientLog>>]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !clients.iter().all(|log| log.lock().unwrap().connected) {
        assert!(Instant::now() < deadline, "the clients did not connect");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Rooms `room-<n>` whose slot `cluster` serves on master `port` (or on any other master
/// when `other`), `count` of them.
fn rooms_on(cluster: &RedisCluster, port: u16, other: bool, count: usize) -> Vec<String> {
    let mut rooms = Vec::new();
    for n in 0.. {
        let room = format!("room-{n}");
        let slot = cluster.keyslot(&format!("{{sse:broadcast:{room}}}"));
        let master = cluster.master_of(slot).expect("a master for every slot");
        if (master == port) != other {
            rooms.push(room);
            if rooms.len() == count {
                return rooms;
            }
        }
    }
    unreachable!()
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_killed_during_fan_out_loses_nothing_silently() {
    let Some(mut cluster) = RedisCluster::start(SUITE, HOW) else {
        return;
    };
    let started = Instant::now();
    let nodes = cluster.nodes();
    let victim_slot = cluster.keyslot("{sse:broadcast:room-0}");
    let victim = cluster.master_of(victim_slot).expect("a master");
    let mut rooms = rooms_on(&cluster, victim, false, 2);
    let control = rooms_on(&cluster, victim, true, 1);
    rooms.extend(control);
    let failing = 2;

    let nodes_for = nodes.clone();
    let instances: Vec<Instance> = tokio::task::spawn_blocking(move || {
        let a = start_instance(&nodes_for[..3]);
        let b = start_instance(&nodes_for[3..]);
        vec![a, b]
    })
    .await
    .unwrap();
    let servers: Vec<TestClient> = instances.iter().map(|i| i.client.clone()).collect();
    eprintln!("cluster: instances up at {:?}", started.elapsed());

    let (stop_clients, stop) = watch::channel(false);
    // clients[room][k]
    let mut clients: Vec<Vec<Arc<Mutex<ClientLog>>>> = Vec::new();
    for room in &rooms {
        let mut of_room = Vec::new();
        for server in &servers {
            for _ in 0..CLIENTS_PER_ROOM_AND_INSTANCE {
                of_room.push(client(server.clone(), room.clone(), stop.clone()));
            }
        }
        clients.push(of_room);
    }
    wait_connected(&clients.concat()).await;
    eprintln!("cluster: clients connected at {:?}", started.elapsed());

    let (stop_publishing, stop_pub) = watch::channel(false);
    let publishers: Vec<_> = rooms
        .iter()
        .zip(0..)
        .map(|(room, i)| publisher(servers.clone(), room.clone(), i, stop_pub.clone()))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;

    // SIGKILL the master of the failing rooms, mid-publishing.
    let killed_at = Instant::now();
    cluster.kill(victim);
    let (cluster, new_master) = tokio::task::spawn_blocking(move || {
        let master = cluster.wait_new_master(victim_slot, victim, Duration::from_secs(20));
        (cluster, master)
    })
    .await
    .unwrap();
    let promoted = killed_at.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop_publishing.send(true).unwrap();
    let mut published = Vec::new();
    for publisher in publishers {
        published.push(publisher.await.unwrap());
    }

    // Every client gets the last Ok event of its room.
    let deadline = Instant::now() + Duration::from_secs(20);
    for (room, of_room) in clients.iter().enumerate() {
        let last_ok = published[room]
            .iter()
            .rev()
            .find(|p| p.outcome == Outcome::Ok)
            .map(|p| p.value)
            .unwrap_or_else(|| panic!("{}: no publish succeeded after the failover", rooms[room]));
        for log in of_room {
            loop {
                let done = log
                    .lock()
                    .unwrap()
                    .seen
                    .iter()
                    .any(|seen| matches!(seen, Seen::Event { value, .. } if *value == last_ok));
                if done {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{}: a client did not get the last event",
                    rooms[room]
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    stop_clients.send(true).unwrap();
    eprintln!("cluster: clients done at {:?}", started.elapsed());

    // The verdicts and the figures.
    let mut resets_failing = Vec::new();
    let mut covered_failing = Vec::new();
    for (room, of_room) in clients.iter().enumerate() {
        for (k, log) in of_room.iter().enumerate() {
            let log = log.lock().unwrap();
            let verdict = check(
                &format!("{} client {k}", rooms[room]),
                &log,
                &published[room],
            );
            if room < failing {
                assert!(
                    verdict.resets >= 1,
                    "{} client {k}: the failover must be announced: {verdict:?}",
                    rooms[room]
                );
                resets_failing.push(verdict.resets);
                covered_failing.push(verdict.covered);
            } else {
                assert_eq!(
                    (verdict.resets, verdict.covered),
                    (0, 0),
                    "{} (another master) client {k}",
                    rooms[room]
                );
            }
        }
    }
    let failing_logs = &published[..failing];
    let count = |outcome| {
        failing_logs
            .iter()
            .flatten()
            .filter(|p| p.outcome == outcome)
            .count()
    };
    assert!(
        count(Outcome::Failed) + count(Outcome::Unconfirmed) > 0,
        "no publish failed while the master was down"
    );
    // Publishing recovered: the first Ok publish after the kill, in each failing room.
    let publish_recovered = failing_logs
        .iter()
        .map(|log| {
            let first_failure = log
                .iter()
                .find(|p| p.at > killed_at && p.outcome != Outcome::Ok)
                .map_or(killed_at, |p| p.at);
            log.iter()
                .find(|p| p.at > first_failure && p.outcome == Outcome::Ok)
                .map(|p| p.at - killed_at)
                .expect("an Ok publish after the failover")
        })
        .max()
        .unwrap_or_default();
    // Delivery recovered: every client of a failing room has an event published after
    // the failover.
    let published_after: HashSet<u64> = failing_logs
        .iter()
        .flatten()
        .filter(|p| p.at > killed_at + publish_recovered - Duration::from_millis(1))
        .map(|p| p.value)
        .collect();
    let delivery_recovered = clients[..failing]
        .iter()
        .flatten()
        .filter_map(|log| {
            log.lock().unwrap().seen.iter().find_map(|seen| match seen {
                Seen::Event { value, at, .. } if published_after.contains(value) => {
                    Some(*at - killed_at)
                }
                _ => None,
            })
        })
        .max()
        .unwrap_or_default();
    // Lost: acknowledged (201 or unconfirmed) events that no client got.
    let delivered: HashSet<u64> = clients[..failing]
        .iter()
        .flatten()
        .flat_map(|log| {
            log.lock()
                .unwrap()
                .seen
                .iter()
                .filter_map(|seen| match seen {
                    Seen::Event { value, .. } => Some(*value),
                    Seen::Reset => None,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let lost = |outcome| {
        failing_logs
            .iter()
            .flatten()
            .filter(|p| p.outcome == outcome && !delivered.contains(&p.value))
            .count()
    };
    let reconnects: usize = clients
        .iter()
        .flatten()
        .map(|log| log.lock().unwrap().reconnects)
        .sum();
    eprintln!(
        "cluster failover (SIGKILL of master :{victim}, replica :{new_master} promoted after \
         {promoted:?}): {} publishes to its {failing} rooms: {} Ok, {} unconfirmed, {} failed; \
         publishing recovered {publish_recovered:?} after the kill, delivery to every client \
         {delivery_recovered:?}; lost: {} Ok-acknowledged, {} unconfirmed; Ok events \
         announced missing per client {covered_failing:?}; resets per client \
         {resets_failing:?} (clients of the room on another master: 0); SSE reconnections \
         {reconnects}; test wall time {:?}",
        failing_logs.iter().map(Vec::len).sum::<usize>(),
        count(Outcome::Ok),
        count(Outcome::Unconfirmed),
        count(Outcome::Failed),
        lost(Outcome::Ok),
        lost(Outcome::Unconfirmed),
        started.elapsed(),
    );
    drop(instances);
    drop(cluster);
}

/// Moves `slot` from master `from` to master `to` as `redis-cli --cluster reshard` does:
/// `SETSLOT IMPORTING/MIGRATING`, `MIGRATE` of its keys, `SETSLOT NODE` everywhere.
fn migrate_slot(cluster: &RedisCluster, slot: u16, from: u16, to: u16) {
    let id = |port: u16| cluster.cli(port, &["CLUSTER", "MYID"]).trim().to_owned();
    let (from_id, to_id) = (id(from), id(to));
    let slot = slot.to_string();
    let ok = |reply: String, what: &str| assert!(reply.trim() == "OK", "{what}: {reply:?}");
    ok(
        cluster.cli(to, &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &from_id]),
        "IMPORTING",
    );
    ok(
        cluster.cli(from, &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &to_id]),
        "MIGRATING",
    );
    let keys = cluster.cli(from, &["CLUSTER", "GETKEYSINSLOT", &slot, "1000"]);
    let keys: Vec<&str> = keys.lines().filter(|key| !key.is_empty()).collect();
    if !keys.is_empty() {
        let to_port = to.to_string();
        let mut args = vec!["MIGRATE", "127.0.0.1", &to_port, "", "0", "5000", "KEYS"];
        args.extend(keys.iter().copied());
        ok(cluster.cli(from, &args), "MIGRATE");
    }
    for port in [to, from] {
        ok(
            cluster.cli(port, &["CLUSTER", "SETSLOT", &slot, "NODE", &to_id]),
            "SETSLOT NODE",
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_follows_its_slot_to_another_master() {
    let Some(cluster) = RedisCluster::start(SUITE, HOW) else {
        return;
    };
    let started = Instant::now();
    let nodes = cluster.nodes();
    let room = "room-0".to_owned();
    let slot = cluster.keyslot("{sse:broadcast:room-0}");
    let from = cluster.master_of(slot).expect("a master");
    let to = cluster
        .master_of(cluster.keyslot(&format!(
            "{{sse:broadcast:{}}}",
            rooms_on(&cluster, from, true, 1)[0]
        )))
        .expect("another master");

    let nodes_for = nodes.clone();
    let instances: Vec<Instance> = tokio::task::spawn_blocking(move || {
        vec![
            start_instance(&nodes_for[..3]),
            start_instance(&nodes_for[3..]),
        ]
    })
    .await
    .unwrap();
    let servers: Vec<TestClient> = instances.iter().map(|i| i.client.clone()).collect();
    let (stop_clients, stop) = watch::channel(false);
    let clients: Vec<_> = servers
        .iter()
        .map(|server| client(server.clone(), room.clone(), stop.clone()))
        .collect();
    wait_connected(&clients).await;
    let (stop_publishing, stop_pub) = watch::channel(false);
    let publisher = publisher(servers.clone(), room.clone(), 0, stop_pub);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let moved_at = Instant::now();
    let cluster = tokio::task::spawn_blocking(move || {
        migrate_slot(&cluster, slot, from, to);
        cluster
    })
    .await
    .unwrap();
    assert_eq!(cluster.master_of(slot), Some(to), "the slot moved");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop_publishing.send(true).unwrap();
    let published = publisher.await.unwrap();

    // Publishing through both instances works after the move (MOVED followed), and both
    // instances' clients get those events (their subscriptions followed the slot).
    let after: Vec<u64> = published
        .iter()
        .filter(|p| p.at > moved_at + Duration::from_millis(500) && p.outcome == Outcome::Ok)
        .map(|p| p.value)
        .collect();
    assert!(
        after.len() > 20,
        "publishing did not recover after the move: {} Ok",
        after.len()
    );
    let last = *after.last().expect("an Ok publish after the move");
    let deadline = Instant::now() + Duration::from_secs(20);
    for log in &clients {
        while !log
            .lock()
            .unwrap()
            .seen
            .iter()
            .any(|seen| matches!(seen, Seen::Event { value, .. } if *value == last))
        {
            assert!(
                Instant::now() < deadline,
                "a client did not follow the slot"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    stop_clients.send(true).unwrap();
    let mut resets = Vec::new();
    for (k, log) in clients.iter().enumerate() {
        let verdict = check(&format!("client {k}"), &log.lock().unwrap(), &published);
        resets.push(verdict.resets);
    }
    let failed = published
        .iter()
        .filter(|p| p.outcome != Outcome::Ok)
        .count();
    eprintln!(
        "cluster slot {slot} moved from :{from} to :{to}: {} publishes, {failed} failed \
         during the move; resets per client {resets:?}; test wall time {:?}",
        published.len(),
        started.elapsed()
    );
    drop(instances);
}

/// `WAIT` after the publish: with the master's only replica stopped (SIGSTOP), a publish
/// is reported as `PublishError::Unconfirmed` (published, but a failover may lose it);
/// with the replica back, publishes are confirmed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_no_replica_confirmed_is_reported() {
    let Some(cluster) = RedisCluster::start(SUITE, HOW) else {
        return;
    };
    let config = BroadcastConfig::new().wait_for_replicas(1, Duration::from_millis(100));
    let hub: Broadcast<u64> = Broadcast::redis_cluster(&cluster.nodes(), config)
        .await
        .expect("connect to the cluster");
    let first = hub.publish("room-0", 1).await.expect("confirmed");
    assert!(first.epoch() > 0, "cluster ids carry an epoch: {first}");
    let master = cluster
        .master_of(cluster.keyslot("{sse:broadcast:room-0}"))
        .expect("a master");
    let replica = cluster.replica_of(master).expect("a replica");

    cluster.signal(replica, "STOP");
    let unconfirmed = hub.publish("room-0", 2).await;
    cluster.signal(replica, "CONT");
    let second = match unconfirmed {
        Err(PublishError::Unconfirmed(id)) => id,
        other => panic!("expected Unconfirmed, got {other:?}"),
    };
    assert!(second > first && second.epoch() == first.epoch());

    // It was published all the same; with the replica back, the next is confirmed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let third = hub.publish("room-0", 3).await.expect("confirmed again");
    let mut subscription = hub.subscribe("room-0", Resume::after(first.to_string()));
    let mut got = Vec::new();
    while got.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(10), subscription.next()).await {
            Ok(Some(Message::Event(event))) => got.push((event.id(), *event.data())),
            Ok(Some(Message::Open)) => {}
            other => panic!("expected events, got {other:?}"),
        }
    }
    assert_eq!(got[..2], [(second, 2), (third, 3)][..]);
}

/// CPU time (user + system) of this process so far.
fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |tv: libc::timeval| {
        Duration::from_secs(u64::try_from(tv.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(tv.tv_usec).unwrap_or(0))
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// One fan-out: `subscribers` split over hubs `a` and `b`, `events` published on `b`
/// every `every`; the publish-to-receive latencies (ns, every delivery) and the CPU time
/// of this process (both hubs, all subscribers, the publisher) meanwhile.
async fn fan_out(
    a: &Broadcast<u64>,
    b: &Broadcast<u64>,
    topic: &str,
    subscribers: usize,
    events: usize,
    every: Duration,
) -> (Vec<u64>, Duration) {
    // Warm-up, before anyone subscribes: the scripts loaded, the connections made.
    b.publish(topic, 0).await.expect("publish");
    let base = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..subscribers {
        let hub = if i % 2 == 0 { a } else { b };
        let mut subscription = hub.subscribe(topic, Resume::live());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(events);
            while latencies.len() < events {
                match subscription.next().await {
                    Some(Message::Event(event)) => {
                        let now = u64::try_from(base.elapsed().as_nanos()).unwrap();
                        latencies.push(now - event.data());
                    }
                    Some(_) => {}
                    None => panic!("subscription ended: {:?}", subscription.end_reason()),
                }
            }
            latencies
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while a.subscriber_count(topic) + b.subscriber_count(topic) < subscribers {
        assert!(Instant::now() < deadline, "not all subscribed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cpu = process_cpu();
    for _ in 0..events {
        let now = u64::try_from(base.elapsed().as_nanos()).unwrap();
        b.publish(topic, now).await.expect("publish");
        tokio::time::sleep(every).await;
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let cpu = process_cpu() - cpu;
    all.sort_unstable();
    (all, cpu)
}

/// Fan-out through one Redis and through the Redis Cluster, subscribers split over two
/// hub instances (1,000 and 10,000), publisher on one: p50/p99/max delivery and this
/// process's CPU per delivery (the hubs, subscribers and publisher; not redis-server).
/// Hub level, no HTTP. `cargo test --release -p sse-tests --test it cluster -- --ignored
/// --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn fan_out_figures_one_redis_and_cluster() {
    let Some(cluster) = RedisCluster::start(SUITE, HOW) else {
        return;
    };
    let Some(redis) = sse_tests::redis::RedisServer::start(SUITE, HOW) else {
        return;
    };
    let config = BroadcastConfig::new().queue(1024);
    let single = [
        Broadcast::redis(&redis.url(), config.clone())
            .await
            .unwrap(),
        Broadcast::redis(&redis.url(), config.clone())
            .await
            .unwrap(),
    ];
    let clustered = [
        Broadcast::redis_cluster(&cluster.nodes()[..3], config.clone())
            .await
            .unwrap(),
        Broadcast::redis_cluster(&cluster.nodes()[3..], config)
            .await
            .unwrap(),
    ];
    for (subscribers, events, every) in [
        (1_000, 200, Duration::from_millis(5)),
        (10_000, 100, Duration::from_millis(50)),
    ] {
        for (name, hubs) in [("one Redis", &single), ("Redis Cluster", &clustered)] {
            let topic = format!("bench-{subscribers}");
            let (all, cpu) = fan_out(&hubs[0], &hubs[1], &topic, subscribers, events, every).await;
            assert_eq!(all.len(), subscribers * events);
            let pct = |p: f64| all[((all.len() - 1) as f64 * p) as usize] as f64 / 1e6;
            eprintln!(
                "fan-out {name}, 2 instances, {subscribers} subscribers x {events} events \
                 every {every:?}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; CPU {:.2?} = \
                 {:.2} µs per delivery",
                pct(0.5),
                pct(0.99),
                pct(1.0),
                cpu,
                cpu.as_secs_f64() * 1e6 / all.len() as f64,
            );
        }
    }
}
