//! The Redis-backed broadcast hub (issue 9) against a real `redis-server`, started here on
//! a free loopback port (`--save '' --appendonly no`): two app instances share topics, a
//! client resumes on the other instance exactly once, an evicted id gets a reset, Redis
//! restarting mid-stream means reconnection (and loud publish failures meanwhile), and the
//! `chat_room` example run as two instances shows both clients the same conversation.
//!
//! Without `redis-server` on PATH these tests are skipped with a notice, unless `CI` is
//! set: then they fail (`.ci/run` installs it).

use std::time::Duration;

use futures_util::StreamExt;
use sse_runtime::broadcast::{Broadcast, BroadcastConfig, Resume, Subscription, RESET_EVENT};
use sse_runtime::parse::ParsedEvent;
use sse_runtime::testing::{Events, Protocol, TestClient};
use sse_runtime::{App, HttpError, Json, LastEventId, Path, State, StatusCode};
use sse_tests::redis::RedisServer;

use crate::showcase::chat_room;

/// A plain Redis connection, to look at what the hubs leave behind.
async fn inspect(redis: &RedisServer) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis.url()).expect("redis url");
    client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to the test redis")
}

async fn channel_subscribers(conn: &mut redis::aio::MultiplexedConnection, channel: &str) -> i64 {
    let reply: (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query_async(conn)
        .await
        .expect("PUBSUB NUMSUB");
    reply.1
}

// ---------------------------------------------------------------------------------------
// An app on a Redis hub
// ---------------------------------------------------------------------------------------

type Hub = Broadcast<u64>;

async fn events(
    State(hub): State<Hub>,
    Path(topic): Path<String>,
    last: LastEventId,
) -> Subscription<u64> {
    hub.subscribe(&topic, last)
}

async fn publish(
    State(hub): State<Hub>,
    Path(topic): Path<String>,
    Json(n): Json<u64>,
) -> Result<String, HttpError> {
    hub.publish(&topic, n)
        .await
        .map(|id| id.to_string())
        .map_err(|err| HttpError::new(StatusCode::SERVICE_UNAVAILABLE, err.to_string()))
}

fn app(hub: &Hub) -> App {
    App::new()
        .get("/topics/{topic}/events", events)
        .post("/topics/{topic}", publish)
        .state(hub.clone())
}

/// A hub on `redis` and a real server for it.
async fn instance(redis: &RedisServer, config: BroadcastConfig) -> (Hub, TestClient) {
    let hub = Broadcast::redis(&redis.url(), config)
        .await
        .expect("connect the hub to redis");
    let client = TestClient::spawn(app(&hub), Protocol::Http1).await;
    (hub, client)
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn subscribe(client: &TestClient, path: &str, last: Option<&str>) -> Events {
    let mut request = client.get(path);
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    let response = request.send().await;
    assert_eq!(response.status(), StatusCode::OK);
    response.events()
}

async fn next_event(events: &mut Events) -> ParsedEvent {
    match tokio::time::timeout(Duration::from_secs(15), events.next()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("the stream ended"),
        Err(_) => panic!("no event within 15 s"),
    }
}

fn value(event: &ParsedEvent) -> u64 {
    assert_eq!(event.event, "message", "not a published event: {event:?}");
    match event.data.parse() {
        Ok(n) => n,
        Err(err) => panic!("data {:?} is not a number: {err}", event.data),
    }
}

async fn post(client: &TestClient, topic: &str, n: u64) -> String {
    let response = client
        .post(&format!("/topics/{topic}"))
        .json(&n)
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_client_on_one_instance_gets_what_is_published_on_the_other() {
    let Some(redis) = RedisServer::start(
        "the Redis broadcast tests (tests/it/broadcast_redis.rs)",
        "apt-get install redis-server && cargo test -p sse-tests --test it broadcast_redis",
    ) else {
        return;
    };
    let (hub_a, a) = instance(&redis, BroadcastConfig::new()).await;
    let (hub_b, b) = instance(&redis, BroadcastConfig::new()).await;

    let mut on_a = subscribe(&a, "/topics/room/events", None).await;
    let mut on_b = subscribe(&b, "/topics/room/events", None).await;
    wait_until("both instances receive the topic", || {
        hub_a.subscriber_count("room") == 1 && hub_b.subscriber_count("room") == 1
    })
    .await;

    for (n, via) in [(1, &b), (2, &a), (3, &b)] {
        let id = post(via, "room", n).await;
        for events in [&mut on_a, &mut on_b] {
            let event = next_event(events).await;
            assert_eq!(value(&event), n);
            assert_eq!(
                event.id.as_deref(),
                Some(id.as_str()),
                "the same id everywhere"
            );
        }
    }
    // Topics stay apart.
    post(&b, "elsewhere", 9).await;
    post(&b, "room", 4).await;
    assert_eq!(value(&next_event(&mut on_a).await), 4);
}

/// A client that keeps dropping and reconnecting, alternately to instance A and B, with
/// its `Last-Event-ID`, while both instances publish: every value exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_on_the_other_instance_delivers_each_event_exactly_once() {
    let Some(redis) = RedisServer::start(
        "the Redis broadcast tests (tests/it/broadcast_redis.rs)",
        "apt-get install redis-server && cargo test -p sse-tests --test it broadcast_redis",
    ) else {
        return;
    };
    const N: u64 = 400;
    let config = BroadcastConfig::new().replay(N as usize).queue(16);
    let (hub_a, a) = instance(&redis, config.clone()).await;
    let (hub_b, b) = instance(&redis, config).await;

    let reader = {
        let (a, b) = (a.clone(), b.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut last: Option<String> = None;
            let mut connections = 0u64;
            while seen.last() != Some(&(N - 1)) {
                // Alternate: A, B, A, ...
                let instance = [&a, &b][usize::from(connections % 2 == 1)];
                connections += 1;
                let mut events = subscribe(instance, "/topics/t/events", last.as_deref()).await;
                let take = 1 + (connections * 7) % 23;
                for _ in 0..take {
                    let Ok(Some(event)) =
                        tokio::time::timeout(Duration::from_secs(15), events.next()).await
                    else {
                        break;
                    };
                    assert_ne!(
                        event.event, RESET_EVENT,
                        "a reset although nothing was evicted"
                    );
                    seen.push(value(&event));
                    last = event.id.clone();
                    if seen.last() == Some(&(N - 1)) {
                        break;
                    }
                }
            }
            (seen, connections)
        })
    };
    wait_until("the first client is live", || {
        hub_a.subscriber_count("t") == 1
    })
    .await;
    for n in 0..N {
        let hub = if n % 3 == 0 { &hub_b } else { &hub_a };
        hub.publish("t", n).await.expect("publish");
    }
    let (seen, connections) = tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .expect("the client finishes")
        .unwrap();
    assert_eq!(
        seen,
        (0..N).collect::<Vec<_>>(),
        "{connections} connections"
    );
    assert!(connections > 10);
}

#[tokio::test]
async fn an_id_trimmed_from_the_stream_is_answered_with_a_reset() {
    let Some(redis) = RedisServer::start(
        "the Redis broadcast tests (tests/it/broadcast_redis.rs)",
        "apt-get install redis-server && cargo test -p sse-tests --test it broadcast_redis",
    ) else {
        return;
    };
    let (hub_a, _a) = instance(&redis, BroadcastConfig::new().replay(5)).await;
    let (_hub_b, b) = instance(&redis, BroadcastConfig::new().replay(5)).await;
    let mut ids = Vec::new();
    for n in 0..20 {
        ids.push(hub_a.publish("t", n).await.unwrap().to_string());
    }
    for sent in [ids[3].as_str(), "garbage", "1-0"] {
        let mut events = subscribe(&b, "/topics/t/events", Some(sent)).await;
        let reset = next_event(&mut events).await;
        assert_eq!(reset.event, RESET_EVENT);
        assert_eq!(
            reset.json::<serde_json::Value>().unwrap(),
            serde_json::json!({ "last_event_id": sent })
        );
        for n in 15..20 {
            let event = next_event(&mut events).await;
            assert_eq!(
                (value(&event), event.id.as_ref()),
                (n, Some(&ids[n as usize]))
            );
        }
    }
    // A retained id resumes without a reset, on either instance.
    let mut events = subscribe(&b, "/topics/t/events", Some(&ids[17])).await;
    assert_eq!(value(&next_event(&mut events).await), 18);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarting_mid_stream_means_reconnection_not_a_crash() {
    let Some(mut redis) = RedisServer::start(
        "the Redis broadcast tests (tests/it/broadcast_redis.rs)",
        "apt-get install redis-server && cargo test -p sse-tests --test it broadcast_redis",
    ) else {
        return;
    };
    let (hub_a, a) = instance(&redis, BroadcastConfig::new()).await;
    let (hub_b, b) = instance(&redis, BroadcastConfig::new()).await;
    let mut on_a = subscribe(&a, "/topics/t/events", None).await;
    wait_until("A receives the topic", || hub_a.subscriber_count("t") == 1).await;
    let before = post(&b, "t", 1).await;
    assert_eq!(value(&next_event(&mut on_a).await), 1);

    // Redis goes away (for good: it comes back empty).
    redis.kill();
    let failed = tokio::time::timeout(Duration::from_secs(10), hub_b.publish("t", 2)).await;
    assert!(
        matches!(failed, Ok(Err(_))),
        "publishing while Redis is down must fail promptly, got {failed:?}"
    );
    let response = b.post("/topics/t").json(&2u64).send().await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    wait_until("A notices", || hub_a.subscriber_count("t") == 0).await;

    redis.restart_after(Duration::from_millis(300));
    // The publisher's connection comes back by itself.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let after = loop {
        match hub_b.publish("t", 3).await {
            Ok(id) => break id.to_string(),
            Err(err) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "publisher never recovered: {err}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // The client on A, still on the same connection, is told the stream was lost, then
    // gets what came after.
    let reset = next_event(&mut on_a).await;
    assert_eq!(reset.event, RESET_EVENT);
    let event = next_event(&mut on_a).await;
    assert_eq!((value(&event), event.id.as_ref()), (3, Some(&after)));
    wait_until("A is live again", || hub_a.subscriber_count("t") == 1).await;
    post(&b, "t", 4).await;
    assert_eq!(value(&next_event(&mut on_a).await), 4);

    // A client coming back with an id from before the restart is told too.
    let mut back = subscribe(&b, "/topics/t/events", Some(&before)).await;
    assert_eq!(next_event(&mut back).await.event, RESET_EVENT);
    assert_eq!(value(&next_event(&mut back).await), 3);
    assert_eq!(value(&next_event(&mut back).await), 4);
}

#[tokio::test]
async fn unused_topics_unsubscribe_and_dropping_the_hub_stops_its_task() {
    let Some(redis) = RedisServer::start(
        "the Redis broadcast tests (tests/it/broadcast_redis.rs)",
        "apt-get install redis-server && cargo test -p sse-tests --test it broadcast_redis",
    ) else {
        return;
    };
    let mut conn = inspect(&redis).await;
    let config = BroadcastConfig::new()
        .key_prefix("test")
        .idle_timeout(Duration::from_secs(1));
    let hub = Broadcast::<u64>::redis(&redis.url(), config).await.unwrap();

    let first = hub.subscribe("t", Resume::live());
    let second = hub.subscribe("t", Resume::live());
    wait_until("subscribed", || hub.subscriber_count("t") == 2).await;
    assert_eq!(
        channel_subscribers(&mut conn, "test:t").await,
        1,
        "one channel per instance"
    );
    drop(first);
    drop(second);
    assert_eq!(hub.topic_count(), 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while channel_subscribers(&mut conn, "test:t").await != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the channel stayed subscribed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The stream expires after the idle timeout.
    hub.publish("t", 1).await.unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg("test:t")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=1000).contains(&ttl), "PTTL {ttl}");

    // Dropping the hub ends its subscriptions and its reader (and its pub/sub connection).
    let mut subscription = hub.subscribe("u", Resume::live());
    wait_until("subscribed", || hub.subscriber_count("u") == 1).await;
    assert_eq!(channel_subscribers(&mut conn, "test:u").await, 1);
    drop(hub);
    let mut end = tokio::time::timeout(Duration::from_secs(10), subscription.next()).await;
    if matches!(end, Ok(Some(sse_runtime::broadcast::Message::Open))) {
        end = tokio::time::timeout(Duration::from_secs(10), subscription.next()).await;
    }
    assert!(matches!(end, Ok(None)), "the subscription outlived its hub");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while channel_subscribers(&mut conn, "test:u").await != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reader task outlived its hub"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The definition of done: the `chat_room` example as two instances on two
/// ports against one Redis; a client of each sees the same conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_room_as_two_instances_shows_everyone_the_same_conversation() {
    let Some(redis) = RedisServer::start(
        "the Redis broadcast tests (tests/it/broadcast_redis.rs)",
        "apt-get install redis-server && cargo test -p sse-tests --test it broadcast_redis",
    ) else {
        return;
    };
    let url = redis.url();
    let mut instances = Vec::new();
    for _ in 0..2 {
        let hub = chat_room::make_hub(Some(&url)).await.expect("hub on redis");
        instances.push(TestClient::spawn(chat_room::app(hub), Protocol::Http1).await);
    }
    let (a, b) = (&instances[0], &instances[1]);
    let page = a.get("/").send().await.text().await;
    assert!(page.contains("new EventSource(\"/rooms/\""));

    let mut tab_a = subscribe(a, "/rooms/lobby/events", None).await;
    let mut tab_b = subscribe(b, "/rooms/lobby/events", None).await;
    // Both tabs are open: post until each has seen the probe, then talk.
    let said = [
        ("alice", "hi from A", a),
        ("bob", "hello from B", b),
        ("alice", "how are you?", a),
        ("bob", "fine, thanks", b),
    ];
    let probe = b
        .post("/rooms/lobby/messages")
        .json(&serde_json::json!({ "user": "probe", "text": "ready?" }))
        .send()
        .await;
    assert_eq!(probe.status(), StatusCode::CREATED);
    for tab in [&mut tab_a, &mut tab_b] {
        assert_eq!(
            next_event(tab).await.json::<serde_json::Value>().unwrap()["user"],
            "probe"
        );
    }
    for (user, text, via) in said {
        let response = via
            .post("/rooms/lobby/messages")
            .json(&serde_json::json!({ "user": user, "text": text }))
            .send()
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let mut conversations = Vec::new();
    for tab in [&mut tab_a, &mut tab_b] {
        let mut seen = Vec::new();
        for _ in 0..said.len() {
            let event = next_event(tab).await;
            let message: chat_room::ChatMessage = event.json().unwrap();
            seen.push((event.id.clone(), message.user, message.text));
        }
        conversations.push(seen);
    }
    assert_eq!(conversations[0], conversations[1], "the tabs disagree");
    let texts: Vec<_> = conversations[0]
        .iter()
        .map(|(_, _, text)| text.as_str())
        .collect();
    assert_eq!(
        texts,
        ["hi from A", "hello from B", "how are you?", "fine, thanks"]
    );

    // A latecomer on either instance gets the history, the probe first.
    let mut late = subscribe(b, "/rooms/lobby/events", None).await;
    assert_eq!(
        next_event(&mut late)
            .await
            .json::<serde_json::Value>()
            .unwrap()["user"],
        "probe"
    );
    // Invalid input is refused, not published.
    let bad = a
        .post("/rooms/lobby/messages")
        .json(&serde_json::json!({ "user": "", "text": "x" }))
        .send()
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_room = a.get("/rooms/no%20spaces/events").send().await;
    assert_eq!(bad_room.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// Publish → receive latency of one event fanned out to `SUBSCRIBERS` subscriptions, in
/// process and through Redis (publisher on instance B, subscribers split over A and B).
/// Figures for the performance bench:
/// `cargo test --release -p sse-tests --test it broadcast_redis -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn fan_out_latency_figures() {
    const SUBSCRIBERS: usize = 1000;
    const EVENTS: u64 = 200;
    let Some(redis) = RedisServer::start(
        "the Redis broadcast tests (tests/it/broadcast_redis.rs)",
        "apt-get install redis-server && cargo test -p sse-tests --test it broadcast_redis",
    ) else {
        return;
    };
    let config = BroadcastConfig::new().queue(1024);
    let memory = Hub::with_config(config.clone());
    let hub_a = Hub::redis(&redis.url(), config.clone()).await.unwrap();
    let hub_b = Hub::redis(&redis.url(), config).await.unwrap();
    for (name, publisher, subscribers) in [
        ("in process", &memory, [&memory, &memory]),
        ("redis, 2 instances", &hub_b, [&hub_a, &hub_b]),
    ] {
        let base = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        for i in 0..SUBSCRIBERS {
            let mut subscription = subscribers[i % 2].subscribe("bench", Resume::live());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(EVENTS as usize);
                while latencies.len() < EVENTS as usize {
                    match subscription.next().await {
                        Some(sse_runtime::broadcast::Message::Event(event)) => {
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
        wait_until("all subscribed", || {
            subscribers[0].subscriber_count("bench") + subscribers[1].subscriber_count("bench")
                >= SUBSCRIBERS
                    * if std::ptr::eq(subscribers[0], subscribers[1]) {
                        2
                    } else {
                        1
                    }
        })
        .await;
        let started = tokio::time::Instant::now();
        for _ in 0..EVENTS {
            let now = u64::try_from(base.elapsed().as_nanos()).unwrap();
            publisher.publish("bench", now).await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all.sort_unstable();
        let pct = |p: f64| all[((all.len() - 1) as f64 * p) as usize] as f64 / 1e6;
        println!(
            "fan-out {name}: {SUBSCRIBERS} subscribers x {EVENTS} events in {:.2?}: \
             p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            started.elapsed(),
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(1.0),
        );
        assert_eq!(all.len(), SUBSCRIBERS * EVENTS as usize);
    }
}
