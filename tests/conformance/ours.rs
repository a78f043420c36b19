//! Our own client, `sse_runtime::client` (issue 23), over every case of `cases.json`, on
//! HTTP/1.1 and h2c: the same cases the browser and the other independent clients run, so
//! its parsing and its reconnection (delays, `Last-Event-ID`, `retry:`, 204, non-200,
//! wrong content type) can be compared with Chromium's native `EventSource`, against our
//! conformance server and against servers nobody here wrote (`python/server.py`:
//! sse-starlette; `axum_server.rs`: axum's `Sse`).
//!
//! Unlike the parser-only clients, this one runs its own reconnection: the driver only
//! watches (the delay between the last event of one connection and the first of the
//! next, the `Last-Event-ID` the server echoes, the requests the server counted).
//!
//! Run by `cargo test` (it then starts the `conformance-server` binary itself) and by
//! `tests/conformance/run.sh`:
//! - `CONFORMANCE_BASE=http://127.0.0.1:PORT`: the server to test (default: start ours);
//! - `CONFORMANCE_CASES=FILE`: the cases (default: `cases.json`; run.sh passes the subset
//!   an independent server serves);
//! - `CONFORMANCE_OUT=DIR`: write `results-sse-client.json` and `results-sse-client-h2.json`;
//! - `CONFORMANCE_ONLY=a,b`: only these cases; `CONFORMANCE_H2=0`: HTTP/1.1 only (a server
//!   without h2c).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Deserialize;
use sse_runtime::client::{Client, ClientError, EventSource};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CASES_JSON: &str = include_str!("cases.json");
/// The initial reconnection time: only a server's `retry:` makes the client come back
/// sooner, so a case that passes shows the `retry:` was honored.
const SLOW: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
struct CaseFile {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    kind: String,
    #[serde(default)]
    expect: Vec<Expected>,
    path: Option<String>,
    mode: Option<String>,
    expect_opens: Option<u32>,
    retry_ms: Option<u64>,
    delay_ms: Option<(u64, u64)>,
    coding: Option<String>,
    #[serde(default)]
    clients: std::collections::HashMap<String, ClientException>,
}

#[derive(Deserialize)]
struct ClientException {
    coding: Option<String>,
    why: String,
}

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

/// A dispatched event: type, data, last event id.
#[derive(Debug, PartialEq)]
struct Got {
    kind: String,
    data: String,
    last_event_id: String,
}

fn got(event: &sse_runtime::parse::ParsedEvent) -> Got {
    Got {
        kind: event.event.clone(),
        data: event.data.clone(),
        last_event_id: event.last_event_id.clone(),
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
    let want: Vec<Got> = want
        .iter()
        .map(|e| Got {
            kind: e.kind.clone(),
            data: e.data.expand(),
            last_event_id: e.last_event_id.clone(),
        })
        .collect();
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

struct Target {
    base: String,
    http2: bool,
    client: Client,
}

impl Target {
    fn name(&self) -> &'static str {
        if self.http2 {
            "sse-client-h2"
        } else {
            "sse-client"
        }
    }

    fn source(&self, path: &str) -> EventSource {
        self.client
            .get(&format!("{}{path}", self.base))
            .retry(SLOW)
            .send()
    }

    /// `GET /hits/{key}` on a connection of its own (HTTP/1.1, `connection: close`).
    async fn hits(&self, key: &str) -> Result<u64, String> {
        let authority = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|err| format!("hits: connect: {err}"))?;
        let request =
            format!("GET /hits/{key} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|err| format!("hits: {err}"))?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .map_err(|err| format!("hits: {err}"))?;
        let text = String::from_utf8_lossy(&response);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.trim())
            .ok_or_else(|| format!("hits: no body in {text:?}"))?;
        body.parse().map_err(|err| format!("hits: `{body}`: {err}"))
    }
}

/// Reads one connection's events: until the stream ends (the client would reconnect:
/// `max_retries(0)` makes that a `GaveUp` with no cause).
async fn one_connection(mut source: EventSource) -> Result<Vec<Got>, String> {
    let mut events = Vec::new();
    loop {
        match source.next().await {
            Some(Ok(event)) => events.push(got(&event)),
            Some(Err(ClientError::GaveUp {
                retries: 0,
                last: None,
            })) => return Ok(events),
            Some(Err(err)) => return Err(format!("after {} events: {err}", events.len())),
            None => return Err(format!("the source stopped after {} events", events.len())),
        }
    }
}

async fn run_case(target: &Target, case: &Case) -> Result<(bool, String), String> {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let key = format!("{}-{}-{nonce}", target.name(), case.name);
    let mut problems = Vec::new();
    let events: Vec<Got>;
    let detail;
    match case.kind.as_str() {
        "stream" | "split" => {
            let path = if case.kind == "split" {
                "/split".to_owned()
            } else {
                format!("/case/{}", case.name)
            };
            let source = target
                .client
                .get(&format!("{}{path}", target.base))
                .max_retries(0)
                .send();
            events = one_connection(source).await?;
            detail = format!("{} events, then the end (would reconnect)", events.len());
        }
        "compressed" => {
            let exception = case.clients.get(target.name());
            let coding = exception
                .and_then(|e| e.coding.clone())
                .or_else(|| case.coding.clone())
                .ok_or("compressed case without coding")?;
            let source = target
                .client
                .get(&format!("{}/zcase/{}/{key}", target.base, case.name))
                .max_retries(0)
                .send();
            events = one_connection(source).await?;
            if target.hits(&format!("{key}-coding-{coding}")).await? != 1 {
                problems.push(format!("the server did not send it as {coding}"));
            }
            detail = match exception {
                Some(e) => format!(
                    "{} events, {coding}; client deviation: {}",
                    events.len(),
                    e.why
                ),
                None => format!("{} events, {coding}", events.len()),
            };
        }
        "retry" => {
            // The first connection's events, then the first event of the reconnection: the
            // wait in between is the client's reconnection delay (the server ends each
            // stream right after its last event).
            let mut source = target.source(&format!("/case/{}", case.name));
            let mut first = Vec::new();
            let mut last_at = Instant::now();
            let reopened_after = loop {
                match source.next().await {
                    Some(Ok(event)) if source.opens() == 1 => {
                        first.push(got(&event));
                        last_at = Instant::now();
                    }
                    Some(Ok(_)) => break last_at.elapsed(),
                    Some(Err(err)) => return Err(format!("{err}")),
                    None => return Err("the source stopped".to_owned()),
                }
            };
            events = first;
            let ms = reopened_after.as_millis();
            let (min, max) = case.delay_ms.ok_or("retry case without delay_ms")?;
            if !(u128::from(min)..=u128::from(max)).contains(&ms) {
                problems.push(format!(
                    "reconnected after {ms} ms, want {min}..{max} ms (retry {:?} ms)",
                    case.retry_ms
                ));
            }
            if Some(source.retry()) != case.retry_ms.map(Duration::from_millis) {
                problems.push(format!(
                    "reconnection time {:?}, want {:?} ms",
                    source.retry(),
                    case.retry_ms
                ));
            }
            detail = format!(
                "reconnected after {ms} ms (retry {} ms)",
                case.retry_ms.unwrap_or(0)
            );
        }
        "resume" => {
            let path = case.path.as_deref().ok_or("resume case without path")?;
            let mut source = target.source(path);
            let mut all = Vec::new();
            let mut ids_at_open = Vec::new();
            let mut opens = 0;
            loop {
                match source.next().await {
                    Some(Ok(event)) => {
                        if source.opens() != opens {
                            opens = source.opens();
                            ids_at_open.push(
                                all.last()
                                    .map_or(String::new(), |g: &Got| g.last_event_id.clone()),
                            );
                        }
                        all.push(got(&event));
                    }
                    Some(Err(err)) => return Err(format!("after {} events: {err}", all.len())),
                    None => break,
                }
            }
            if Some(source.opens()) != case.expect_opens {
                problems.push(format!(
                    "{} connections opened, want {:?}",
                    source.opens(),
                    case.expect_opens
                ));
            }
            if Some(source.requests()) != case.expect_opens.map(|n| n + 1) {
                problems.push(format!(
                    "{} requests, want one per connection and the 204",
                    source.requests()
                ));
            }
            detail = format!(
                "{} events over {} connections (Last-Event-ID {:?}), then 204: stopped",
                all.len(),
                source.opens(),
                ids_at_open.get(1..).unwrap_or_default()
            );
            events = all;
        }
        "fail" => {
            let mode = case.mode.as_deref().ok_or("fail case without mode")?;
            let mut source = target.source(&format!("/fail/{mode}/{key}"));
            let mut all = Vec::new();
            let end = loop {
                match source.next().await {
                    Some(Ok(event)) => all.push(got(&event)),
                    Some(Err(err)) => break Some(err),
                    None => break None,
                }
            };
            let outcome = match (&end, mode) {
                (None, "204") => Ok("204: stopped cleanly".to_owned()),
                (Some(err @ ClientError::Status(_)), "500" | "stream-error") => Ok(format!(
                    "ended with Status({})",
                    err.status().map_or(0, |s| s.as_u16())
                )),
                (Some(err @ ClientError::ContentType(_)), "wrong-type") => Ok(format!(
                    "ended with ContentType({})",
                    err.response()
                        .and_then(|r| r.content_type())
                        .unwrap_or("none")
                )),
                (other, _) => Err(format!("mode {mode}: the source ended with {other:?}")),
            };
            match outcome {
                Ok(text) => {
                    // A wrong reconnection would show up by now (retry is 100 ms).
                    tokio::time::sleep(Duration::from_millis(600)).await;
                    let requests = target.hits(&key).await?;
                    if requests != 2 {
                        problems.push(format!(
                            "server saw {requests} requests, want 2 (no reconnect after the failure)"
                        ));
                    }
                    detail = format!("{text} after {requests} requests");
                }
                Err(problem) => {
                    problems.push(problem);
                    detail = String::new();
                }
            }
            events = all;
        }
        "cancel" => {
            let mut source = target.source(&format!("/cancel/{key}"));
            let first = source.next().await.ok_or("no event")?;
            events = vec![got(&first.map_err(|err| err.to_string())?)];
            drop(source);
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
                    "server cleanup ran {dropped} times within 3 s of dropping the source, want 1"
                ));
            }
            detail = format!(
                "server cleanup ran {} ms after dropping the source",
                started.elapsed().as_millis()
            );
        }
        other => return Err(format!("unknown case kind {other}")),
    }
    if let Some(difference) = diff(&events, &case.expect) {
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
            eprintln!("conformance (sse_runtime::client): {err}");
            std::process::exit(2);
        }
    }
}

/// Runs every case over HTTP/1.1 and h2c; returns the number of failures.
async fn run() -> Result<usize, String> {
    let text = match std::env::var("CONFORMANCE_CASES") {
        Ok(path) => std::fs::read_to_string(&path).map_err(|err| format!("{path}: {err}"))?,
        Err(_) => CASES_JSON.to_owned(),
    };
    let cases: CaseFile = serde_json::from_str(&text).map_err(|err| format!("cases: {err}"))?;
    let only: Option<Vec<String>> = std::env::var("CONFORMANCE_ONLY")
        .ok()
        .map(|names| names.split(',').map(str::to_owned).collect());
    let (_server, base) = match std::env::var("CONFORMANCE_BASE") {
        Ok(base) => (None, base.trim_end_matches('/').to_owned()),
        Err(_) => {
            let (server, base) = start_server()?;
            (Some(server), base)
        }
    };
    let protocols: &[bool] = if std::env::var("CONFORMANCE_H2").as_deref() == Ok("0") {
        &[false]
    } else {
        &[false, true]
    };
    let out_dir = std::env::var("CONFORMANCE_OUT").ok();
    let (mut passed, mut failed) = (0, 0);
    for &http2 in protocols {
        let client = if http2 {
            Client::builder().http2_prior_knowledge().build()
        } else {
            Client::new()
        };
        let target = Target {
            base: base.clone(),
            http2,
            client,
        };
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
            eprintln!(
                "[{}] {}: {status} ({} ms) {detail}",
                target.name(),
                case.name,
                started.elapsed().as_millis(),
            );
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
                "client": target.name(),
                "version": format!(
                    "sse_runtime::client {} (hyper-util {}){}",
                    env!("CARGO_PKG_VERSION"),
                    "0.1",
                    if http2 { ", h2c prior knowledge" } else { ", HTTP/1.1" }
                ),
                "results": results,
            });
            let path = std::path::Path::new(dir).join(format!("results-{}.json", target.name()));
            let text = serde_json::to_string_pretty(&doc).map_err(|err| err.to_string())?;
            std::fs::write(&path, text).map_err(|err| format!("{}: {err}", path.display()))?;
        }
    }
    println!("conformance (sse_runtime::client, {base}): {passed} passed, {failed} failed");
    Ok(failed)
}
