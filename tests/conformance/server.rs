//! The conformance server (issue 5): one route per case of `cases.json`, served by
//! `sse-runtime` exactly as an app would, for independent clients (a browser's native
//! `EventSource`, the npm `eventsource` package, Python `httpx-sse`, the Rust
//! `eventsource-stream` crate and `curl`) to check.
//!
//! ```text
//! ADDR=127.0.0.1:0 cargo run -p sse-tests --bin conformance-server
//! ```
//!
//! The first line on stdout is `listening on http://HOST:PORT`. Routes:
//! - `GET /case/{name}`: the events of case `name` (`send`), with its `sse_retry_ms`
//!   (`Sse::retry`) and `keep_alive_ms`;
//! - `GET /split`: one event written in pieces, 50 ms apart;
//! - `GET /resume`: numbered events, three per connection, resumed after `Last-Event-ID`,
//!   then 204;
//! - `GET /fail/{mode}/{key}`: a stream on the first request, then a failure (`mode`:
//!   `204`, `500`, `wrong-type`, `stream-error`);
//! - `GET /cancel/{key}`: an endless stream that counts its own cleanup as `{key}-dropped`;
//! - `GET /zcase/{name}/{key}`: case `name` compressed with its `coding` only (if the
//!   client accepts it), counting the coding negotiated as `{key}-coding-{coding}`
//!   (`identity` when uncompressed);
//! - `GET /hits/{key}`: how many requests (or cleanups) `key` saw;
//! - `GET /page` and `GET /run-case.js`: the browser page and the case runner it imports.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use serde::Deserialize;
use sse_runtime::{
    encode, shutdown_signal, App, Body, Coding, Compression, HeaderMap, Html, HttpError,
    IntoResponse, KeepAlive, LastEventId, Path, Response, ServerSentEvent, Sse, State, StatusCode,
};

/// The cases every client checks; the server reads only what it needs to send.
const CASES_JSON: &str = include_str!("cases.json");
/// The case runner shared by the browser page and the Node `eventsource` driver.
const RUN_CASE_JS: &str = include_str!("node/run-case.js");
/// The page the browser opens: it imports the runner and waits to be driven.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>sse-runtime conformance</title>
<p>Driven by the conformance runner: <code>window.runCase(spec, origin, client)</code>.</p>
<script type="module">
import { runCase } from "/run-case.js";
window.runCase = runCase;
</script>
</html>
"#;

#[derive(Deserialize)]
struct CaseFile {
    cases: Vec<Case>,
}

/// The server's view of one case.
#[derive(Clone, Deserialize)]
struct Case {
    name: String,
    #[serde(default)]
    send: Vec<SendItem>,
    sse_retry_ms: Option<u64>,
    keep_alive_ms: Option<u64>,
    /// The one content coding a `compressed` case may use.
    coding: Option<String>,
}

/// One item of a case's `send` list: the builder calls of one event, or a pause.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendItem {
    comment: Option<String>,
    event: Option<String>,
    data: Option<serde_json::Value>,
    raw_data: Option<Text>,
    id: Option<String>,
    retry_ms: Option<u64>,
    sleep_ms: Option<u64>,
}

/// A text, given as is or as a string repeated (for the 1 MiB payload).
#[derive(Clone, Deserialize)]
#[serde(untagged)]
enum Text {
    Plain(String),
    Repeat { repeat: String, times: usize },
}

impl Text {
    fn expand(&self) -> String {
        match self {
            Text::Plain(text) => text.clone(),
            Text::Repeat { repeat, times } => repeat.repeat(*times),
        }
    }
}

impl SendItem {
    /// The event, built with the same calls an app would make, in the encoder's order.
    fn build(&self) -> ServerSentEvent {
        let mut event = ServerSentEvent::new();
        if let Some(comment) = &self.comment {
            event = event.comment(comment.clone());
        }
        if let Some(name) = &self.event {
            event = event.event(name.clone());
        }
        if let Some(data) = &self.data {
            event = event.data(data);
        }
        if let Some(text) = &self.raw_data {
            event = event.raw_data(text.expand());
        }
        if let Some(id) = &self.id {
            event = event.id(id.clone());
        }
        if let Some(millis) = self.retry_ms {
            event = event.retry(std::time::Duration::from_millis(millis));
        }
        event
    }
}

/// Request counters by key, so a client can check that it did not reconnect.
#[derive(Clone, Default)]
struct Hits(Arc<Mutex<HashMap<String, u64>>>);

impl Hits {
    fn bump(&self, key: &str) -> u64 {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = map.entry(key.to_owned()).or_default();
        *count += 1;
        *count
    }

    fn get(&self, key: &str) -> u64 {
        let map = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.get(key).copied().unwrap_or(0)
    }
}

type Cases = Arc<HashMap<String, Case>>;

async fn case(Path(name): Path<String>, State(cases): State<Cases>) -> Result<Sse, HttpError> {
    let case = cases
        .get(&name)
        .cloned()
        .ok_or_else(|| HttpError::not_found(format!("no case `{name}`")))?;
    Ok(case_stream(case))
}

/// A `compressed` case: its events, compressed with its one coding when the client
/// accepts it; the coding negotiated (as `App::compression` negotiates it) is counted.
async fn zcase(
    Path((name, key)): Path<(String, String)>,
    State(cases): State<Cases>,
    State(hits): State<Hits>,
    headers: HeaderMap,
) -> Result<Sse, HttpError> {
    let case = cases
        .get(&name)
        .cloned()
        .ok_or_else(|| HttpError::not_found(format!("no case `{name}`")))?;
    let coding = match case.coding.as_deref() {
        Some("gzip") => Coding::Gzip,
        Some("br") => Coding::Brotli,
        Some("zstd") => Coding::Zstd,
        other => return Err(HttpError::not_found(format!("no coding {other:?}"))),
    };
    let compression = Compression::new().codings([coding]);
    let accept = headers
        .get("accept-encoding")
        .and_then(|value| value.to_str().ok());
    let negotiated = compression
        .negotiate(accept)
        .map_or("identity", Coding::as_str);
    hits.bump(&format!("{key}-coding-{negotiated}"));
    tracing::info!(accept, negotiated, "compressed case `{name}`");
    Ok(case_stream(case).compression(compression))
}

/// The events of a case, with its retry hint and keep-alive.
fn case_stream(case: Case) -> Sse {
    let items = case.send;
    let mut sse = Sse::new(async_stream::stream! {
        for item in items {
            if let Some(millis) = item.sleep_ms {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                continue;
            }
            yield item.build();
        }
    });
    if let Some(millis) = case.sse_retry_ms {
        sse = sse.retry(Duration::from_millis(millis));
    }
    sse.keep_alive(match case.keep_alive_ms {
        Some(millis) => KeepAlive::new().interval(Duration::from_millis(millis)),
        None => KeepAlive::disabled(),
    })
}

/// A response with the headers `Sse` sends, for a body written by hand.
fn event_stream_response(body: Body) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(Sse::CONTENT_TYPE));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Two events encoded by our encoder, written in four pieces 50 ms apart: cut inside the
/// first `data` field name, inside the 4-byte UTF-8 sequence of an emoji, and between the
/// two LFs that end the first event.
async fn split() -> Result<Response, HttpError> {
    let mut buf = BytesMut::new();
    let first = ServerSentEvent::new()
        .event("split")
        .raw_data("first line\n系统 🎉")
        .id("s1");
    let second = ServerSentEvent::new().raw_data("second");
    for event in [first, second] {
        encode::write_event(&event, &mut buf)
            .map_err(|err| HttpError::internal(err.to_string()))?;
    }
    let bytes = buf.freeze();
    let find = |needle: &[u8]| {
        bytes
            .windows(needle.len())
            .position(|window| window == needle)
            .ok_or_else(|| HttpError::internal("split: cut point not found"))
    };
    let cuts = [
        0,
        find(b"data")? + 2,
        find("🎉".as_bytes())? + 2,
        find(b"\n\n")? + 1,
        bytes.len(),
    ];
    let pieces: Vec<Bytes> = cuts.windows(2).map(|w| bytes.slice(w[0]..w[1])).collect();
    let frames = async_stream::stream! {
        for (i, piece) in pieces.into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            yield Ok::<_, Infallible>(http_body::Frame::data(piece));
        }
    };
    Ok(event_stream_response(Body::new(
        http_body_util::StreamBody::new(frames),
    )))
}

/// Events 0..10, three per connection, each resumed after the `Last-Event-ID` the client
/// sends; the data echoes the header the server received. After id 9: 204.
async fn resume(last: LastEventId<u64>, headers: HeaderMap) -> Response {
    let start = last.0.map_or(0, |id| id + 1);
    if start >= 10 {
        return StatusCode::NO_CONTENT.into_response();
    }
    let received = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    Sse::new(async_stream::stream! {
        for n in start..(start + 3).min(10) {
            let mut event = ServerSentEvent::new()
                .data(serde_json::json!({ "n": n, "last_event_id": received }))
                .id(n.to_string());
            if n == start {
                event = event.retry(std::time::Duration::from_millis(100));
            }
            yield event;
        }
    })
    .keep_alive(KeepAlive::disabled())
    .into_response()
}

/// First request: one event with `retry: 100`, then the stream ends. Every later
/// request: the failure `mode` names.
async fn fail(Path((mode, key)): Path<(String, String)>, State(hits): State<Hits>) -> Response {
    if hits.bump(&key) == 1 {
        return Sse::new(futures_util::stream::iter([ServerSentEvent::new()
            .raw_data("first")
            .retry(std::time::Duration::from_millis(100))]))
        .keep_alive(KeepAlive::disabled())
        .into_response();
    }
    match mode.as_str() {
        "204" => StatusCode::NO_CONTENT.into_response(),
        "500" => HttpError::internal("conformance: failing on purpose").into_response(),
        "wrong-type" => "data: not an event stream\n\n".into_response(),
        "stream-error" => Sse::try_new(futures_util::stream::iter([Err::<
            ServerSentEvent,
            HttpError,
        >(HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "conformance: unavailable",
        ))]))
        .into_response(),
        other => HttpError::not_found(format!("no failure mode `{other}`")).into_response(),
    }
}

/// Counts `{key}-dropped` when dropped with the handler's stream.
struct DropCounter {
    hits: Hits,
    key: String,
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.hits.bump(&format!("{}-dropped", self.key));
    }
}

/// An endless stream, one event every 50 ms, whose cleanup is counted.
async fn cancel(Path(key): Path<String>, State(hits): State<Hits>) -> Sse {
    hits.bump(&key);
    Sse::new(async_stream::stream! {
        let _counter = DropCounter { hits, key };
        for n in 0u64.. {
            yield ServerSentEvent::new().raw_data(n.to_string()).id(n.to_string());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .keep_alive(KeepAlive::disabled())
}

async fn hits(Path(key): Path<String>, State(hits): State<Hits>) -> String {
    hits.get(&key).to_string()
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn run_case_js() -> Response {
    let mut response = Response::new(Body::from(RUN_CASE_JS));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    response
}

/// The app under test.
fn app() -> Result<App, serde_json::Error> {
    let file: CaseFile = serde_json::from_str(CASES_JSON)?;
    let cases: Cases = Arc::new(
        file.cases
            .into_iter()
            .map(|case| (case.name.clone(), case))
            .collect(),
    );
    Ok(App::new()
        .get("/case/{name}", case)
        .get("/zcase/{name}/{key}", zcase)
        .get("/split", split)
        .get("/resume", resume)
        .get("/fail/{mode}/{key}", fail)
        .get("/cancel/{key}", cancel)
        .get("/hits/{key}", hits)
        .get("/page", page)
        .get("/run-case.js", run_case_js)
        .state(cases)
        .state(Hits::default())
        .keep_alive(KeepAlive::disabled()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sse_tests::init_tracing();
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let app = app()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    app.serve_with_shutdown(listener, shutdown_signal()).await?;
    Ok(())
}
