//! [`Rejection`]: a failed extraction, answered with FastAPI's `{"detail": [...]}` shape;
//! and `Infallible`, the rejection of extractors that cannot fail.

use std::convert::Infallible;

use http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use crate::response::{json_response, IntoResponse, Response};

/// The status of a request whose input does not parse.
pub(super) const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

/// A failed extraction: the status and FastAPI-shaped error items.
///
/// Answered as `{"detail": [{"type": "...", "loc": [...], "msg": "...", "input": ...}]}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    status: StatusCode,
    items: Vec<ErrorItem>,
}

/// One entry of a [`Rejection`]'s `detail` list (made by the extractors; read its fields).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ErrorItem {
    /// Machine-readable kind, e.g. `int_parsing`, `missing`, `json_invalid`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where: `["path", "id"]`, `["query", "n"]`, `["body", "user", "age"]`, `["header", "last-event-id"]`.
    pub loc: Vec<String>,
    /// A sentence for people.
    pub msg: String,
    /// The offending input, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
}

impl Rejection {
    /// A rejection with one item.
    pub fn new(status: StatusCode, kind: &str, loc: &[&str], msg: impl Into<String>) -> Self {
        Self {
            status,
            items: vec![ErrorItem {
                kind: kind.to_owned(),
                loc: loc.iter().map(|s| (*s).to_owned()).collect(),
                msg: msg.into(),
                input: None,
            }],
        }
    }

    pub(super) fn with_input(mut self, input: Option<String>) -> Self {
        if let Some(item) = self.items.last_mut() {
            item.input = input.map(Value::String);
        }
        self
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error items.
    pub fn items(&self) -> &[ErrorItem] {
        &self.items
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", item.loc.join("."), item.msg)?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejection {}

impl IntoResponse for Rejection {
    /// `{"detail": [...]}` with the rejection's status. The rejection rides along in the
    /// response's extensions, so that an app with its own
    /// [error body](crate::App::error_body) writes the body in its shape instead.
    fn into_response(self) -> Response {
        let mut response = json_response(self.status, &serde_json::json!({ "detail": self.items }));
        response.extensions_mut().insert(self);
        response
    }
}

/// Turns a deserialization error into a 422 naming the field.
pub(super) fn serde_rejection<E: std::fmt::Display>(
    origin: &str,
    err: serde_path_to_error::Error<E>,
) -> Rejection {
    let message = err.inner().to_string();
    let mut loc = vec![origin.to_owned()];
    let path = err.path().to_string();
    if path != "." {
        loc.extend(path.split('.').map(str::to_owned));
    }
    let kind = if let Some(field) = missing_field(&message) {
        loc.push(field.to_owned());
        "missing"
    } else {
        "value_error"
    };
    Rejection {
        status: UNPROCESSABLE,
        items: vec![ErrorItem {
            kind: kind.to_owned(),
            loc,
            msg: message,
            input: None,
        }],
    }
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

impl IntoResponse for Infallible {
    fn into_response(self) -> Response {
        match self {}
    }
}
