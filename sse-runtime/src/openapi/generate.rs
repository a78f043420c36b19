//! Builds the OpenAPI document from the routes' [`RouteDoc`]s: paths, components, and
//! the two schema contracts (request side and response side) merged at the end.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use http::Method;
use schemars::generate::{Contract, SchemaSettings};
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

use super::config::OpenApiConfig;
use super::model::RouteDoc;

use super::operation::Context;
use super::refs::merge_contracts;

/// The OpenAPI version written. `itemSchema` (the schema of each item of a sequential
/// media type such as `text/event-stream`) is an OpenAPI 3.2 field: a 3.1 document that
/// carries it is invalid against the 3.1 schema, whose Media Type Object admits no other
/// fields.
pub(crate) const OPENAPI_VERSION: &str = "3.2.0";

/// Where request-side (deserialize contract) schemas are referenced.
pub(super) const IN_PREFIX: &str = "#/components/schemas/";
/// Where response-side (serialize contract) schemas are referenced while the document is
/// built; rewritten to [`IN_PREFIX`] (and names made unique) at the end.
pub(super) const OUT_PREFIX: &str = "#/components/x-output-schemas/";

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

/// The component name of an app's error schema: its `title`, else `Error`.
fn error_schema_name(schema: &Value) -> String {
    schema
        .get("title")
        .and_then(Value::as_str)
        .filter(|title| !title.is_empty())
        .unwrap_or("Error")
        .to_owned()
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
