//! The OpenAPI document (issue 6): a test app with every parameter kind, documented with
//! the runtime's doc builder; exact SSE `itemSchema` shapes; the document and the docs
//! page served; an independent validator (`openapi-spec-validator`, pinned in
//! `tests/openapi/requirements.txt`) run on the documents; the showcase's document
//! compared with its committed snapshot; `/docs` driven in headless Chromium.
//!
//! `UPDATE_OPENAPI_SNAPSHOTS=1 cargo test -p sse-tests --test it openapi` rewrites the
//! snapshots in `tests/openapi/snapshots/`.

use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sse_runtime::openapi::{In, OpenApiConfig, RouteDoc};
use sse_runtime::schemars::JsonSchema;
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{
    App, HeaderMap, HttpError, Json, JsonLines, LastEventId, Method, Path, Query, RouteDef,
    ServerSentEvent, Sse, State, StatusCode,
};

use crate::showcase;

// ---------------------------------------------------------------------------------------
// The test app: every parameter kind, every response kind.

/// One event of a room.
#[derive(Serialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
struct RoomEvent {
    /// Position in the room's history.
    seq: u64,
    /// Who wrote it.
    author: String,
    text: String,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
struct EventQuery {
    /// Only events after this sequence number.
    since: Option<u64>,
    /// At most this many events.
    #[serde(default = "default_limit")]
    limit: u32,
    /// Include system events.
    verbose: bool,
}

fn default_limit() -> u32 {
    3
}

/// A message to post. `tags` may be left out when posting, and is always sent back, so
/// its request and response schemas differ.
#[derive(Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
struct Message {
    text: String,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
struct ChatRequest {
    prompt: String,
}

#[derive(Serialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
struct Token {
    token: String,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
struct FilePath {
    path: String,
}

#[derive(Serialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
struct Row {
    line: u32,
    text: String,
}

#[derive(Clone)]
struct AppName(&'static str);

async fn room_events(
    Path(room): Path<String>,
    Query(query): Query<EventQuery>,
    last: LastEventId<u64>,
    State(name): State<AppName>,
    _headers: HeaderMap,
) -> Sse {
    let start = last.0.map_or(query.since.unwrap_or(0), |id| id + 1);
    let limit = u64::from(query.limit) + u64::from(query.verbose && room == "verbose");
    Sse::new(futures_util::stream::iter((start..start + limit).map(
        move |seq| {
            ServerSentEvent::new()
                .data(RoomEvent {
                    seq,
                    author: name.0.to_owned(),
                    text: format!("hello {room}"),
                })
                .id(seq.to_string())
        },
    )))
}

async fn raw_events() -> Sse {
    Sse::new(futures_util::stream::iter((0..3).map(|i| {
        ServerSentEvent::new()
            .event("tick")
            .raw_data(format!("tick {i}"))
    })))
}

async fn post_message(
    Path((room, seq)): Path<(String, u32)>,
    Json(message): Json<Message>,
) -> Result<Json<Message>, HttpError> {
    if room == "missing" {
        return Err(HttpError::not_found(format!("no room {room} (seq {seq})")));
    }
    Ok(Json(message))
}

async fn chat(Json(request): Json<ChatRequest>) -> Sse {
    let words: Vec<String> = request
        .prompt
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Sse::new(futures_util::stream::iter(
        words.into_iter().map(|token| Token { token }),
    ))
}

async fn export(
    Path(file): Path<FilePath>,
    Query(filters): Query<HashMap<String, String>>,
) -> JsonLines {
    let _ = filters;
    JsonLines::new(futures_util::stream::iter((1..=2).map(move |line| Row {
        line,
        text: file.path.clone(),
    })))
}

async fn upload(body: String) -> String {
    body.to_uppercase()
}

async fn plain(Path(id): Path<u32>) -> String {
    format!("plain {id}")
}

async fn internal() -> &'static str {
    "hidden"
}

fn test_app() -> App {
    App::new()
        .state(AppName("tester"))
        .route(
            RouteDef::documented(Method::GET, "/rooms/{room}/events", room_events).with_doc(|d| {
                d.doc_comment(" Events of a room, live.\n\n Resumes after `Last-Event-ID`.")
                    .tag("rooms")
                    .describe_param("room", "The room's name")
                    .param::<String>(In::Header, "X-Request-Id")
                    .param::<Option<String>>(In::Cookie, "session")
                    .sse::<RoomEvent>()
            }),
        )
        .route(
            RouteDef::documented(Method::GET, "/rooms/{room}/raw", raw_events)
                .with_doc(|d| d.tag("rooms").describe_param("room", "The room's name")),
        )
        .route(
            RouteDef::documented(Method::POST, "/rooms/{room}/messages/{seq}", post_message)
                .with_doc(|d| d.tag("rooms").error(StatusCode::NOT_FOUND, "No such room")),
        )
        .route(RouteDef::new(Method::POST, "/chat", chat).with_doc(|d| {
            d.operation_id("chat")
                .summary("Streams the answer, one token per event")
                .args::<Json<ChatRequest>>()
                .sse::<Token>()
        }))
        .route(
            RouteDef::documented(Method::GET, "/export/{*path}", export)
                .with_doc(|d| d.json_lines::<Row>()),
        )
        .route(RouteDef::documented(Method::POST, "/upload", upload))
        .get("/plain/{id}", plain)
        .route(RouteDef::new(Method::GET, "/internal", internal).with_doc(RouteDoc::hidden))
        .openapi_config(
            OpenApiConfig::new("Every parameter kind", "1.0.0")
                .description("The test app of tests/it/openapi.rs.")
                .path("/api/openapi.json")
                .docs_path("/api/docs"),
        )
}

// ---------------------------------------------------------------------------------------
// Helpers.

fn repo_root() -> PathBuf {
    FsPath::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The rule of `sse_tests::tools` for a validator that cannot be installed here (no
/// python3 venv, no registry): a failure under CI, a one-line notice elsewhere.
fn validator_missing(text: &str) {
    let why = text
        .lines()
        .last()
        .unwrap_or("openapi-spec-validator unavailable");
    sse_tests::tools::missing(
        "the OpenAPI validation (openapi-spec-validator, tests/openapi/validate.sh)",
        why,
        "apt-get install python3-venv && cargo test -p sse-tests --test it openapi",
    );
}

fn operation<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "no operation {method} {path} in {doc:#}");
    op
}

fn param_summary(op: &Value) -> Vec<(String, String, bool)> {
    op["parameters"]
        .as_array()
        .map(|params| {
            params
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or_default().to_owned(),
                        p["in"].as_str().unwrap_or_default().to_owned(),
                        p["required"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn statuses(op: &Value) -> Vec<String> {
    op["responses"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default()
}

fn p(name: &str, location: &str, required: bool) -> (String, String, bool) {
    (name.to_owned(), location.to_owned(), required)
}

enum Validation {
    Valid(String),
    Invalid(String),
    Unavailable(String),
}

/// Runs `tests/openapi/validate.sh` on `docs` (written to files under the target dir).
fn run_validator(name: &str, docs: &[(&str, &Value)]) -> Validation {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("openapi-{name}"));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    let files: Vec<PathBuf> = docs
        .iter()
        .map(|(file, doc)| {
            let path = dir.join(format!("{file}.json"));
            std::fs::write(&path, serde_json::to_vec_pretty(doc).expect("serialize"))
                .expect("write the document");
            path
        })
        .collect();
    let output = Command::new("bash")
        .arg(repo_root().join("tests/openapi/validate.sh"))
        .args(&files)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(err) => return Validation::Unavailable(format!("cannot run bash: {err}")),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    match output.status.code() {
        Some(0) => Validation::Valid(text),
        Some(1) => Validation::Invalid(text),
        _ => Validation::Unavailable(text),
    }
}

/// Asserts that the validator accepts every document; skips (with a note) only when the
/// validator cannot be installed, and never under CI.
fn assert_valid(name: &str, docs: &[(&str, &Value)]) {
    match run_validator(name, docs) {
        Validation::Valid(text) => {
            assert!(text.contains("openapi-spec-validator 0.9.0"), "{text}");
            for (file, _) in docs {
                assert!(
                    text.contains(&format!("{file}.json (OpenAPI 3.2)")),
                    "{text}"
                );
            }
        }
        Validation::Invalid(text) => panic!("openapi-spec-validator rejects {name}:\n{text}"),
        Validation::Unavailable(text) => validator_missing(&text),
    }
}

/// Compares `doc` with `tests/openapi/snapshots/{name}.json`, or rewrites it under
/// `UPDATE_OPENAPI_SNAPSHOTS=1`.
fn assert_snapshot(name: &str, doc: &Value) {
    let path = repo_root().join(format!("tests/openapi/snapshots/{name}.json"));
    let pretty = serde_json::to_string_pretty(doc).expect("serialize") + "\n";
    if std::env::var_os("UPDATE_OPENAPI_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &pretty).expect("write the snapshot");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!(
            "no snapshot {} ({err}); create it with UPDATE_OPENAPI_SNAPSHOTS=1",
            path.display()
        )
    });
    let committed: Value = serde_json::from_str(&committed).expect("the snapshot is JSON");
    if &committed != doc {
        let diff = first_difference(&committed, doc, String::new())
            .unwrap_or_else(|| "(key order only)".to_owned());
        panic!(
            "the OpenAPI document of `{name}` differs from {}: {diff}\n\
             If the change is intended, run \
             `UPDATE_OPENAPI_SNAPSHOTS=1 cargo test -p sse-tests --test it openapi` and commit \
             the snapshot.\nNew document:\n{pretty}",
            path.display()
        );
    }
}

fn first_difference(old: &Value, new: &Value, at: String) -> Option<String> {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys()) {
                let here = format!("{at}/{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => {
                        if let Some(d) = first_difference(x, y, here) {
                            return Some(d);
                        }
                    }
                    (x, y) => return Some(format!("at {here}: {x:?} became {y:?}")),
                }
            }
            None
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, format!("{at}/{i}"))),
        _ if old == new => None,
        _ => Some(format!("at {at}: {old} became {new}")),
    }
}

// ---------------------------------------------------------------------------------------
// The document's content.

#[test]
fn typed_sse_route_has_fastapi_item_schema() {
    let doc = test_app().openapi();
    let op = operation(&doc, "/rooms/{room}/events", "get");
    let content = &op["responses"]["200"]["content"];
    assert_eq!(
        content["text/event-stream"]["itemSchema"],
        json!({
            "type": "object",
            "properties": {
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"$ref": "#/components/schemas/RoomEvent"}
                },
                "event": {"type": "string"},
                "id": {"type": "string"},
                "retry": {"type": "integer", "minimum": 0}
            },
            "required": ["data"]
        })
    );
    assert_eq!(content.as_object().map(|c| c.len()), Some(1));
    let item = &doc["components"]["schemas"]["RoomEvent"];
    assert_eq!(item["type"], "object");
    assert_eq!(item["required"], json!(["seq", "author", "text"]));
    assert_eq!(
        item["properties"]["seq"]["description"],
        "Position in the room's history."
    );
    // The POST stream too.
    let chat = operation(&doc, "/chat", "post");
    assert_eq!(
        chat["responses"]["200"]["content"]["text/event-stream"]["itemSchema"]["properties"]
            ["data"]["contentSchema"],
        json!({"$ref": "#/components/schemas/Token"})
    );
}

#[test]
fn server_sent_event_route_has_generic_item_schema() {
    let doc = test_app().openapi();
    let op = operation(&doc, "/rooms/{room}/raw", "get");
    assert_eq!(
        op["responses"]["200"]["content"]["text/event-stream"]["itemSchema"],
        json!({
            "type": "object",
            "properties": {
                "data": {"type": "string"},
                "event": {"type": "string"},
                "id": {"type": "string"},
                "retry": {"type": "integer", "minimum": 0}
            }
        })
    );
}

/// Items of `Event<T>` (bare and in `Result`s): `data` is `T`'s JSON or, from
/// `Event::raw`, text as is; a JSON Lines stream of `Event<T>` writes `T`s.
#[test]
fn typed_event_route_documents_its_payload_and_raw_text() {
    #[sse_runtime::get("/typed", sse)]
    async fn typed() -> impl sse_runtime::Stream<Item = sse_runtime::Event<RoomEvent>> {
        sse_runtime::stream! { yield sse_runtime::Event::raw("[DONE]"); }
    }
    #[sse_runtime::get("/typed-try", sse)]
    async fn typed_try(
    ) -> impl sse_runtime::Stream<Item = Result<sse_runtime::Event<Token>, HttpError>> {
        sse_runtime::stream! { yield Ok(sse_runtime::Event::raw("[DONE]")); }
    }
    #[sse_runtime::get("/typed-lines", ndjson)]
    async fn typed_lines() -> impl sse_runtime::Stream<Item = sse_runtime::Event<Row>> {
        sse_runtime::stream! { yield sse_runtime::Event::raw("[DONE]"); }
    }
    let doc = App::new()
        .route(typed)
        .route(typed_try)
        .route(typed_lines)
        .openapi();
    let item = |path: &str| {
        operation(&doc, path, "get")["responses"]["200"]["content"]["text/event-stream"]
            ["itemSchema"]
            .clone()
    };
    let expected = |name: &str| {
        json!({
            "type": "object",
            "properties": {
                "data": {
                    "anyOf": [
                        {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": {"$ref": format!("#/components/schemas/{name}")}
                        },
                        {
                            "type": "string",
                            "description": "Text sent as is (`Event::raw`), not JSON, \
                                            e.g. a `[DONE]` terminator."
                        }
                    ]
                },
                "event": {"type": "string"},
                "id": {"type": "string"},
                "retry": {"type": "integer", "minimum": 0}
            },
            "required": ["data"]
        })
    };
    assert_eq!(item("/typed"), expected("RoomEvent"));
    assert_eq!(item("/typed-try"), expected("Token"));
    assert_eq!(
        operation(&doc, "/typed-lines", "get")["responses"]["200"]["content"],
        json!({"application/x-ndjson": {"itemSchema": {"$ref": "#/components/schemas/Row"}}})
    );
    assert_eq!(doc["components"]["schemas"]["RoomEvent"]["type"], "object");
}

/// The component a typed event stream's `data` is documented with: `contentSchema` a
/// `$ref` to a component, directly, in the JSON branch of an `Event<T>`'s `anyOf`, or as
/// the first branch of a broadcast `Message<T>`'s `anyOf` (the other being the reset).
fn data_component(item_schema: &Value) -> Option<String> {
    let data = &item_schema["properties"]["data"];
    let json_branch = match data.get("anyOf").and_then(Value::as_array) {
        Some(branches) => branches.iter().find(|b| b.get("contentSchema").is_some())?,
        None => data,
    };
    if json_branch["contentMediaType"] != "application/json" {
        return None;
    }
    let content = &json_branch["contentSchema"];
    let reference = content["$ref"]
        .as_str()
        .or_else(|| content["anyOf"][0]["$ref"].as_str())?;
    reference
        .strip_prefix("#/components/schemas/")
        .map(str::to_owned)
}

/// Every event stream of the showcase documents its `data` with a component schema, so a
/// client generator gets a type for each, except the routes listed here, whose data is
/// dynamic on purpose.
#[test]
fn every_showcase_event_stream_names_a_component_for_its_data() {
    /// `(method, path, why its data has no component)`.
    const DYNAMIC: &[(&str, &str, &str)] = &[
        (
            "get",
            "/stream",
            "quickstart: `serde_json::Value` items (FastAPI's dicts)",
        ),
        (
            "get",
            "/logs/stream",
            "logs: `ServerSentEvent` raw text lines, not JSON",
        ),
    ];
    let doc = showcase::app().openapi();
    let components = &doc["components"]["schemas"];
    let mut streams = 0;
    let mut dynamic_seen = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Some(responses) = op["responses"].as_object() else {
                continue;
            };
            for response in responses.values() {
                let Some(media) = response["content"].get("text/event-stream") else {
                    continue;
                };
                streams += 1;
                let component = data_component(&media["itemSchema"]);
                if let Some(&(_, _, why)) =
                    DYNAMIC.iter().find(|(m, p, _)| m == method && p == path)
                {
                    assert_eq!(
                        component, None,
                        "{method} {path} is listed as dynamic ({why})"
                    );
                    dynamic_seen.push(path.as_str());
                    continue;
                }
                let name = component.unwrap_or_else(|| {
                    panic!(
                        "{method} {path}: its event data names no component schema: {}",
                        media["itemSchema"]
                    )
                });
                assert!(
                    components.get(&name).is_some(),
                    "{method} {path}: no component {name}"
                );
            }
        }
    }
    dynamic_seen.sort_unstable();
    let mut listed: Vec<&str> = DYNAMIC.iter().map(|(_, p, _)| *p).collect();
    listed.sort_unstable();
    assert_eq!(dynamic_seen, listed, "a listed route is gone");
    assert!(streams >= 10, "only {streams} event streams");
}

#[test]
fn json_lines_route_has_item_schema() {
    let doc = test_app().openapi();
    let op = operation(&doc, "/export/{path}", "get");
    assert_eq!(
        op["responses"]["200"]["content"],
        json!({"application/x-ndjson": {"itemSchema": {"$ref": "#/components/schemas/Row"}}})
    );
}

#[test]
fn every_parameter_kind_is_documented() {
    let doc = test_app().openapi();

    let events = operation(&doc, "/rooms/{room}/events", "get");
    assert_eq!(
        param_summary(events),
        [
            p("room", "path", true),
            p("since", "query", false),
            p("limit", "query", false),
            p("verbose", "query", true),
            p("Last-Event-ID", "header", false),
            p("X-Request-Id", "header", true),
            p("session", "cookie", false),
        ]
    );
    let params = events["parameters"].as_array().expect("parameters");
    assert_eq!(params[0]["description"], "The room's name");
    assert_eq!(params[0]["schema"], json!({"type": "string"}));
    assert_eq!(
        params[1]["description"],
        "Only events after this sequence number."
    );
    assert_eq!(params[2]["schema"]["default"], 3);
    assert_eq!(
        params[3]["schema"],
        json!({"type": "boolean", "description": "Include system events."})
    );
    assert_eq!(
        params[4]["schema"],
        json!({"type": "integer", "format": "uint64", "minimum": 0})
    );
    assert!(params[4]["description"]
        .as_str()
        .is_some_and(|d| d.contains("EventSource")));
    assert_eq!(events["summary"], "Events of a room, live.");
    assert_eq!(events["description"], "Resumes after `Last-Event-ID`.");
    assert_eq!(events["tags"], json!(["rooms"]));
    assert_eq!(events["operationId"], "room_events");
    assert_eq!(statuses(events), ["200", "422"]);

    // A tuple `Path` types the pattern's parameters in order; a JSON body.
    let post = operation(&doc, "/rooms/{room}/messages/{seq}", "post");
    assert_eq!(
        param_summary(post),
        [p("room", "path", true), p("seq", "path", true)]
    );
    assert_eq!(
        post["parameters"][1]["schema"],
        json!({"type": "integer", "format": "uint32", "minimum": 0})
    );
    assert_eq!(
        post["requestBody"],
        json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Message-Input"}}}})
    );
    assert_eq!(
        statuses(post),
        ["200", "404", "413", "415", "422", "default"]
    );
    assert_eq!(
        post["responses"]["200"]["content"]["application/json"]["schema"],
        json!({"$ref": "#/components/schemas/Message-Output"})
    );
    assert_eq!(
        post["responses"]["404"]["content"]["application/json"]["schema"],
        json!({"$ref": "#/components/schemas/HTTPError"})
    );

    // A struct `Path` by name, over a catch-all; a map `Query` as one exploded parameter.
    let export = operation(&doc, "/export/{path}", "get");
    assert_eq!(
        param_summary(export),
        [p("path", "path", true), p("params", "query", false)]
    );
    assert_eq!(export["parameters"][1]["style"], "form");
    assert_eq!(export["parameters"][1]["explode"], true);

    // A text body.
    let upload = operation(&doc, "/upload", "post");
    assert_eq!(
        upload["requestBody"]["content"],
        json!({"text/plain": {"schema": {"type": "string"}}})
    );
    assert_eq!(statuses(upload), ["200", "400", "413"]);
    assert_eq!(
        upload["responses"]["200"]["content"],
        json!({"text/plain": {"schema": {"type": "string"}}})
    );
}

#[test]
fn request_and_response_schemas_split_only_when_they_differ() {
    let doc = test_app().openapi();
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("components/schemas");
    let names: Vec<&str> = schemas.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "ChatRequest",
            "HTTPError",
            "HTTPValidationError",
            "Message-Input",
            "Message-Output",
            "RoomEvent",
            "Row",
            "Token",
            "ValidationError",
        ]
    );
    assert_eq!(schemas["Message-Input"]["required"], json!(["text"]));
    assert_eq!(
        schemas["Message-Output"]["required"],
        json!(["text", "tags"])
    );
    // `EventQuery` and `FilePath` became parameters, not components.
    assert!(!schemas.contains_key("EventQuery"));
}

#[test]
fn undocumented_and_hidden_routes() {
    let doc = test_app().openapi();
    let plain = operation(&doc, "/plain/{id}", "get");
    assert_eq!(
        plain,
        &json!({
            "operationId": "get_plain_id",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "Successful Response"}}
        })
    );
    assert!(doc["paths"].get("/internal").is_none());
    // Neither the document nor the docs page lists itself.
    assert!(doc["paths"].get("/api/openapi.json").is_none());
    assert!(doc["paths"].get("/api/docs").is_none());
    assert_eq!(doc["openapi"], "3.2.0");
    assert_eq!(
        doc["info"],
        json!({"title": "Every parameter kind", "version": "1.0.0", "description": "The test app of tests/it/openapi.rs."})
    );
}

/// The documented 422 schema describes the body the extractors really send.
#[tokio::test]
async fn documented_validation_error_matches_real_rejections() {
    let doc = test_app().openapi();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["HTTPValidationError"]["properties"]["detail"]["items"],
        json!({"$ref": "#/components/schemas/ValidationError"})
    );
    let item_schema = &schemas["ValidationError"];
    let documented: Vec<&str> = item_schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .map(String::as_str)
        .collect();

    let client = TestClient::new(test_app().build().expect("valid routes"));
    let rejections = [
        client.get("/rooms/r/events?verbose=maybe").send().await,
        client
            .get("/rooms/r/events?verbose=true")
            .header("last-event-id", "x")
            .send()
            .await,
        client
            .post("/rooms/r/messages/x")
            .json(&json!({"text": "hi"}))
            .send()
            .await,
        client
            .post("/rooms/r/messages/1")
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await,
    ];
    for response in rejections {
        assert_eq!(response.status(), 422);
        let body: Value = response.json().await;
        let detail = body["detail"].as_array().expect("detail is a list");
        assert!(!detail.is_empty());
        for item in detail {
            let item = item.as_object().expect("an object");
            for key in item.keys() {
                assert!(documented.contains(&key.as_str()), "undocumented {key}");
            }
            for required in item_schema["required"].as_array().expect("required") {
                assert!(item.contains_key(required.as_str().expect("name")));
            }
        }
    }
    let unsupported = client.post("/rooms/r/messages/1").body("{}").send().await;
    assert_eq!(unsupported.status(), 415);
    let op = operation(&doc, "/rooms/{room}/messages/{seq}", "post");
    assert_eq!(
        op["responses"]["415"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/HTTPValidationError"
    );
}

// ---------------------------------------------------------------------------------------
// Serving.

#[tokio::test]
async fn document_and_docs_page_are_served() {
    let app = test_app();
    let from_app = app.openapi();
    let service = app.build().expect("valid routes");
    assert_eq!(service.openapi(), from_app);
    let client = TestClient::new(service);

    let response = client.get("/api/openapi.json").send().await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let served: Value = response.json().await;
    assert_eq!(served, from_app);

    let page = client.get("/api/docs").send().await;
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text().await;
    assert!(html.contains(r#"const OPENAPI_URL = "/api/openapi.json";"#));
    assert!(html.contains("<title>Every parameter kind — API docs</title>"));
    // Self-contained: nothing is loaded from anywhere else.
    for needle in ["http://", "https://", "<link", "src="] {
        assert!(!html.contains(needle), "the docs page references {needle}");
    }

    // The default paths; not served at all without `openapi_config`.
    let default = TestClient::new(
        App::new()
            .get("/x", || async { "x" })
            .openapi_config(OpenApiConfig::default()),
    );
    assert_eq!(default.get("/openapi.json").send().await.status(), 200);
    assert_eq!(default.get("/docs").send().await.status(), 200);
    let off = TestClient::new(App::new().get("/x", || async { "x" }));
    assert_eq!(off.get("/openapi.json").send().await.status(), 404);
    assert_eq!(off.get("/docs").send().await.status(), 404);
    let no_page = TestClient::new(
        App::new().openapi_config(OpenApiConfig::new("t", "1").without_docs_page()),
    );
    assert_eq!(no_page.get("/openapi.json").send().await.status(), 200);
    assert_eq!(no_page.get("/docs").send().await.status(), 404);
}

#[test]
fn a_route_on_the_document_path_is_a_build_error() {
    let err = App::new()
        .get("/openapi.json", || async { "mine" })
        .openapi_config(OpenApiConfig::default())
        .build()
        .expect_err("conflict");
    assert!(err.to_string().contains("/openapi.json"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Independent validation and snapshots.

/// The showcase example (`examples/showcase.rs`), whose document is validated and snapshotted.

#[test]
fn validator_accepts_the_test_app_and_the_showcase() {
    let test_doc = test_app().openapi();
    let showcase = showcase::app().openapi();
    assert_valid(
        "valid",
        &[("every-parameter-kind", &test_doc), ("showcase", &showcase)],
    );
}

/// The validator really validates: it rejects a broken document, and `itemSchema` in an
/// OpenAPI 3.1 document (which is why the document is 3.2).
#[test]
fn validator_rejects_invalid_documents() {
    let mut as_31 = test_app().openapi();
    as_31["openapi"] = json!("3.1.0");
    let mut missing_path_param = test_app().openapi();
    missing_path_param["paths"]["/plain/{id}"]["get"]
        .as_object_mut()
        .expect("operation")
        .remove("parameters");
    let cases = [
        ("as-3.1", as_31, "'itemSchema' was unexpected"),
        (
            "missing-path-param",
            missing_path_param,
            "Path parameter 'id' for 'get' operation in '/plain/{id}' was not resolved",
        ),
    ];
    for (name, doc, reason) in cases {
        match run_validator(name, &[(name, &doc)]) {
            Validation::Invalid(text) => {
                assert!(text.contains("INVALID") && text.contains(reason), "{text}");
            }
            Validation::Valid(text) => panic!("the validator accepted {name}:\n{text}"),
            Validation::Unavailable(text) => validator_missing(&text),
        }
    }
}

#[test]
fn snapshot_of_the_test_app() {
    assert_snapshot("every-parameter-kind", &test_app().openapi());
}

#[test]
fn snapshot_of_the_showcase() {
    assert_snapshot("showcase", &showcase::app().openapi());
}

// ---------------------------------------------------------------------------------------
// The docs page in a real browser.

/// The suite and how to run it, for the notice when Chromium or Node is missing.
const DOCS_PAGE_SUITE: &str = "the OpenAPI docs page in Chromium (tests/it/openapi.rs)";
const DOCS_PAGE_COMMAND: &str =
    "apt-get install chromium nodejs && cargo test -p sse-tests --test it openapi::docs_page";

/// `$CHROMIUM`, or Debian's Chromium.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        sse_tests::tools::missing(DOCS_PAGE_SUITE, "no /usr/bin/chromium", DOCS_PAGE_COMMAND);
    }
    found
}

/// `/docs` in headless Chromium with every host but the app's unreachable: the page lists
/// the operations from the document, and "Try it" shows the events of a GET stream
/// (fetch and `EventSource`) and of a POST stream live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_works_offline_in_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let Some(node) = sse_tests::tools::require("node", DOCS_PAGE_SUITE, DOCS_PAGE_COMMAND) else {
        return;
    };
    // Node 22+ has a global WebSocket; Node 20 needs the flag.
    let probe = Command::new(&node)
        .args([
            "-e",
            "process.stdout.write(String(typeof WebSocket === 'undefined'))",
        ])
        .output();
    let probe = probe.expect("run node");
    let node_flags: &[&str] = if probe.stdout == b"true" {
        &["--experimental-websocket"]
    } else {
        &[]
    };
    let client = TestClient::spawn(test_app(), Protocol::Http1).await;
    let addr = client.addr().expect("a spawned server");
    let plan = json!({
        "url": format!("http://{addr}/api/docs"),
        "chromium": chromium,
        "screenshot": PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openapi-docs.png"),
        "actions": [
            {"operationId": "room_events", "params": {"room": "lobby", "verbose": "true", "limit": "3", "X-Request-Id": "r1"}, "events": 3},
            {"operationId": "room_events", "params": {"room": "lobby", "verbose": "true", "limit": "2"}, "eventSource": true, "events": 2},
            {"operationId": "chat", "body": "{\"prompt\": \"one two three\"}", "events": 3},
            {"operationId": "export", "params": {"path": "a/b.txt"}, "events": 2},
        ],
    });
    let script = repo_root().join("tests/openapi/docs_page.mjs");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(node)
            .args(node_flags)
            .arg(script)
            .arg(plan.to_string())
            .output()
    })
    .await
    .expect("join")
    .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "docs_page.mjs failed:\n{stdout}\n{stderr}"
    );
    let result: Value = serde_json::from_str(stdout.trim()).expect("the script prints JSON");

    let listed: Vec<&str> = result["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        listed,
        [
            "room_events",
            "raw_events",
            "post_message",
            "chat",
            "export",
            "upload",
            "get_plain_id"
        ]
    );
    let runs = result["results"].as_array().expect("results");
    let data = |i: usize| -> Vec<Value> {
        runs[i]["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| {
                serde_json::from_str(e["data"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
            })
            .collect()
    };
    let room = data(0);
    assert_eq!(room.len(), 3, "{:#}", runs[0]);
    assert_eq!(
        room[0],
        json!({"seq": 0, "author": "tester", "text": "hello lobby"})
    );
    assert_eq!(runs[0]["events"][2]["id"], "2");
    assert!(runs[0]["status"]
        .as_str()
        .is_some_and(|s| s.starts_with("200")));
    assert_eq!(data(1).len(), 2, "EventSource: {:#}", runs[1]);
    assert_eq!(
        data(2),
        [
            json!({"token": "one"}),
            json!({"token": "two"}),
            json!({"token": "three"})
        ]
    );
    assert_eq!(
        data(3),
        [
            json!({"line": 1, "text": "a/b.txt"}),
            json!({"line": 2, "text": "a/b.txt"})
        ]
    );
    let origin = format!("http://{addr}/");
    for url in result["requests"].as_array().expect("requests") {
        let url = url.as_str().unwrap_or_default();
        assert!(
            url.starts_with(&origin) || url.starts_with("data:") || url == "about:blank",
            "the docs page requested {url}"
        );
    }
    assert_eq!(result["errors"], json!([]), "page errors");
}
