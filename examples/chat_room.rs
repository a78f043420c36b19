//! Chat rooms on a broadcast hub: `POST /rooms/{room}/messages` publishes a message,
//! `GET /rooms/{room}/events` streams the room (recent history first, then live), and a
//! client that reconnects with `Last-Event-ID` resumes exactly where it left off. `GET /`
//! is a chat page.
//!
//! With `REDIS_URL` set, the hub lives in Redis, so several instances behind a load
//! balancer share the rooms: a message posted to one reaches the browsers of all.
//!
//! The two room routes live in `tests/src/scenarios/chat_room.rs` (shared with the tests
//! and the showcase, which has a chat room panel).
//!
//! ```text
//! cargo run --example chat_room                  # one instance, hub in process
//! open http://127.0.0.1:8000/
//!
//! redis-server --port 6379 --save '' --appendonly no &
//! REDIS_URL=redis://127.0.0.1:6379/ ADDR=127.0.0.1:8001 cargo run --example chat_room &
//! REDIS_URL=redis://127.0.0.1:6379/ ADDR=127.0.0.1:8002 cargo run --example chat_room &
//! curl -N http://127.0.0.1:8001/rooms/lobby/events &
//! curl -X POST -H 'content-type: application/json' \
//!      -d '{"user": "bob", "text": "hi"}' http://127.0.0.1:8002/rooms/lobby/messages
//! ```

use sse_runtime::broadcast::{Broadcast, PublishError};
use sse_runtime::{shutdown_signal, App, Html, Json};
use sse_tests::scenarios::chat_room;

pub use sse_tests::scenarios::chat_room::{hub_config, ChatMessage, Hub};

/// The Redis hub at `redis_url`, or an in-process one.
pub async fn make_hub(redis_url: Option<&str>) -> Result<Hub, PublishError> {
    match redis_url {
        Some(url) => Broadcast::redis(url, hub_config()).await,
        None => Ok(Broadcast::with_config(hub_config())),
    }
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// The app: the chat page, the two room routes (`tests/src/scenarios/chat_room.rs`) and a
/// health check.
pub fn app(hub: Hub) -> App {
    chat_room::routes_with(App::new().get("/", page).get("/health", health), hub)
}

#[allow(dead_code)] // `main` is unused where the tests include this file as a module.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sse_tests::init_tracing();
    let redis_url = std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty());
    let hub = make_hub(redis_url.as_deref()).await?;
    tracing::info!(
        backend = if redis_url.is_some() {
            "redis"
        } else {
            "memory"
        },
        "chat hub ready"
    );
    let listener = tokio::net::TcpListener::bind(sse_tests::addr_from_env()).await?;
    println!("listening on http://{}", listener.local_addr()?);
    app(hub)
        .serve_with_shutdown(listener, shutdown_signal())
        .await?;
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
