//! An independent conformance server (issue 23): the cases of `cases.json` served by
//! axum's own `Sse` and `Event` (nothing of sse-runtime), so that our client (and Chromium,
//! for reference) can be checked against an encoder nobody here wrote.
//!
//! ```text
//! ADDR=127.0.0.1:0 cargo run -p sse-tests --bin conformance-axum-server
//! ```
//!
//! The first line on stdout is `listening on http://HOST:PORT`. The routes are those of
//! `server.rs` that a server of another framework can serve: `/case/{name}` (every `stream`
//! and `retry` case but the two that check our encoder's refusals), `/resume`,
//! `/fail/{mode}/{key}`, `/cancel/{key}`, `/hits/{key}`, `/page`, `/run-case.js`, and
//! `/cases`: the names of the cases it serves. HTTP/1.1 and h2c (`axum::serve`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::Stream;
use serde::Deserialize;

const CASES_JSON: &str = include_str!("cases.json");
const RUN_CASE_JS: &str = include_str!("node/run-case.js");
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>axum conformance</title>
<script type="module">
import { runCase } from "/run-case.js";
window.runCase = runCase;
</script>
</html>
"#;

/// Cases this server does not serve: they check sse-runtime itself (its refusal of an
/// `id` with a line break or NUL, its chunking, its compression).
const NOT_SERVED: &[&str] = &["injection-refused", "nul-id-refused"];

#[derive(Deserialize)]
struct CaseFile {
    cases: Vec<Case>,
}

#[derive(Clone, Deserialize)]
struct Case {
    name: String,
    kind: String,
    #[serde(default)]
    send: Vec<SendItem>,
    sse_retry_ms: Option<u64>,
    keep_alive_ms: Option<u64>,
}

#[derive(Clone, Deserialize)]
struct SendItem {
    comment: Option<String>,
    event: Option<String>,
    data: Option<serde_json::Value>,
    raw_data: Option<Text>,
    id: Option<String>,
    retry_ms: Option<u64>,
    sleep_ms: Option<u64>,
}

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
    /// The event, built with axum's own calls.
    fn build(&self) -> Event {
        let mut event = Event::default();
        if let Some(comment) = &self.comment {
            event = event.comment(comment);
        }
        if let Some(name) = &self.event {
            event = event.event(name);
        }
        if let Some(value) = &self.data {
            event = event.data(value.to_string());
        }
        if let Some(text) = &self.raw_data {
            event = event.data(text.expand());
        }
        if let Some(id) = &self.id {
            event = event.id(id);
        }
        if let Some(millis) = self.retry_ms {
            event = event.retry(Duration::from_millis(millis));
        }
        event
    }
}

#[derive(Clone, Default)]
struct AppState {
    cases: Arc<HashMap<String, Case>>,
    hits: Arc<Mutex<HashMap<String, u64>>>,
}

impl AppState {
    fn bump(&self, key: &str) -> u64 {
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        let count = hits.entry(key.to_owned()).or_default();
        *count += 1;
        *count
    }
}

type EventStream = std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>>;

async fn case(Path(name): Path<String>, State(state): State<AppState>) -> Response {
    let Some(case) = state.cases.get(&name).cloned() else {
        return (StatusCode::NOT_FOUND, format!("no case `{name}`")).into_response();
    };
    let retry = case.sse_retry_ms;
    let items = case.send;
    let events: EventStream = Box::pin(async_stream::stream! {
        if let Some(millis) = retry {
            yield Ok(Event::default().retry(Duration::from_millis(millis)));
        }
        for item in items {
            if let Some(millis) = item.sleep_ms {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                continue;
            }
            yield Ok(item.build());
        }
    });
    match case.keep_alive_ms {
        Some(millis) => Sse::new(events)
            .keep_alive(
                KeepAlive::new()
                    .interval(Duration::from_millis(millis))
                    .text("ping"),
            )
            .into_response(),
        None => Sse::new(events).into_response(),
    }
}

async fn resume(headers: HeaderMap) -> Response {
    let received = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let start = received
        .as_deref()
        .and_then(|id| id.parse::<u64>().ok())
        .map_or(0, |id| id + 1);
    if start >= 10 {
        return StatusCode::NO_CONTENT.into_response();
    }
    let events: EventStream = Box::pin(async_stream::stream! {
        for n in start..(start + 3).min(10) {
            let data = serde_json::json!({ "n": n, "last_event_id": received });
            let mut event = Event::default().data(data.to_string()).id(n.to_string());
            if n == start {
                event = event.retry(Duration::from_millis(100));
            }
            yield Ok(event);
        }
    });
    Sse::new(events).into_response()
}

async fn fail(
    Path((mode, key)): Path<(String, String)>,
    State(state): State<AppState>,
) -> Response {
    if state.bump(&key) == 1 {
        let events: EventStream = Box::pin(futures_util::stream::iter([Ok(Event::default()
            .data("first")
            .retry(Duration::from_millis(100)))]));
        return Sse::new(events).into_response();
    }
    match mode.as_str() {
        "204" => StatusCode::NO_CONTENT.into_response(),
        "500" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"detail":"conformance: failing on purpose"}"#,
        )
            .into_response(),
        "wrong-type" => "data: not an event stream\n\n".into_response(),
        "stream-error" => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"detail":"conformance: unavailable"}"#,
        )
            .into_response(),
        other => (StatusCode::NOT_FOUND, format!("no failure mode `{other}`")).into_response(),
    }
}

/// Counts `{key}-dropped` when the stream is dropped.
struct DropCounter {
    state: AppState,
    key: String,
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.state.bump(&format!("{}-dropped", self.key));
    }
}

async fn cancel(Path(key): Path<String>, State(state): State<AppState>) -> Response {
    state.bump(&key);
    let events: EventStream = Box::pin(async_stream::stream! {
        let _counter = DropCounter { state, key };
        for n in 0u64.. {
            yield Ok(Event::default().data(n.to_string()).id(n.to_string()));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    Sse::new(events).into_response()
}

async fn hits(Path(key): Path<String>, State(state): State<AppState>) -> String {
    let hits = state.hits.lock().unwrap_or_else(|p| p.into_inner());
    hits.get(&key).copied().unwrap_or(0).to_string()
}

async fn served(State(state): State<AppState>) -> Response {
    let mut names: Vec<String> = state.cases.keys().cloned().collect();
    names.extend(
        [
            "resume",
            "fail-204",
            "fail-500",
            "fail-wrong-type",
            "fail-stream-error",
            "cancel",
        ]
        .map(str::to_owned),
    );
    names.sort();
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::Value::from(names).to_string(),
    )
        .into_response()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file: CaseFile = serde_json::from_str(CASES_JSON)?;
    let cases = file
        .cases
        .into_iter()
        .filter(|case| matches!(case.kind.as_str(), "stream" | "retry"))
        .filter(|case| !NOT_SERVED.contains(&case.name.as_str()))
        .map(|case| (case.name.clone(), case))
        .collect();
    let state = AppState {
        cases: Arc::new(cases),
        hits: Arc::default(),
    };
    let app = Router::new()
        .route("/case/{name}", get(case))
        .route("/resume", get(resume))
        .route("/fail/{mode}/{key}", get(fail))
        .route("/cancel/{key}", get(cancel))
        .route("/hits/{key}", get(hits))
        .route("/cases", get(served))
        .route("/page", get(|| async { Html(PAGE) }))
        .route(
            "/run-case.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    RUN_CASE_JS,
                )
            }),
        )
        .with_state(state);
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
