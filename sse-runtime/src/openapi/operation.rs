//! One operation of the document: its parameters, request body and responses, each
//! schema generated in the contract of its side.

use std::collections::{BTreeSet, HashSet};

use http::Method;
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

use super::model::{Builtin, In, MediaDoc, ParamDoc, ResponseDoc, RouteDoc, StatusKey};

use super::generate::IN_PREFIX;
use super::refs::encode_ref_name;

pub(super) struct Context<'e> {
    pub(super) input: SchemaGenerator,
    pub(super) output: SchemaGenerator,
    pub(super) builtins: BTreeSet<Builtin>,
    /// The app's own error shape: its schema's name and the schema, which every error
    /// response refers to in place of the built-in ones.
    pub(super) errors: Option<(String, &'e Value)>,
    pub(super) errors_used: bool,
    pub(super) operation_ids: HashSet<String>,
}

impl Context<'_> {
    pub(super) fn operation(
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
}
