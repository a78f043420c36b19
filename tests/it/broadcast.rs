//! The in-process broadcast hub (issue 9) through real routes: in process and over TCP.
//! Resume with `Last-Event-ID` while publishing goes on, resets for evicted ids, slow
//! subscribers that overflow without slowing anyone, cleanup of unused topics, and routes
//! that transform a subscription.

use std::time::Duration;

use futures_util::StreamExt;
use sse_runtime::broadcast::{
    Broadcast, BroadcastConfig, EventId, Message, Resume, Subscription, RESET_EVENT,
};
use sse_runtime::parse::ParsedEvent;
use sse_runtime::testing::{Events, Protocol, TestClient};
use sse_runtime::{
    get, App, Json, LastEventId, Path, ServerSentEvent, Sse, State, StatusCode, Stream,
};

type Hub = Broadcast<u64>;

/// `GET /topics/{topic}/events`: the subscription is the response.
async fn events(
    State(hub): State<Hub>,
    Path(topic): Path<String>,
    last: LastEventId,
) -> Subscription<u64> {
    hub.subscribe(&topic, last)
}

/// `GET /topics/{topic}/shout`: a generator that transforms each item, keeping its id.
async fn shout(State(hub): State<Hub>, Path(topic): Path<String>, last: LastEventId) -> Sse {
    Sse::new(async_stream::stream! {
        let mut subscription = hub.subscribe(&topic, last);
        while let Some(message) = subscription.next().await {
            yield message.into_event_with(|n| ServerSentEvent::new().event("shout").data(n * 10));
        }
    })
}

/// An `sse` route returns the subscription as is: no `yield`, no `Sse`.
#[get("/topics/{topic}/direct", sse)]
async fn direct(
    State(hub): State<Hub>,
    Path(topic): Path<String>,
    last: LastEventId,
) -> impl Stream<Item = Message<u64>> {
    hub.subscribe(&topic, last)
}

/// The same, typed as plain `ServerSentEvent`s.
#[get("/topics/{topic}/plain", sse)]
async fn plain(
    State(hub): State<Hub>,
    Path(topic): Path<String>,
    last: LastEventId,
) -> impl Stream<Item = ServerSentEvent> {
    hub.subscribe(&topic, last)
        .map(|message| message.into_event_with(|n| ServerSentEvent::new().data(n)))
}

/// `POST /topics/{topic}` with a JSON number: publishes it, answers its id.
async fn publish(
    State(hub): State<Hub>,
    Path(topic): Path<String>,
    Json(n): Json<u64>,
) -> Result<String, sse_runtime::HttpError> {
    hub.publish(&topic, n)
        .await
        .map(|id| id.to_string())
        .map_err(|err| {
            sse_runtime::HttpError::new(StatusCode::SERVICE_UNAVAILABLE, err.to_string())
        })
}

fn app(hub: &Hub) -> App {
    App::new()
        .get("/topics/{topic}/events", events)
        .get("/topics/{topic}/shout", shout)
        .post("/topics/{topic}", publish)
        .route(direct)
        .route(plain)
        .state(hub.clone())
}

#[derive(Clone, Copy, Debug)]
enum Target {
    InProcess,
    Tcp(Protocol),
}

const TARGETS: [Target; 3] = [
    Target::InProcess,
    Target::Tcp(Protocol::Http1),
    Target::Tcp(Protocol::Http2),
];

async fn client(hub: &Hub, target: Target) -> TestClient {
    match target {
        Target::InProcess => TestClient::new(app(hub)),
        Target::Tcp(protocol) => TestClient::spawn(app(hub), protocol).await,
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn next_event(events: &mut Events) -> ParsedEvent {
    match tokio::time::timeout(Duration::from_secs(10), events.next()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("the stream ended"),
        Err(_) => panic!("no event within 10 s"),
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

fn value(event: &ParsedEvent) -> u64 {
    assert_eq!(event.event, "message", "not a published event: {event:?}");
    match event.data.parse() {
        Ok(n) => n,
        Err(err) => panic!("data {:?} is not a number: {err}", event.data),
    }
}

#[tokio::test]
async fn a_route_streams_what_is_published_with_ids() {
    for target in TARGETS {
        let hub = Hub::new();
        let client = client(&hub, target).await;
        let mut events = subscribe(&client, "/topics/news/events", None).await;
        wait_until("the route subscribed", || hub.subscriber_count("news") == 1).await;
        for n in 0..3u64 {
            let response = client.post("/topics/news").json(&n).send().await;
            assert_eq!(response.status(), StatusCode::OK, "{target:?}");
            let id = response.text().await;
            let event = next_event(&mut events).await;
            assert_eq!(value(&event), n, "{target:?}");
            assert_eq!(event.id.as_deref(), Some(id.as_str()), "{target:?}");
        }
        // Another topic's events do not leak in.
        hub.publish("sports", 99).await.unwrap();
        hub.publish("news", 3).await.unwrap();
        assert_eq!(value(&next_event(&mut events).await), 3, "{target:?}");
    }
}

#[tokio::test]
async fn last_event_id_resumes_right_after_it_then_goes_live() {
    for target in TARGETS {
        let hub = Hub::new();
        let client = client(&hub, target).await;
        let mut ids = Vec::new();
        for n in 0..5 {
            ids.push(hub.publish("t", n).await.unwrap().to_string());
        }
        let mut events = subscribe(&client, "/topics/t/events", Some(&ids[1])).await;
        for n in 2..5u64 {
            let event = next_event(&mut events).await;
            assert_eq!(value(&event), n, "{target:?}");
            assert_eq!(event.id.as_ref(), Some(&ids[n as usize]), "{target:?}");
        }
        hub.publish("t", 5).await.unwrap();
        assert_eq!(value(&next_event(&mut events).await), 5, "{target:?}");
    }
}

/// Clients that keep dropping and reconnecting with their `Last-Event-ID` while a
/// publisher runs flat out must see every value exactly once, in order. Small queues make
/// some of them overflow too: they reconnect and resume the same way.
async fn handover_under_concurrent_publishing(target: Target) {
    const N: u64 = 1500;
    const CLIENTS: u64 = 3;
    let hub = Hub::with_config(BroadcastConfig::new().replay(N as usize).queue(16));
    let client = client(&hub, target).await;

    let mut readers = Vec::new();
    for c in 0..CLIENTS {
        let client = client.clone();
        readers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut last: Option<String> = None;
            let mut ids: Vec<EventId> = Vec::new();
            let mut rng = 0x9e37_79b9_u64.wrapping_mul(c + 1);
            let mut connections = 0;
            while seen.last() != Some(&(N - 1)) {
                connections += 1;
                let mut events = subscribe(&client, "/topics/t/events", last.as_deref()).await;
                rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let take = 1 + (rng >> 33) % 40;
                for _ in 0..take {
                    let Ok(Some(event)) =
                        tokio::time::timeout(Duration::from_secs(10), events.next()).await
                    else {
                        break; // overflowed: reconnect
                    };
                    assert_ne!(
                        event.event, RESET_EVENT,
                        "client {c}: a reset with a full buffer"
                    );
                    seen.push(value(&event));
                    let id = event.id.clone().expect("every event has an id");
                    ids.push(id.parse().expect("ids parse"));
                    last = Some(id);
                    if seen.last() == Some(&(N - 1)) {
                        break;
                    }
                }
            }
            assert!(
                ids.windows(2).all(|w| w[0] < w[1]),
                "client {c}: ids not increasing"
            );
            (seen, connections)
        }));
    }
    // Let every client be connected before publishing starts, then publish flat out.
    wait_until("the clients subscribed", || hub.subscriber_count("t") >= 1).await;
    let publisher = {
        let hub = hub.clone();
        tokio::spawn(async move {
            for n in 0..N {
                hub.publish("t", n).await.unwrap();
                if n % 8 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    publisher.await.unwrap();
    for (c, reader) in readers.into_iter().enumerate() {
        let (seen, connections) = tokio::time::timeout(Duration::from_secs(60), reader)
            .await
            .expect("the client finishes")
            .unwrap();
        // A client that connected after publishing began starts live: it must still see
        // a gapless, duplicate-free run from its first value to the end.
        let first = seen[0];
        let expected: Vec<u64> = (first..N).collect();
        assert_eq!(
            seen, expected,
            "client {c} ({target:?}, {connections} connections)"
        );
        assert!(connections > 1, "client {c} never reconnected");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handover_in_process_with_a_concurrent_publisher() {
    handover_under_concurrent_publishing(Target::InProcess).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handover_over_http1_with_a_concurrent_publisher() {
    handover_under_concurrent_publishing(Target::Tcp(Protocol::Http1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handover_over_http2_with_a_concurrent_publisher() {
    handover_under_concurrent_publishing(Target::Tcp(Protocol::Http2)).await;
}

#[tokio::test]
async fn an_evicted_id_is_answered_with_a_reset_event_then_the_buffer() {
    for target in TARGETS {
        let hub = Hub::with_config(BroadcastConfig::new().replay(4));
        let client = client(&hub, target).await;
        let mut ids = Vec::new();
        for n in 0..10 {
            ids.push(hub.publish("t", n).await.unwrap().to_string());
        }
        for sent in [ids[2].as_str(), "not-an-id", "99999999999999-0"] {
            let mut events = subscribe(&client, "/topics/t/events", Some(sent)).await;
            let reset = next_event(&mut events).await;
            assert_eq!(reset.event, RESET_EVENT, "{target:?}");
            assert_eq!(reset.id, None, "a reset carries no id");
            let data: serde_json::Value = reset.json().unwrap();
            assert_eq!(data, serde_json::json!({ "last_event_id": sent }));
            for n in 6..10u64 {
                let event = next_event(&mut events).await;
                assert_eq!(value(&event), n, "{target:?}");
                assert_eq!(event.id.as_ref(), Some(&ids[n as usize]));
            }
        }
        // Resuming from a retained id is no reset.
        let mut events = subscribe(&client, "/topics/t/events", Some(&ids[7])).await;
        assert_eq!(value(&next_event(&mut events).await), 8, "{target:?}");
    }
}

/// A client that stops reading fills its queue and is cut off; the publisher never waits
/// and a reading client gets everything. The cut-off client then resumes from the buffer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_overflows_without_slowing_the_publisher_or_others() {
    const N: u64 = 2000;
    let hub = Hub::with_config(BroadcastConfig::new().queue(8).replay(N as usize));
    let client = client(&hub, Target::InProcess).await;

    let mut slow = subscribe(&client, "/topics/t/events", None).await;
    let (acks, mut acked) = tokio::sync::mpsc::unbounded_channel();
    let fast = {
        let client = client.clone();
        tokio::spawn(async move {
            let mut events = subscribe(&client, "/topics/t/events", None).await;
            let mut seen = Vec::new();
            while seen.len() < N as usize {
                let n = value(&next_event(&mut events).await);
                seen.push(n);
                let _ = acks.send(n);
            }
            seen
        })
    };
    wait_until("both subscribed", || hub.subscriber_count("t") == 2).await;

    let first = hub.publish("t", 0).await.unwrap().to_string();
    assert_eq!(value(&next_event(&mut slow).await), 0);
    assert_eq!(acked.recv().await, Some(0));
    // From here on `slow` reads nothing. The publisher waits for the fast client only.
    let published = tokio::time::timeout(Duration::from_secs(30), async {
        for n in 1..N {
            hub.publish("t", n).await.unwrap();
            assert_eq!(acked.recv().await, Some(n));
        }
    })
    .await;
    assert!(published.is_ok(), "the publisher was held up");
    assert_eq!(fast.await.unwrap(), (0..N).collect::<Vec<_>>());

    // The slow client was cut off: at most a queue's worth left, then the end.
    assert_eq!(
        hub.subscriber_count("t"),
        1,
        "the slow subscriber is still registered"
    );
    let rest: Vec<ParsedEvent> = tokio::time::timeout(Duration::from_secs(10), slow.collect())
        .await
        .expect("the slow stream ends");
    assert!(rest.len() <= 8, "{} events after overflowing", rest.len());

    // It reconnects with its last id and gets everything else exactly once.
    let last = rest.last().and_then(|e| e.id.clone()).unwrap_or(first);
    let resumed_from = rest.last().map_or(0, value);
    let mut events = subscribe(&client, "/topics/t/events", Some(&last)).await;
    for n in resumed_from + 1..N {
        assert_eq!(value(&next_event(&mut events).await), n);
    }
}

#[tokio::test]
async fn topics_are_removed_when_unused() {
    let hub = Hub::with_config(BroadcastConfig::new().idle_timeout(Duration::from_millis(200)));
    let client = client(&hub, Target::Tcp(Protocol::Http1)).await;

    // A topic nobody published to goes with its last subscriber (the client disconnects).
    let events = subscribe(&client, "/topics/chatter/events", None).await;
    wait_until("the client subscribed", || {
        hub.subscriber_count("chatter") == 1
    })
    .await;
    assert_eq!(hub.topic_count(), 1);
    drop(events);
    wait_until("the topic went with its subscriber", || {
        hub.topic_count() == 0
    })
    .await;

    // A topic with buffered events stays for clients that come back, until the idle
    // timeout; then a client coming back is told it missed something.
    let id = hub.publish("quiet", 1).await.unwrap().to_string();
    assert_eq!(hub.topic_count(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    hub.publish("other", 2).await.unwrap();
    assert_eq!(hub.topic_count(), 1, "`quiet` outlived its idle timeout");
    let mut events = subscribe(&client, "/topics/quiet/events", Some(&id)).await;
    assert_eq!(next_event(&mut events).await.event, RESET_EVENT);
}

#[tokio::test]
async fn a_generator_route_transforms_items_and_keeps_ids() {
    for target in TARGETS {
        let hub = Hub::new();
        let client = client(&hub, target).await;
        let mut events = subscribe(&client, "/topics/t/shout", None).await;
        wait_until("subscribed", || hub.subscriber_count("t") == 1).await;
        let first = hub.publish("t", 1).await.unwrap().to_string();
        hub.publish("t", 2).await.unwrap();
        let event = next_event(&mut events).await;
        assert_eq!((event.event.as_str(), event.data.as_str()), ("shout", "10"));
        assert_eq!(event.id.as_ref(), Some(&first));
        assert_eq!(next_event(&mut events).await.data, "20");
        drop(events);
        // And resuming through it works the same.
        let mut events = subscribe(&client, "/topics/t/shout", Some(&first)).await;
        assert_eq!(next_event(&mut events).await.data, "20", "{target:?}");
    }
}

#[tokio::test]
async fn macro_routes_return_the_subscription_directly() {
    for target in TARGETS {
        for path in ["/topics/t/direct", "/topics/t/plain"] {
            let hub = Hub::new();
            let client = client(&hub, target).await;
            let mut events = subscribe(&client, path, None).await;
            wait_until("subscribed", || hub.subscriber_count("t") == 1).await;
            let first = hub.publish("t", 1).await.unwrap().to_string();
            let event = next_event(&mut events).await;
            assert_eq!(
                (value(&event), event.id.as_ref()),
                (1, Some(&first)),
                "{path}"
            );
            drop(events);
            hub.publish("t", 2).await.unwrap();
            let mut events = subscribe(&client, path, Some(&first)).await;
            assert_eq!(
                value(&next_event(&mut events).await),
                2,
                "{path} {target:?}"
            );
        }
    }
}

#[tokio::test]
async fn background_tasks_publish_and_dropping_the_hub_ends_streams() {
    let hub = Hub::new();
    let ticker = {
        let hub = hub.clone();
        tokio::spawn(async move {
            for n in 0.. {
                if hub.publish("ticks", n).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut subscription = hub.subscribe("ticks", Resume::live());
    let mut got = Vec::new();
    while got.len() < 3 {
        if let Some(id) = tokio::time::timeout(Duration::from_secs(5), subscription.next())
            .await
            .expect("ticks arrive")
            .and_then(|message| message.id())
        {
            got.push(id);
        }
    }
    assert!(got.windows(2).all(|w| w[0] < w[1]));
    ticker.abort();
    let _ = ticker.await;
    drop(hub);
    let rest = tokio::time::timeout(Duration::from_secs(5), subscription.collect::<Vec<_>>()).await;
    assert!(rest.is_ok(), "the subscription outlived its hub");
}

/// A broadcast to 100 streams that share one HTTP/2 connection (as a browser's
/// `EventSource`s do over h2): every stream gets every event, whole and in order. The
/// server coalesces the connection's writes (`coalesce.rs`: the frames the streams queue
/// for one event go out together), so this is the path of a fan-out over HTTP/2. The
/// client is the `h2` crate, one connection, its windows large enough never to stop the
/// server.
#[tokio::test]
async fn one_http2_connection_carries_every_event_to_each_of_its_100_streams() {
    const STREAMS: usize = 100;
    const EVENTS: u64 = 5;
    let hub = Hub::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app(&hub).serve_with_shutdown(listener, async {
        let _ = stopped.await;
    }));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = h2::client::Builder::new()
        .initial_window_size(1 << 24)
        .initial_connection_window_size(1 << 24)
        .handshake::<_, bytes::Bytes>(tcp)
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut bodies = Vec::new();
    for _ in 0..STREAMS {
        let mut sender = sender.clone().ready().await.unwrap();
        let request = http::Request::get(format!("http://{addr}/topics/wide/events"))
            .body(())
            .unwrap();
        let (response, _) = sender.send_request(request, true).unwrap();
        let response = response.await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        bodies.push(response.into_body());
    }
    wait_until("every stream subscribed", || {
        hub.subscriber_count("wide") == STREAMS
    })
    .await;
    for n in 0..EVENTS {
        hub.publish("wide", n).await.unwrap();
    }
    let readers = bodies.into_iter().map(|mut body| async move {
        let mut text = String::new();
        while text.matches("\n\n").count() < EVENTS as usize {
            let chunk = body.data().await.expect("the stream ended").unwrap();
            let _ = body.flow_control().release_capacity(chunk.len());
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
        text
    });
    let texts = tokio::time::timeout(
        Duration::from_secs(20),
        futures_util::future::join_all(readers),
    )
    .await
    .expect("every stream's events within 20 s");
    for text in texts {
        let data: Vec<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .collect();
        assert_eq!(data, ["0", "1", "2", "3", "4"], "{text:?}");
    }
    let _ = stop.send(());
    let _ = server.await;
}
