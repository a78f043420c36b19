//! The Rust conformance client (issue 5): the `eventsource-stream` crate — an SSE parser
//! nobody here wrote — over hyper, on HTTP/1.1 and on HTTP/2 with prior knowledge (h2c),
//! checking every case of `cases.json`.
//!
//! Run by `cargo test` (it then starts the `conformance-server` binary itself) and by
//! `tests/conformance/run.sh`, which points it at a running server and collects its results:
//! - `CONFORMANCE_BASE=http://127.0.0.1:PORT`: the server to test (default: start one);
//! - `CONFORMANCE_OUT=DIR`: write `results-rust.json` and `results-rust-h2.json` there.
//!
//! `eventsource-stream` parses; it does not reconnect. Where a case needs a reconnection,
//! this client does what an `EventSource` would (wait the `retry` the parser reported,
//! send the last event id it reported as `Last-Event-ID`, stop on 204).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use http_body_util::{BodyDataStream, BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::Deserialize;

/// The client crate, as pinned in `tests/Cargo.toml`.
const CLIENT_VERSION: &str = "eventsource-stream 0.2.3 (hyper 1)";
const EVENT_STREAM: &str = "text/event-stream; charset=utf-8";
const CASES_JSON: &str = include_str!("cases.json");

#[derive(Deserialize)]
struct CaseFile {
    cases: Vec<Case>,
}

/// The client's view of one case.
#[derive(Deserialize)]
struct Case {
    name: String,
    kind: String,
    #[serde(default)]
    expect: Vec<Expected>,
    path: Option<String>,
    mode: Option<String>,
    failure: Option<Failure>,
    expect_opens: Option<usize>,
    retry_ms: Option<u64>,
    sse_retry_ms: Option<u64>,
    /// A `compressed` case: the coding the server may use, and per-client exceptions.
    coding: Option<String>,
    #[serde(default)]
    clients: std::collections::HashMap<String, ClientException>,
}

/// How one client's outcome of a case differs, and why.
#[derive(Deserialize)]
struct ClientException {
    coding: Option<String>,
    why: String,
}

/// A dispatched event as every client reports it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
struct Expected {
    #[serde(rename = "type")]
    kind: String,
    data: Text,
    #[serde(rename = "lastEventId")]
    last_event_id: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
enum Text {
    Plain(String),
    Repeat { repeat: String, times: usize },
    Parts(Vec<Text>),
}

impl Text {
    fn expand(&self) -> String {
        match self {
            Text::Plain(text) => text.clone(),
            Text::Repeat { repeat, times } => repeat.repeat(*times),
            Text::Parts(parts) => parts.iter().map(Text::expand).collect(),
        }
    }
}

#[derive(Deserialize)]
struct Failure {
    status: u16,
    content_type: Option<String>,
    body: String,
}

/// A dispatched event: type, data, last event id.
#[derive(Debug, PartialEq)]
struct Got {
    kind: String,
    data: String,
    last_event_id: String,
}

impl From<&Expected> for Got {
    fn from(e: &Expected) -> Self {
        Got {
            kind: e.kind.clone(),
            data: e.data.expand(),
            last_event_id: e.last_event_id.clone(),
        }
    }
}

fn show(got: Option<&Got>) -> String {
    let text = format!("{got:?}");
    if text.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}... ({} chars)", &text[..cut], text.len())
    } else {
        text
    }
}

fn diff(got: &[Got], want: &[Expected]) -> Option<String> {
    let want: Vec<Got> = want.iter().map(Got::from).collect();
    (0..got.len().max(want.len())).find_map(|i| {
        (got.get(i) != want.get(i)).then(|| {
            format!(
                "event {i}: got {}, want {} (got {} events, want {})",
                show(got.get(i)),
                show(want.get(i)),
                got.len(),
                want.len()
            )
        })
    })
}

/// Where the server is and how to speak to it.
struct Target {
    addr: SocketAddr,
    http2: bool,
}

impl Target {
    fn client(&self) -> &'static str {
        if self.http2 {
            "rust-h2"
        } else {
            "rust"
        }
    }

    /// One GET on a fresh connection, as an `EventSource` makes one per (re)connection.
    async fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<http::Response<Incoming>, String> {
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|err| format!("connect: {err}"))?;
        let io = TokioIo::new(stream);
        let mut builder = http::Request::get(format!("http://{}{path}", self.addr))
            .header("accept", "text/event-stream");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut request = builder
            .body(Empty::<Bytes>::new())
            .map_err(|err| format!("request: {err}"))?;
        if self.http2 {
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .map_err(|err| format!("h2 handshake: {err}"))?;
            tokio::spawn(conn);
            sender
                .send_request(request)
                .await
                .map_err(|err| format!("h2 request: {err}"))
        } else {
            let host = http::HeaderValue::from_str(&self.addr.to_string())
                .map_err(|err| format!("host: {err}"))?;
            request.headers_mut().insert(http::header::HOST, host);
            *request.uri_mut() = path.parse().map_err(|err| format!("uri: {err}"))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|err| format!("h1 handshake: {err}"))?;
            tokio::spawn(conn);
            sender
                .send_request(request)
                .await
                .map_err(|err| format!("h1 request: {err}"))
        }
    }

    async fn text(&self, path: &str) -> Result<String, String> {
        let response = self.get(path, &[]).await?;
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|err| format!("body: {err}"))?;
        String::from_utf8(body.to_bytes().to_vec()).map_err(|err| format!("body: {err}"))
    }

    async fn hits(&self, key: &str) -> Result<u64, String> {
        let text = self.text(&format!("/hits/{key}")).await?;
        text.parse().map_err(|err| format!("hits `{text}`: {err}"))
    }
}

/// Checks the status and headers of an event stream.
fn check_stream_head(response: &http::Response<Incoming>, problems: &mut Vec<String>) {
    if response.status() != http::StatusCode::OK {
        problems.push(format!("status {}, want 200", response.status()));
    }
    for (name, want) in [
        ("content-type", EVENT_STREAM),
        ("cache-control", "no-cache"),
    ] {
        let got = response.headers().get(name).and_then(|v| v.to_str().ok());
        if got != Some(want) {
            problems.push(format!("{name}: {got:?}, want {want:?}"));
        }
    }
}

/// Events of one response, as `eventsource-stream` dispatches them, with the `retry`
/// values it reported. Stops after `limit` events.
async fn read_events(
    response: http::Response<Incoming>,
    limit: usize,
) -> Result<(Vec<Got>, Vec<u64>), String> {
    let mut events = BodyDataStream::new(response.into_body()).eventsource();
    let mut got = Vec::new();
    let mut retries = Vec::new();
    while got.len() < limit {
        let Some(event) = events.next().await else {
            break;
        };
        let event = event.map_err(|err| format!("eventsource-stream: {err}"))?;
        if let Some(retry) = event.retry {
            retries.push(u64::try_from(retry.as_millis()).unwrap_or(u64::MAX));
        }
        got.push(Got {
            kind: event.event,
            data: event.data,
            last_event_id: event.id,
        });
    }
    Ok((got, retries))
}

async fn run_case(target: &Target, case: &Case) -> Result<(bool, String), String> {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let key = format!("{}-{}-{nonce}", target.client(), case.name);
    let mut problems = Vec::new();
    let got;
    let detail;
    match case.kind.as_str() {
        "stream" | "split" | "retry" => {
            let path = if case.kind == "split" {
                "/split".to_owned()
            } else {
                format!("/case/{}", case.name)
            };
            let response = target.get(&path, &[]).await?;
            check_stream_head(&response, &mut problems);
            let (events, retries) = read_events(response, usize::MAX).await?;
            got = events;
            detail = if case.kind != "retry" {
                format!("{} events", got.len())
            } else if case.sse_retry_ms.is_some() {
                // `retry:` in a block of its own: eventsource-stream drops data-less blocks
                // whole, so the reconnection time is not reported; the bytes are checked by curl.
                format!(
                    "{} events; retry-only block not reported by the client",
                    got.len()
                )
            } else {
                if retries != case.retry_ms.into_iter().collect::<Vec<_>>() {
                    problems.push(format!(
                        "parsed retry {retries:?}, want {:?}",
                        case.retry_ms
                    ));
                }
                format!("{} events, parsed retry {retries:?}", got.len())
            };
        }
        "compressed" => {
            // This client sends no Accept-Encoding: the case says what the server must do.
            let exception = case.clients.get(target.client());
            let coding = exception
                .and_then(|e| e.coding.clone())
                .or_else(|| case.coding.clone())
                .ok_or("compressed case without coding")?;
            let response = target
                .get(&format!("/zcase/{}/{key}", case.name), &[])
                .await?;
            check_stream_head(&response, &mut problems);
            let encoding = response
                .headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("identity")
                .to_owned();
            if encoding != coding {
                problems.push(format!("content-encoding {encoding}, want {coding}"));
            }
            let (events, _) = read_events(response, usize::MAX).await?;
            got = events;
            if target.hits(&format!("{key}-coding-{coding}")).await? != 1 {
                problems.push(format!("the server did not negotiate {coding}"));
            }
            detail = match exception {
                Some(e) => format!(
                    "{} events, {coding}; client deviation: {}",
                    got.len(),
                    e.why
                ),
                None => format!("{} events, {coding}", got.len()),
            };
        }
        "resume" => {
            let path = case.path.as_deref().ok_or("resume case without path")?;
            let mut all = Vec::new();
            let mut last_id = String::new();
            let mut retry = 3000;
            let mut connections = 0;
            let mut stopped = false;
            for _ in 0..20 {
                let header = [("last-event-id", last_id.as_str())];
                let headers: &[(&str, &str)] = if last_id.is_empty() { &[] } else { &header };
                let response = target.get(path, headers).await?;
                if response.status() == http::StatusCode::NO_CONTENT {
                    stopped = true;
                    break;
                }
                connections += 1;
                check_stream_head(&response, &mut problems);
                let (events, retries) = read_events(response, usize::MAX).await?;
                if let Some(last) = events.last() {
                    last_id.clone_from(&last.last_event_id);
                }
                if let Some(&ms) = retries.last() {
                    retry = ms;
                }
                all.extend(events);
                tokio::time::sleep(Duration::from_millis(retry)).await;
            }
            if !stopped {
                problems.push("no 204 after 20 connections".to_owned());
            }
            if Some(connections) != case.expect_opens {
                problems.push(format!(
                    "{connections} connections, want {:?}",
                    case.expect_opens
                ));
            }
            detail = format!(
                "{} events over {connections} connections, then 204",
                all.len()
            );
            got = all;
        }
        "fail" => {
            let mode = case.mode.as_deref().ok_or("fail case without mode")?;
            let failure = case.failure.as_ref().ok_or("fail case without failure")?;
            let path = format!("/fail/{mode}/{key}");
            let response = target.get(&path, &[]).await?;
            check_stream_head(&response, &mut problems);
            got = read_events(response, usize::MAX).await?.0;
            let response = target.get(&path, &[]).await?;
            if response.status().as_u16() != failure.status {
                problems.push(format!(
                    "status {}, want {}",
                    response.status(),
                    failure.status
                ));
            }
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if content_type != failure.content_type {
                problems.push(format!(
                    "content-type {content_type:?}, want {:?}",
                    failure.content_type
                ));
            }
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|err| format!("body: {err}"))?
                .to_bytes();
            if body != failure.body.as_bytes() {
                problems.push(format!("body {body:?}, want {:?}", failure.body));
            }
            let requests = target.hits(&key).await?;
            if requests != 2 {
                problems.push(format!("server saw {requests} requests, want 2"));
            }
            detail = format!("stream, then HTTP {}", failure.status);
        }
        "cancel" => {
            let response = target.get(&format!("/cancel/{key}"), &[]).await?;
            check_stream_head(&response, &mut problems);
            got = read_events(response, 1).await?.0;
            // The response is dropped: the connection (h1) or the stream (h2) goes away.
            let started = Instant::now();
            let mut dropped = 0;
            while started.elapsed() < Duration::from_secs(3) {
                dropped = target.hits(&format!("{key}-dropped")).await?;
                if dropped >= 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            if dropped != 1 {
                problems.push(format!(
                    "server cleanup ran {dropped} times within 3 s of dropping the response, want 1"
                ));
            }
            detail = format!(
                "server cleanup ran {} ms after dropping the response",
                started.elapsed().as_millis()
            );
        }
        other => return Err(format!("unknown case kind {other}")),
    }
    if let Some(difference) = diff(&got, &case.expect) {
        problems.push(difference);
    }
    if problems.is_empty() {
        Ok((true, detail))
    } else {
        Ok((false, problems.join("; ")))
    }
}

/// The `conformance-server` binary, stopped when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server() -> Result<(Server, String), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_conformance-server"))
        .env("ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot start conformance-server: {err}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|err| format!("reading the server's first line: {err}"))?;
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("unexpected first line from the server: {line:?}"))?
        .to_owned();
    Ok((server, base))
}

fn main() {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start tokio: {err}");
            std::process::exit(2);
        }
    };
    match runtime.block_on(run()) {
        Ok(0) => {}
        Ok(_) => std::process::exit(1),
        Err(err) => {
            eprintln!("conformance client: {err}");
            std::process::exit(2);
        }
    }
}

/// Runs every case over HTTP/1.1 and h2c; returns the number of failures.
async fn run() -> Result<usize, String> {
    let cases: CaseFile =
        serde_json::from_str(CASES_JSON).map_err(|err| format!("cases.json: {err}"))?;
    let only: Option<Vec<String>> = std::env::var("CONFORMANCE_ONLY")
        .ok()
        .map(|names| names.split(',').map(str::to_owned).collect());
    let (_server, base) = match std::env::var("CONFORMANCE_BASE") {
        Ok(base) => (None, base),
        Err(_) => {
            let (server, base) = start_server()?;
            (Some(server), base)
        }
    };
    let addr: SocketAddr = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .map_err(|err| format!("CONFORMANCE_BASE `{base}`: {err}"))?;
    let out_dir = std::env::var("CONFORMANCE_OUT").ok();
    let (mut passed, mut failed) = (0, 0);
    for http2 in [false, true] {
        let target = Target { addr, http2 };
        let mut results = Vec::new();
        for case in &cases.cases {
            if only.as_ref().is_some_and(|only| !only.contains(&case.name)) {
                continue;
            }
            let started = Instant::now();
            let outcome = tokio::time::timeout(Duration::from_secs(30), run_case(&target, case))
                .await
                .unwrap_or_else(|_| Err("timed out after 30 s".to_owned()));
            let (ok, detail) =
                outcome.unwrap_or_else(|err| (false, format!("driver error: {err}")));
            let status = match (ok, detail.contains("client deviation: ")) {
                (false, _) => "fail",
                (true, true) => "pass*",
                (true, false) => "pass",
            };
            if !ok {
                eprintln!(
                    "[{}] {}: fail ({} ms) {detail}",
                    target.client(),
                    case.name,
                    started.elapsed().as_millis(),
                );
            }
            if ok {
                passed += 1;
            } else {
                failed += 1;
            }
            results
                .push(serde_json::json!({ "case": case.name, "status": status, "detail": detail }));
        }
        if let Some(dir) = &out_dir {
            let doc = serde_json::json!({
                "client": target.client(),
                "version": format!("{CLIENT_VERSION}{}", if http2 { ", h2c prior knowledge" } else { "" }),
                "results": results,
            });
            let path = std::path::Path::new(dir).join(format!("results-{}.json", target.client()));
            let text = serde_json::to_string_pretty(&doc).map_err(|err| err.to_string())?;
            std::fs::write(&path, text).map_err(|err| format!("{}: {err}", path.display()))?;
        }
    }
    println!(
        "conformance (eventsource-stream over HTTP/1.1 and h2c): {passed} passed, {failed} failed"
    );
    Ok(failed)
}
