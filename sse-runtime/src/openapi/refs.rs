//! Schema references: the built-in schemas (validation and HTTP errors), `$ref` names
//! encoded like schemars, and the merge of the request-side and response-side contracts
//! into one `components/schemas`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::model::Builtin;

use super::generate::{IN_PREFIX, OUT_PREFIX};

impl Builtin {
    pub(super) fn name(self) -> &'static str {
        match self {
            Builtin::ValidationError => "HTTPValidationError",
            Builtin::HttpError => "HTTPError",
        }
    }

    pub(super) fn insert_into(self, schemas: &mut Map<String, Value>) {
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
pub(super) fn encode_ref_name(name: &str) -> String {
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
pub(super) fn rewrite_refs(value: &mut Value, f: &impl Fn(&str) -> Option<String>) {
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

pub(super) fn collect_refs(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
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
pub(super) fn merge_contracts(
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
