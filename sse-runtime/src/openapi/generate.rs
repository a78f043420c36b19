//! Builds the OpenAPI document from the routes' [`RouteDoc`]s, and serves it.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::Method;
use schemars::generate::{Contract, SchemaSettings};
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

use super::config::OpenApiConfig;
use super::model::{Builtin, In, MediaDoc, ParamDoc, ResponseDoc, RouteDoc, StatusKey};
use crate::app::build_error::BuildError;
use crate::app::handler::Endpoint;
use crate::app::router::Router;
use crate::app::RouteDef;
use crate::response::{Html, Response};

/// The OpenAPI version written. `itemSchema` (the schema of each item of a sequential
/// media type such as `text/event-stream`) is an OpenAPI 3.2 field: a 3.1 document that
/// carries it is invalid against the 3.1 schema, whose Media Type Object admits no other
/// fields.
pub(crate) const OPENAPI_VERSION: &str = "3.2.0";

/// Where request-side (deserialize contract) schemas are referenced.
const IN_PREFIX: &str = "#/components/schemas/";
/// Where response-side (serialize contract) schemas are referenced while the document is
/// built; rewritten to [`IN_PREFIX`] (and names made unique) at the end.
const OUT_PREFIX: &str = "#/components/x-output-schemas/";

const DOCS_PAGE: &str = include_str!("docs.html");

/// The documentation an [`AppService`](crate::AppService) keeps: its routes' docs, the
/// config, and the document once generated.
pub(crate) struct AppDocs {
    config: OpenApiConfig,
    /// The schema of the app's error bodies, when it chose its own shape.
    errors: Option<Value>,
    serve: bool,
    routes: Vec<(Method, String, Option<RouteDoc>)>,
    document: OnceLock<(Arc<Value>, Bytes)>,
}

impl std::fmt::Debug for AppDocs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppDocs")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppDocs {
    /// Keeps what the document needs of `routes`; `config` is `Some` when the app serves
    /// it.
    pub(crate) fn new(
        routes: &[RouteDef],
        config: Option<&OpenApiConfig>,
        errors: Option<Value>,
    ) -> Arc<Self> {
        Arc::new(Self {
            errors,
            serve: config.is_some(),
            config: config.cloned().unwrap_or_default(),
            routes: routes
                .iter()
                .map(|r| {
                    (
                        r.method().clone(),
                        r.path().to_owned(),
                        r.route_doc().cloned(),
                    )
                })
                .collect(),
            document: OnceLock::new(),
        })
    }

    /// Adds the routes serving the document and the docs page, when the app serves them.
    pub(crate) fn register(self: &Arc<Self>, router: &mut Router) -> Result<(), BuildError> {
        if !self.serve {
            return Ok(());
        }
        let docs = Arc::clone(self);
        let document = move || {
            let docs = Arc::clone(&docs);
            async move {
                let mut response = Response::new(docs.cached().1.clone().into());
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                response
            }
        };
        router.insert(Method::GET, &self.config.path, Endpoint::new(document))?;
        if let Some(docs_path) = &self.config.docs_path {
            let page = docs_page(&self.config.title, &self.config.path);
            let handler = move || {
                let page = page.clone();
                async move { Html(page) }
            };
            router.insert(Method::GET, docs_path, Endpoint::new(handler))?;
        }
        Ok(())
    }

    fn cached(&self) -> &(Arc<Value>, Bytes) {
        self.document.get_or_init(|| {
            let value = document(
                &self.config,
                self.errors.as_ref(),
                self.routes
                    .iter()
                    .map(|(m, p, d)| (m, p.as_str(), d.as_ref())),
            );
            let bytes = serde_json::to_vec(&value).unwrap_or_default().into();
            (Arc::new(value), bytes)
        })
    }

    /// The document.
    pub(crate) fn document(&self) -> &Arc<Value> {
        &self.cached().0
    }
}

/// The docs page, with the document's URL and the title filled in.
fn docs_page(title: &str, openapi_path: &str) -> Bytes {
    let url = serde_json::to_string(openapi_path)
        .unwrap_or_else(|_| "\"/openapi.json\"".to_owned())
        .replace("</", "<\\/");
    let title = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    Bytes::from(
        DOCS_PAGE
            .replace("__SSE_RUNTIME_TITLE__", &title)
            .replace("\"__SSE_RUNTIME_OPENAPI_URL__\"", &url),
    )
}

/// Builds the document of `routes`; `errors`: the schema of the app's error bodies when
/// it chose its own [shape](crate::App::error_body) (else FastAPI's built-in ones).
pub(crate) fn document<'a>(
    config: &OpenApiConfig,
    errors: Option<&Value>,
    routes: impl IntoIterator<Item = (&'a Method, &'a str, Option<&'a RouteDoc>)>,
) -> Value {
    let mut ctx = Context {
        input: generator(Contract::Deserialize, IN_PREFIX),
        output: generator(Contract::Serialize, OUT_PREFIX),
        builtins: BTreeSet::new(),
        errors: errors.map(|schema| (error_schema_name(schema), schema)),
        errors_used: false,
        operation_ids: HashSet::new(),
    };
    let empty = RouteDoc::default();
    let mut paths = Map::new();
    for (method, pattern, doc) in routes {
        let doc = doc.unwrap_or(&empty);
        if doc.hidden {
            continue;
        }
        // Every pattern was checked when the app was built.
        let (path, names) = crate::app::pattern::template(pattern)
            .unwrap_or_else(|_| (pattern.to_owned(), Vec::new()));
        let operation = ctx.operation(method, &path, &names, doc);
        let item = paths
            .entry(path)
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        match operation_key(method) {
            Some(key) => {
                item.insert(key.to_owned(), operation);
            }
            None => {
                if let Some(more) = item
                    .entry("additionalOperations")
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                {
                    more.insert(method.as_str().to_owned(), operation);
                }
            }
        }
    }

    let mut info = Map::new();
    info.insert("title".into(), config.title.clone().into());
    info.insert("version".into(), config.version.clone().into());
    if let Some(description) = &config.description {
        info.insert("description".into(), description.clone().into());
    }
    let mut doc = json!({
        "openapi": OPENAPI_VERSION,
        "info": info,
        "paths": paths,
    });

    let input = ctx.input.take_definitions(true);
    let output = ctx.output.take_definitions(true);
    let mut schemas = merge_contracts(&mut doc, input, output);
    for builtin in &ctx.builtins {
        builtin.insert_into(&mut schemas);
    }
    if let (Some((name, schema)), true) = (&ctx.errors, ctx.errors_used) {
        schemas.insert(name.clone(), (*schema).clone());
    }
    if !schemas.is_empty() {
        let sorted: BTreeMap<String, Value> = schemas.into_iter().collect();
        doc["components"] = json!({ "schemas": sorted });
    }
    doc
}

fn generator(contract: Contract, prefix: &str) -> SchemaGenerator {
    let path = prefix.trim_start_matches('#').to_owned();
    SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = path.into();
            s.meta_schema = None;
            s.contract = contract;
        })
        .into_generator()
}

fn operation_key(method: &Method) -> Option<&'static str> {
    Some(match *method {
        Method::GET => "get",
        Method::PUT => "put",
        Method::POST => "post",
        Method::DELETE => "delete",
        Method::OPTIONS => "options",
        Method::HEAD => "head",
        Method::PATCH => "patch",
        Method::TRACE => "trace",
        _ if method.as_str() == "QUERY" => "query",
        _ => return None,
    })
}

struct Context<'e> {
    input: SchemaGenerator,
    output: SchemaGenerator,
    builtins: BTreeSet<Builtin>,
    /// The app's own error shape: its schema's name and the schema, which every error
    /// response refers to in place of the built-in ones.
    errors: Option<(String, &'e Value)>,
    errors_used: bool,
    operation_ids: HashSet<String>,
}

impl Context<'_> {
    fn operation(
        &mut self,
        method: &Method,
        path: &str,
        names: &[String],
        doc: &RouteDoc,
    ) -> Value {
        let mut op = Map::new();
        if !doc.tags.is_empty() {
            op.insert("tags".into(), json!(doc.tags));
        }
        let summary = doc
            .summary
            .as_deref()
            .map(str::to_owned)
            .or_else(|| doc.operation_id.as_deref().map(title_case));
        if let Some(summary) = summary {
            op.insert("summary".into(), summary.into());
        }
        if let Some(description) = &doc.description {
            op.insert("description".into(), description.as_ref().into());
        }
        let base = doc
            .operation_id
            .as_deref()
            .map(str::to_owned)
            .unwrap_or_else(|| default_operation_id(method, path));
        let mut id = base.clone();
        for n in 2.. {
            if self.operation_ids.insert(id.clone()) {
                break;
            }
            id = format!("{base}_{n}");
        }
        op.insert("operationId".into(), id.into());
        if doc.deprecated {
            op.insert("deprecated".into(), true.into());
        }

        let parameters = self.parameters(names, doc);
        if !parameters.is_empty() {
            op.insert("parameters".into(), Value::Array(parameters));
        }

        if let Some(body) = &doc.body {
            let schema = (body.schema)(&mut self.input).to_value();
            let mut request = Map::new();
            request.insert("required".into(), body.required.into());
            request.insert(
                "content".into(),
                json!({ body.content_type.as_ref(): { "schema": schema } }),
            );
            op.insert("requestBody".into(), Value::Object(request));
        }

        let mut responses: Vec<&ResponseDoc> = doc.responses.iter().collect();
        let generic_ok = ResponseDoc {
            status: StatusKey::Code(200),
            description: "Successful Response".into(),
            content: Vec::new(),
        };
        if !responses
            .iter()
            .any(|r| matches!(r.status, StatusKey::Code(200..=299)))
        {
            responses.push(&generic_ok);
        }
        responses.sort_by_key(|r| r.status);
        let mut out = Map::new();
        for response in responses {
            let key = match response.status {
                StatusKey::Code(code) => code.to_string(),
                StatusKey::Default => "default".to_owned(),
            };
            let mut value = Map::new();
            value.insert("description".into(), response.description.as_ref().into());
            if !response.content.is_empty() {
                let mut content = Map::new();
                for (media_type, media) in &response.content {
                    content.insert(media_type.to_string(), self.media(media));
                }
                value.insert("content".into(), Value::Object(content));
            }
            out.insert(key, Value::Object(value));
        }
        op.insert("responses".into(), Value::Object(out));
        Value::Object(op)
    }

    fn media(&mut self, media: &MediaDoc) -> Value {
        match media {
            MediaDoc::Schema(schema) => json!({ "schema": schema(&mut self.output) }),
            MediaDoc::SseTyped { schema, raw_text } => {
                let content = schema(&mut self.output).to_value();
                json!({ "itemSchema": sse_item_schema(Some(content), *raw_text) })
            }
            MediaDoc::SseAny => json!({ "itemSchema": sse_item_schema(None, false) }),
            MediaDoc::Items(schema) => json!({ "itemSchema": schema(&mut self.output) }),
            MediaDoc::AnyItems => json!({ "itemSchema": {} }),
            MediaDoc::Builtin(_) if self.errors.is_some() => {
                self.errors_used = true;
                let name = self.errors.as_ref().map_or("", |(name, _)| name.as_str());
                json!({ "schema": { "$ref": format!("{IN_PREFIX}{}", encode_ref_name(name)) } })
            }
            MediaDoc::Builtin(builtin) => {
                self.builtins.insert(*builtin);
                json!({ "schema": { "$ref": format!("{IN_PREFIX}{}", builtin.name()) } })
            }
        }
    }

    /// A schema with a `$ref` into the request-side definitions replaced by its target.
    fn resolve_input(&self, schema: Value) -> Value {
        let target = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix(IN_PREFIX))
            .and_then(|name| {
                self.input
                    .definitions()
                    .iter()
                    .find(|(key, _)| encode_ref_name(key) == name)
                    .map(|(_, value)| value.clone())
            });
        target.unwrap_or(schema)
    }

    fn parameters(&mut self, names: &[String], doc: &RouteDoc) -> Vec<Value> {
        let mut path_schemas: Vec<Option<Value>> = vec![None; names.len()];
        let mut path_descriptions: Vec<Option<Value>> = vec![None; names.len()];
        let mut others: Vec<Map<String, Value>> = Vec::new();
        for param in &doc.params {
            match param {
                ParamDoc::Path(schema) => {
                    let raw = schema(&mut self.input).to_value();
                    let schema = self.resolve_input(raw);
                    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                        for (i, name) in names.iter().enumerate() {
                            if let Some(property) = properties.get(name) {
                                path_descriptions[i] = property.get("description").cloned();
                                path_schemas[i] = Some(property.clone());
                            }
                        }
                    } else if let Some(items) = schema.get("prefixItems").and_then(Value::as_array)
                    {
                        for (slot, item) in path_schemas.iter_mut().zip(items) {
                            *slot = Some(item.clone());
                        }
                    } else if names.len() == 1 {
                        path_schemas[0] = Some(schema);
                    }
                }
                ParamDoc::One {
                    location,
                    name,
                    schema,
                    required,
                    description,
                } => {
                    let schema = schema(&mut self.input).to_value();
                    if *location == In::Path {
                        if let Some(i) = names.iter().position(|n| n == name) {
                            path_schemas[i] = Some(schema);
                            if let Some(text) = description {
                                path_descriptions[i] = Some(text.as_ref().into());
                            }
                        }
                        continue;
                    }
                    let required = required.unwrap_or_else(|| !admits_null(&schema));
                    others.push(parameter(
                        *location,
                        name,
                        required,
                        description.as_deref().map(Value::from),
                        schema,
                    ));
                }
                ParamDoc::Fields { location, schema } => {
                    let raw = schema(&mut self.input).to_value();
                    let schema = self.resolve_input(raw);
                    let required: HashSet<&str> = schema
                        .get("required")
                        .and_then(Value::as_array)
                        .map(|r| r.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    match schema.get("properties").and_then(Value::as_object) {
                        Some(properties) => {
                            for (name, property) in properties {
                                others.push(parameter(
                                    *location,
                                    name,
                                    required.contains(name.as_str()),
                                    property.get("description").cloned(),
                                    property.clone(),
                                ));
                            }
                        }
                        None => {
                            // A map or another free-form value: one exploded parameter.
                            let mut param =
                                parameter(*location, "params", false, None, schema.clone());
                            param.insert("style".into(), "form".into());
                            param.insert("explode".into(), true.into());
                            others.push(param);
                        }
                    }
                }
            }
        }

        let mut params: Vec<Map<String, Value>> = names
            .iter()
            .zip(path_schemas)
            .zip(path_descriptions)
            .map(|((name, schema), description)| {
                let schema = schema.unwrap_or_else(|| json!({ "type": "string" }));
                parameter(In::Path, name, true, description, schema)
            })
            .collect();
        let mut seen: HashSet<(String, String)> = params
            .iter()
            .map(|p| {
                (
                    "path".to_owned(),
                    p["name"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        for param in others {
            let key = (
                param["in"].as_str().unwrap_or("").to_owned(),
                param["name"].as_str().unwrap_or("").to_ascii_lowercase(),
            );
            if seen.insert(key) {
                params.push(param);
            }
        }
        for (name, description) in &doc.param_descriptions {
            for param in params.iter_mut().filter(|p| p["name"] == name.as_ref()) {
                param.insert("description".into(), description.as_ref().into());
            }
        }
        params.into_iter().map(Value::Object).collect()
    }
}

fn parameter(
    location: In,
    name: &str,
    required: bool,
    description: Option<Value>,
    schema: Value,
) -> Map<String, Value> {
    let mut param = Map::new();
    param.insert("name".into(), name.into());
    param.insert("in".into(), location.as_str().into());
    param.insert("required".into(), required.into());
    if let Some(description) = description {
        param.insert("description".into(), description);
    }
    param.insert("schema".into(), schema);
    param
}

/// True when `schema` accepts `null` (an `Option<T>`).
fn admits_null(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) if t == "null" => return true,
        Some(Value::Array(types)) if types.iter().any(|t| t == "null") => return true,
        _ => {}
    }
    ["anyOf", "oneOf"].iter().any(|key| {
        schema
            .get(*key)
            .and_then(Value::as_array)
            .is_some_and(|options| options.iter().any(admits_null))
    })
}

/// The `itemSchema` of an event stream: one event, typed when `content` is the schema of
/// its JSON `data`. With `raw_text` (an [`Event<T>`](crate::Event) item), `data` is either
/// that JSON or text sent as is: `anyOf` the two, so `contentSchema` never claims the text.
pub(crate) fn sse_item_schema(content: Option<Value>, raw_text: bool) -> Value {
    let typed = content.is_some();
    let mut data = json!({ "type": "string" });
    if let Some(content) = content {
        data["contentMediaType"] = "application/json".into();
        data["contentSchema"] = content;
        if raw_text {
            data = json!({
                "anyOf": [
                    data,
                    {
                        "type": "string",
                        "description": "Text sent as is (`Event::raw`), not JSON, \
                                        e.g. a `[DONE]` terminator."
                    }
                ]
            });
        }
    }
    let mut item = json!({
        "type": "object",
        "properties": {
            "data": data,
            "event": { "type": "string" },
            "id": { "type": "string" },
            "retry": { "type": "integer", "minimum": 0 },
        },
    });
    if typed {
        item["required"] = json!(["data"]);
    }
    item
}

/// The component name of an app's error schema: its `title`, else `Error`.
fn error_schema_name(schema: &Value) -> String {
    schema
        .get("title")
        .and_then(Value::as_str)
        .filter(|title| !title.is_empty())
        .unwrap_or("Error")
        .to_owned()
}

/// `list_items` → "List Items".
fn title_case(id: &str) -> String {
    id.split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `GET /items/{id}` → `get_items_id`.
fn default_operation_id(method: &Method, path: &str) -> String {
    let mut id = method.as_str().to_ascii_lowercase();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let word: String = segment
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let word = word.trim_matches('_');
        if !word.is_empty() {
            id.push('_');
            id.push_str(word);
        }
    }
    id
}

impl Builtin {
    fn name(self) -> &'static str {
        match self {
            Builtin::ValidationError => "HTTPValidationError",
            Builtin::HttpError => "HTTPError",
        }
    }

    fn insert_into(self, schemas: &mut Map<String, Value>) {
        match self {
            Builtin::ValidationError => {
                schemas.insert(
                    "ValidationError".into(),
                    json!({
                        "title": "ValidationError",
                        "type": "object",
                        "properties": {
                            "loc": {
                                "title": "Location",
                                "description": "Where: `[\"path\", \"id\"]`, `[\"query\", \"n\"]`, `[\"body\", ...]`, `[\"header\", \"last-event-id\"]`.",
                                "type": "array",
                                "items": { "type": "string" },
                            },
                            "msg": { "title": "Message", "type": "string" },
                            "type": {
                                "title": "Error Type",
                                "description": "Machine-readable kind, e.g. `int_parsing`, `missing`, `json_invalid`.",
                                "type": "string",
                            },
                            "input": { "title": "Input", "description": "The offending input, when there is one." },
                        },
                        "required": ["loc", "msg", "type"],
                    }),
                );
                schemas.insert(
                    "HTTPValidationError".into(),
                    json!({
                        "title": "HTTPValidationError",
                        "type": "object",
                        "properties": {
                            "detail": {
                                "title": "Detail",
                                "type": "array",
                                "items": { "$ref": format!("{IN_PREFIX}ValidationError") },
                            },
                        },
                        "required": ["detail"],
                    }),
                );
            }
            Builtin::HttpError => {
                schemas.insert(
                    "HTTPError".into(),
                    json!({
                        "title": "HTTPError",
                        "type": "object",
                        "properties": {
                            "detail": {
                                "title": "Detail",
                                "description": "A message, or structured details.",
                            },
                        },
                        "required": ["detail"],
                    }),
                );
            }
        }
    }
}

/// A schema name as it appears in a `$ref` (JSON pointer in a URI fragment), as
/// `schemars` writes it.
fn encode_ref_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        match byte {
            b'~' => out.push_str("~0"),
            b'/' => out.push_str("~1"),
            b'!' | b'$' | b'&'..=b';' | b'=' | b'?'..=b'Z' | b'_' | b'a'..=b'z' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Calls `f` on every `$ref` string in `value`, replacing it when `f` returns `Some`.
fn rewrite_refs(value: &mut Value, f: &impl Fn(&str) -> Option<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "$ref" {
                    if let Value::String(reference) = child {
                        if let Some(new) = f(reference) {
                            *reference = new;
                        }
                        continue;
                    }
                }
                rewrite_refs(child, f);
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite_refs(item, f);
            }
        }
        _ => {}
    }
}

fn collect_refs(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match child {
                    Value::String(reference) if key == "$ref" => {
                        if let Some(name) = reference.strip_prefix(prefix) {
                            out.insert(name.to_owned());
                        }
                    }
                    _ => collect_refs(child, prefix, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, prefix, out)),
        _ => {}
    }
}

/// Merges the request-side and response-side definitions into one `components/schemas`,
/// rewriting every `$ref` of `doc` and of the definitions: a type whose schemas are the
/// same both ways (and whose referenced types are too) is kept once under its name; one
/// whose schemas differ becomes `Name-Input` and `Name-Output`.
fn merge_contracts(
    doc: &mut Value,
    input: Map<String, Value>,
    output: Map<String, Value>,
) -> Map<String, Value> {
    // Encoded (as in a `$ref`) name → name.
    let input_names: BTreeMap<String, String> = input
        .keys()
        .map(|k| (encode_ref_name(k), k.clone()))
        .collect();
    let output_names: BTreeMap<String, String> = output
        .keys()
        .map(|k| (encode_ref_name(k), k.clone()))
        .collect();

    let to_input_prefix = |r: &str| {
        r.strip_prefix(OUT_PREFIX)
            .map(|n| format!("{IN_PREFIX}{n}"))
    };
    let mut shared: BTreeSet<String> = output
        .iter()
        .filter(|(name, schema)| {
            input.get(*name).is_some_and(|theirs| {
                let mut ours = (*schema).clone();
                rewrite_refs(&mut ours, &to_input_prefix);
                &ours == theirs
            })
        })
        .map(|(name, _)| name.clone())
        .collect();
    // A type is shared only if every type it references is shared too.
    loop {
        let before = shared.len();
        let snapshot = shared.clone();
        shared.retain(|name| {
            let mut refs = BTreeSet::new();
            collect_refs(&input[name], IN_PREFIX, &mut refs);
            refs.iter().all(|encoded| {
                input_names
                    .get(encoded)
                    .is_none_or(|n| !output.contains_key(n) || snapshot.contains(n))
            })
        });
        if shared.len() == before {
            break;
        }
    }

    let input_name = |name: &str| -> String {
        if output.contains_key(name) && !shared.contains(name) {
            format!("{name}-Input")
        } else {
            name.to_owned()
        }
    };
    let output_name = |name: &str| -> String {
        if input.contains_key(name) && !shared.contains(name) {
            format!("{name}-Output")
        } else {
            name.to_owned()
        }
    };
    let rewrite = |reference: &str| -> Option<String> {
        if let Some(encoded) = reference.strip_prefix(IN_PREFIX) {
            let name = input_names.get(encoded)?;
            Some(format!("{IN_PREFIX}{}", encode_ref_name(&input_name(name))))
        } else if let Some(encoded) = reference.strip_prefix(OUT_PREFIX) {
            let name = output_names.get(encoded)?;
            Some(format!(
                "{IN_PREFIX}{}",
                encode_ref_name(&output_name(name))
            ))
        } else {
            None
        }
    };

    rewrite_refs(doc, &rewrite);
    let mut schemas = Map::new();
    for (name, mut schema) in input.clone() {
        rewrite_refs(&mut schema, &rewrite);
        schemas.insert(input_name(&name), schema);
    }
    for (name, mut schema) in output.clone() {
        if shared.contains(&name) {
            continue;
        }
        rewrite_refs(&mut schema, &rewrite);
        schemas.insert(output_name(&name), schema);
    }
    schemas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_and_titles() {
        assert_eq!(
            default_operation_id(&Method::GET, "/items/{id}/stream"),
            "get_items_id_stream"
        );
        assert_eq!(default_operation_id(&Method::POST, "/"), "post");
        assert_eq!(title_case("list_items"), "List Items");
    }

    #[test]
    fn null_detection() {
        assert!(admits_null(&json!({"type": ["integer", "null"]})));
        assert!(admits_null(
            &json!({"anyOf": [{"$ref": "#/x"}, {"type": "null"}]})
        ));
        assert!(!admits_null(&json!({"type": "integer"})));
    }

    #[test]
    fn ref_names_are_encoded_like_schemars() {
        assert_eq!(encode_ref_name("Item-Input"), "Item-Input");
        assert_eq!(encode_ref_name("a/b~c d"), "a~1b~0c%20d");
    }

    #[test]
    fn differing_contracts_split_and_dependents_follow() {
        // `Outer` has the same text both ways but references `Inner`, which differs.
        let input: Map<String, Value> = serde_json::from_value(json!({
            "Inner": {"type": "object", "required": []},
            "Outer": {"properties": {"i": {"$ref": "#/components/schemas/Inner"}}},
            "Same": {"type": "string"},
        }))
        .unwrap();
        let output: Map<String, Value> = serde_json::from_value(json!({
            "Inner": {"type": "object", "required": ["x"]},
            "Outer": {"properties": {"i": {"$ref": "#/components/x-output-schemas/Inner"}}},
            "Same": {"type": "string"},
        }))
        .unwrap();
        let mut doc = json!({
            "a": {"$ref": "#/components/schemas/Outer"},
            "b": {"$ref": "#/components/x-output-schemas/Outer"},
            "c": {"$ref": "#/components/x-output-schemas/Same"},
        });
        let schemas = merge_contracts(&mut doc, input, output);
        let names: BTreeSet<&str> = schemas.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            BTreeSet::from([
                "Inner-Input",
                "Inner-Output",
                "Outer-Input",
                "Outer-Output",
                "Same"
            ])
        );
        assert_eq!(doc["a"]["$ref"], "#/components/schemas/Outer-Input");
        assert_eq!(doc["b"]["$ref"], "#/components/schemas/Outer-Output");
        assert_eq!(doc["c"]["$ref"], "#/components/schemas/Same");
        assert_eq!(
            schemas["Outer-Output"]["properties"]["i"]["$ref"],
            "#/components/schemas/Inner-Output"
        );
    }
}
