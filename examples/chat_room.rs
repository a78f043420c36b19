//! Chat rooms on a broadcast hub: `POST /rooms/{room}/messages` publishes a message to
//! every client of the room, `GET /rooms/{room}/events` streams the room (its recent
//! history first, then live messages), and a client that reconnects with `Last-Event-ID`
//! resumes exactly where it left off. `GET /` is a chat page.
//!
//! The routes only talk to a [`Hub`] (`sse_runtime::broadcast::Broadcast`). With
//! `REDIS_URL` set, the hub lives in Redis, so several instances behind a load balancer
//! share the rooms: a message posted to one reaches the browsers of all. See
//! `docs/broadcast.md`.
//!
//! ```text
//! cargo run --example chat_room                  # one instance, hub in process
//! open http://127.0.0.1:8000/
//!
//! redis-server --port 6379 --save '' --appendonly no &
//! REDIS_URL=redis://127.0.0.1:6379/ ADDR=127.0.0.1:8001 cargo run --example chat_room &
//! REDIS_URL=redis://127.0.0.1:6379/ ADDR=127.0.0.1:8002 cargo run --example chat_room &
//! # or on a Redis Cluster, given some of its nodes:
//! # REDIS_CLUSTER=127.0.0.1:7000,127.0.0.1:7001 cargo run --example chat_room
//! curl -N http://127.0.0.1:8001/rooms/lobby/events &
//! curl -X POST -H 'content-type: application/json' \
//!      -d '{"user": "bob", "text": "hi"}' http://127.0.0.1:8002/rooms/lobby/messages
//! ```
//!
//! Behind a reverse proxy, keep its idle timeout above the keep-alive interval (15 s by
//! default; `KEEP_ALIVE_SECS=2` sets another): `docs/deploy.md`.

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sse_runtime::broadcast::{Broadcast, BroadcastConfig, ConnectError, Message, Resume};
use sse_runtime::schemars::JsonSchema;
use sse_runtime::{
    App, Created, Html, HttpError, Json, KeepAlive, LastEventId, Path, State, StatusCode, Stream,
};

/// What the room broadcasts: `data: {"user": ..., "text": ...}` with the event's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct ChatMessage {
    /// Who wrote it.
    pub user: String,
    /// What they wrote.
    pub text: String,
}

/// The body of `POST /rooms/{room}/messages`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct NewMessage {
    /// Who writes it: 1 to 32 characters (trimmed).
    pub user: String,
    /// What they write: 1 to 2000 characters (trimmed).
    pub text: String,
}

/// The answer to `POST /rooms/{room}/messages`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct Posted {
    /// The message's event id: what `Last-Event-ID` names to resume after it.
    pub id: String,
}

/// The hub every route shares.
pub type Hub = Broadcast<ChatMessage>;

/// 200 messages of history per room, kept an hour after the room goes quiet.
pub fn hub_config() -> BroadcastConfig {
    BroadcastConfig::new()
        .replay(200)
        .idle_timeout(Duration::from_secs(3600))
}

/// A hub on the Redis Cluster that `nodes` (`host:port` or `redis://host:port`) belong to.
pub async fn make_cluster_hub(nodes: &[&str]) -> Result<Hub, ConnectError> {
    Broadcast::redis_cluster(nodes, hub_config()).await
}

/// The Redis hub at `redis_url`, or an in-process one.
pub async fn make_hub(redis_url: Option<&str>) -> Result<Hub, ConnectError> {
    match redis_url {
        Some(url) => Broadcast::redis(url, hub_config()).await,
        None => Ok(Broadcast::with_config(hub_config())),
    }
}

/// A room name is 1 to 64 ASCII letters, digits, `-` or `_`: clients pick rooms, and
/// every name is a topic of the hub.
pub fn check_room(room: &str) -> Result<(), HttpError> {
    let valid = (1..=64).contains(&room.len())
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(HttpError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a room name is 1 to 64 letters, digits, `-` or `_`",
        ))
    }
}

/// `value`, trimmed, is 1 to `max` characters; otherwise `422` naming `field`.
fn check_len(field: &str, value: &str, max: usize) -> Result<(), HttpError> {
    let chars = value.trim().chars().count();
    if (1..=max).contains(&chars) {
        Ok(())
    } else {
        Err(HttpError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("`{field}` must be 1 to {max} characters"),
        ))
    }
}

sse_runtime::routes! {
    /// `POST /rooms/{room}/messages` with `{"user": ..., "text": ...}`: publishes the
    /// message to the room.
    ///
    /// Answers `201 Created` with `{"id": "<event id>"}`; `422` for a bad room name or an
    /// empty or too long field; `503` when the hub's Redis cannot be reached (or, on a
    /// Redis Cluster, no replica confirmed the message in time: it may be lost).
    #[post("/rooms/{room}/messages")]
    pub async fn post_message(
        State(hub): State<Hub>,
        Path(room): Path<String>,
        Json(message): Json<NewMessage>,
    ) -> Result<Created<Json<Posted>>, HttpError> {
        check_room(&room)?;
        check_len("user", &message.user, 32)?;
        check_len("text", &message.text, 2000)?;
        let message = ChatMessage {
            user: message.user.trim().to_owned(),
            text: message.text.trim().to_owned(),
        };
        match hub.publish(&room, message).await {
            Ok(id) => Ok(Created(Json(Posted { id: id.to_string() }))),
            Err(err) => {
                tracing::error!(room = %room, error = %err, "message not published");
                Err(HttpError::new(StatusCode::SERVICE_UNAVAILABLE, err.to_string()))
            }
        }
    }

    /// `GET /rooms/{room}/events`: the room's history, then live messages, each with its
    /// event id; with `Last-Event-ID`, only what came after it (or `event: reset` and the
    /// history, if that id is no longer buffered).
    ///
    /// The stream starts with `retry: 1000`. A bad room name is refused with `422` before
    /// the stream starts.
    #[get("/rooms/{room}/events", sse, retry = "1s")]
    pub async fn room_events(
        State(hub): State<Hub>,
        Path(room): Path<String>,
        last: LastEventId,
    ) -> impl Stream<Item = Result<Message<ChatMessage>, HttpError>> {
        check_room(&room)?;
        let mut subscription = hub.subscribe(&room, Resume::from(last).or_oldest());
        while let Some(message) = subscription.next().await {
            yield message;
        }
    }

    /// `GET /`: the chat page.
    #[get("/")]
    pub async fn page() -> Html<&'static str> {
        Html(PAGE)
    }

    /// `GET /health`: `{"status": "ok"}`.
    #[get("/health")]
    pub async fn health() -> Json<Value> {
        Json(json!({ "status": "ok" }))
    }
}

/// The app: the chat page, the two room routes on `hub`, and a health check.
///
/// At shutdown (SIGTERM, Ctrl-C) every open stream ends with `retry: 100`, so that the
/// browsers come back within 100 ms, through the load balancer to another instance, and
/// resume with `Last-Event-ID` (docs/deploy.md, "Rolling restarts"); the new stream's
/// `retry: 1000` restores the usual delay.
pub fn app(hub: Hub) -> App {
    App::new()
        .shutdown_retry(Duration::from_millis(100))
        .route(page)
        .route(health)
        .route(post_message)
        .route(room_events)
        .state(hub)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let redis_url = std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty());
    // `REDIS_CLUSTER=host:port,host:port,...`: some nodes of a Redis Cluster.
    let cluster = std::env::var("REDIS_CLUSTER")
        .ok()
        .filter(|nodes| !nodes.is_empty());
    let (hub, backend) = match &cluster {
        Some(nodes) => {
            let nodes: Vec<&str> = nodes.split(',').map(str::trim).collect();
            (make_cluster_hub(&nodes).await?, "redis cluster")
        }
        None => {
            let hub = make_hub(redis_url.as_deref()).await?;
            (
                hub,
                if redis_url.is_some() {
                    "redis"
                } else {
                    "memory"
                },
            )
        }
    };
    tracing::info!(backend, "chat hub ready");
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let mut app = app(hub);
    if let Some(secs) = std::env::var("KEEP_ALIVE_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
    {
        app = app.keep_alive(KeepAlive::new().interval(Duration::from_secs(secs)));
    }
    app.serve_with_listener(listener).await?; // until Ctrl-C or SIGTERM
    Ok(())
}

/// The chat page: pick a room and a name, talk. `?room=..&user=..` preset them.
/// `data-state` on `<body>` is `connecting`, `open` or `error`, for scripts and tests.
const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chat room</title>
<style>
  :root { font-family: system-ui, sans-serif; color-scheme: light dark; }
  body { max-width: 42rem; margin: 2rem auto; padding: 0 1rem; }
  header { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
  #status { font-size: .85rem; padding: .1rem .5rem; border-radius: 1rem; background: #8884; }
  body[data-state=open] #status { background: #2a24; }
  body[data-state=error] #status { background: #c334; }
  #messages { list-style: none; padding: .5rem; height: 22rem; overflow-y: auto;
              border: 1px solid #8886; border-radius: .5rem; }
  #messages li { padding: .2rem 0; }
  #messages li.notice { font-style: italic; opacity: .7; }
  #messages b { margin-right: .4rem; }
  form { display: flex; gap: .5rem; }
  form input[name=text] { flex: 1; }
  input, button { font: inherit; padding: .3rem .5rem; }
</style>
</head>
<body data-state="connecting">
<header>
  <label>Room <input id="room" size="12"></label>
  <label>Name <input id="user" size="10"></label>
  <button id="join">Join</button>
  <span id="status">connecting</span>
</header>
<ul id="messages"></ul>
<form id="send">
  <input name="text" autocomplete="off" placeholder="Say something" maxlength="2000">
  <button>Send</button>
</form>
<script>
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
$("room").value = params.get("room") || "lobby";
$("user").value = params.get("user") || "guest" + Math.floor(Math.random() * 1000);
let source = null;

function status(state, text) {
  document.body.dataset.state = state;
  $("status").textContent = text;
}

function line(cls, user, text) {
  const li = document.createElement("li");
  if (cls) li.className = cls;
  if (user) { const b = document.createElement("b"); b.textContent = user; li.append(b); }
  li.append(document.createTextNode(text));
  const list = $("messages");
  list.append(li);
  list.scrollTop = list.scrollHeight;
  return li;
}

function join() {
  if (source) source.close();
  $("messages").replaceChildren();
  status("connecting", "connecting");
  const room = encodeURIComponent($("room").value.trim());
  source = new EventSource("/rooms/" + room + "/events");
  source.onopen = () => status("open", "live");
  source.onerror = () => status("error", "reconnecting");
  source.onmessage = (e) => {
    const message = JSON.parse(e.data);
    line("message", message.user, message.text).dataset.id = e.lastEventId;
  };
  // We missed messages: what follows is the room's history again.
  source.addEventListener("reset", () => {
    $("messages").replaceChildren();
    line("notice", "", "(some messages were missed; history reloaded)");
  });
}

async function send(text) {
  const room = encodeURIComponent($("room").value.trim());
  const response = await fetch("/rooms/" + room + "/messages", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user: $("user").value, text }),
  });
  if (!response.ok) line("notice", "", "(not sent: " + (await response.text()) + ")");
  return response.ok;
}

$("join").onclick = join;
$("send").onsubmit = (e) => {
  e.preventDefault();
  const input = e.target.elements.text;
  if (input.value.trim()) send(input.value);
  input.value = "";
};
join();
</script>
</body>
</html>
"##;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;
    use serde_json::{json, Value};
    use sse_runtime::parse::ParsedEvent;
    use sse_runtime::testing::{Events, Protocol, TestClient};
    use sse_runtime::{App, StatusCode};

    use super::{app, hub_config, ChatMessage, Hub};

    /// The app on an in-process hub.
    fn app_in_memory() -> App {
        app(Hub::with_config(hub_config()))
    }

    async fn next_event(events: &mut Events) -> ParsedEvent {
        match tokio::time::timeout(Duration::from_secs(10), events.next()).await {
            Ok(Some(event)) => event,
            Ok(None) => panic!("the stream ended"),
            Err(_) => panic!("no event within 10 s"),
        }
    }

    /// Posts `{"user", "text"}` to `room`; returns the response's status and body.
    async fn post(client: &TestClient, room: &str, user: &str, text: &str) -> (StatusCode, Value) {
        let response = client
            .post(&format!("/rooms/{room}/messages"))
            .json(&json!({ "user": user, "text": text }))
            .send()
            .await;
        (response.status(), response.json().await)
    }

    async fn subscribe(client: &TestClient, room: &str, last: Option<&str>) -> Events {
        let mut request = client.get(&format!("/rooms/{room}/events"));
        if let Some(last) = last {
            request = request.header("last-event-id", last);
        }
        let response = request.send().await;
        response.assert_event_stream();
        response.events()
    }

    fn message(event: &ParsedEvent) -> ChatMessage {
        assert_eq!(event.event, "message", "{event:?}");
        event.json().expect("a chat message")
    }

    #[tokio::test]
    async fn a_message_reaches_every_client_of_its_room_with_its_id() {
        for protocol in [None, Some(Protocol::Http1), Some(Protocol::Http2)] {
            let client = match protocol {
                None => TestClient::new(app_in_memory()),
                Some(protocol) => TestClient::spawn(app_in_memory(), protocol).await,
            };
            let mut ann = subscribe(&client, "lobby", None).await;
            let mut bob = subscribe(&client, "lobby", None).await;
            let mut elsewhere = subscribe(&client, "kitchen", None).await;
            let (status, body) = post(&client, "lobby", "  ann ", " hi all\n").await;
            assert_eq!(status, StatusCode::CREATED, "{protocol:?}");
            let id = body["id"].as_str().expect("the event id").to_owned();
            for events in [&mut ann, &mut bob] {
                let event = next_event(events).await;
                assert_eq!(event.data, r#"{"user":"ann","text":"hi all"}"#, "trimmed");
                assert_eq!(event.id.as_deref(), Some(id.as_str()));
            }
            // Another room's clients do not get it.
            post(&client, "kitchen", "cook", "soup").await;
            assert_eq!(message(&next_event(&mut elsewhere).await).text, "soup");
        }
    }

    #[tokio::test]
    async fn history_first_then_resume_after_last_event_id_or_reset() {
        let client = TestClient::new(app_in_memory());
        let mut ids = Vec::new();
        for text in ["one", "two", "three"] {
            let (status, body) = post(&client, "r", "ann", text).await;
            assert_eq!(status, StatusCode::CREATED);
            ids.push(body["id"].as_str().expect("id").to_owned());
        }
        // A new client: the history, then live.
        let mut events = subscribe(&client, "r", None).await;
        for (text, id) in ["one", "two", "three"].iter().zip(&ids) {
            let event = next_event(&mut events).await;
            assert_eq!(message(&event).text, *text);
            assert_eq!(event.id.as_ref(), Some(id));
        }
        post(&client, "r", "bob", "four").await;
        assert_eq!(message(&next_event(&mut events).await).text, "four");
        // A returning client: only what came after its id.
        let mut events = subscribe(&client, "r", Some(&ids[1])).await;
        assert_eq!(message(&next_event(&mut events).await).text, "three");
        assert_eq!(message(&next_event(&mut events).await).text, "four");
        // An id the room does not have: a reset (no id), then the history.
        let mut events = subscribe(&client, "r", Some("1-0")).await;
        let reset = next_event(&mut events).await;
        assert_eq!(reset.event, "reset");
        assert_eq!(reset.id, None);
        assert_eq!(reset.data, r#"{"last_event_id":"1-0"}"#);
        assert_eq!(message(&next_event(&mut events).await).text, "one");
    }

    #[tokio::test]
    async fn bad_rooms_and_messages_are_422() {
        let client = TestClient::new(app_in_memory());
        let long_room = "r".repeat(65);
        for room in ["a%20b", "caf%C3%A9", long_room.as_str()] {
            let (status, body) = post(&client, room, "ann", "hi").await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "POST {room}");
            assert!(body["detail"].as_str().is_some_and(|d| d.contains("room")));
            let response = client.get(&format!("/rooms/{room}/events")).send().await;
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "GET {room}"
            );
        }
        let long_text = "x".repeat(2001);
        for (user, text) in [
            ("", "hi"),
            ("ann", "   "),
            (&*"u".repeat(33), "hi"),
            ("ann", &*long_text),
        ] {
            let (status, _) = post(&client, "lobby", user, text).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{user:?} {text:?}"
            );
        }
        let missing = client
            .post("/rooms/lobby/messages")
            .json(&json!({ "text": "who am I" }))
            .send()
            .await;
        assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // Nothing was published.
        let (status, _) = post(&client, "lobby", "ann", "first").await;
        assert_eq!(status, StatusCode::CREATED);
        let mut events = subscribe(&client, "lobby", None).await;
        assert_eq!(message(&next_event(&mut events).await).text, "first");
    }
}
