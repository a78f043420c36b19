//! [`ErrorBody`]: the JSON shape of an app's error answers — FastAPI's `{"detail": ...}`
//! ([`Detail`], the default), OpenAI's `{"error": {...}}` ([`OpenAi`]), or an app's own —
//! chosen once with [`App::error_body`](crate::App::error_body).
//!
//! One shape covers every error the app answers: an [`HttpError`] a handler returns, the
//! [`Rejection`] of an extractor, the router's 404 and 405, a handler's panic (500), and a
//! streaming route's `Err` — as the response's body before the stream's first event, as
//! the data of its `event: error` (or the last JSON Line) after it. The OpenAPI document
//! (feature `openapi`) describes the error responses with the shape's
//! [`schema`](ErrorBody::schema).
//!
//! ```
//! use serde_json::{json, Value};
//! use sse_runtime::{App, HttpError};
//!
//! // A closure from the error to the body is a shape.
//! let app = App::new().error_body(|err: &HttpError| -> Value {
//!     json!({ "ok": false, "status": err.status().as_u16(), "reason": err.detail() })
//! });
//! # let _ = app;
//! ```

use std::any::TypeId;
use std::sync::Arc;

use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::StatusCode;
use serde_json::{json, Value};

use crate::extract::Rejection;
use crate::response::http_error::HttpError;
use crate::response::{json_response, Response};
use crate::stream::start::FailureRecord;

/// The JSON body of an app's error answers (see the [module docs](self)).
///
/// Only [`body`](Self::body) is required: a rejection is, by default, an [`HttpError`]
/// with the rejection's status and its error items as the detail, and the error event of
/// a stream carries the same body as the response would have. A closure
/// `Fn(&HttpError) -> serde_json::Value` is an `ErrorBody`.
///
/// ```
/// use serde_json::{json, Value};
/// use sse_runtime::error_body::ErrorBody;
/// use sse_runtime::HttpError;
///
/// /// `{"message": "...", "status": 404}`
/// struct Plain;
///
/// impl ErrorBody for Plain {
///     fn body(&self, error: &HttpError) -> Value {
///         json!({ "message": error.to_string(), "status": error.status().as_u16() })
///     }
///
///     fn schema(&self) -> Value {
///         json!({
///             "title": "PlainError",
///             "type": "object",
///             "properties": {
///                 "message": { "type": "string" },
///                 "status": { "type": "integer" },
///             },
///             "required": ["message", "status"],
///         })
///     }
/// }
///
/// let body = Plain.body(&HttpError::not_found("no such symbol"));
/// assert_eq!(body, json!({ "message": "no such symbol", "status": 404 }));
/// ```
pub trait ErrorBody: Send + Sync + 'static {
    /// The body of an error response (the response has `error`'s status).
    fn body(&self, error: &HttpError) -> Value;

    /// The body of an extractor's [`Rejection`] (422 for input that does not parse,
    /// 413, 415, ...). By default [`body`](Self::body) of an [`HttpError`] with the
    /// rejection's status and its items (`[{"type", "loc", "msg", "input"}]`) as the
    /// detail.
    fn rejection(&self, rejection: &Rejection) -> Value {
        let items = serde_json::to_value(rejection.items()).unwrap_or(Value::Null);
        self.body(&HttpError::with_detail(rejection.status(), items))
    }

    /// The record that ends a stream whose headers are out when it yields `Err`: the data
    /// of an event stream's `event: error`, the last line of a JSON Lines stream. By
    /// default [`body`](Self::body), so that a client reads one shape wherever an error
    /// comes.
    fn event(&self, error: &HttpError) -> Value {
        self.body(error)
    }

    /// The JSON Schema of [`body`](Self::body): the OpenAPI document (feature `openapi`)
    /// refers to it from every error response, under the name in its `"title"`
    /// (default: an object named `Error`).
    fn schema(&self) -> Value {
        json!({ "title": "Error", "type": "object" })
    }
}

impl<F> ErrorBody for F
where
    F: Fn(&HttpError) -> Value + Send + Sync + 'static,
{
    fn body(&self, error: &HttpError) -> Value {
        self(error)
    }
}

/// FastAPI's shape, the default: `{"detail": <detail>}` (a rejection's detail is its list
/// of error items); the error event's data is `{"status": <code>, "detail": <detail>}`
/// and a JSON Lines stream's last line `{"error": {"status": ..., "detail": ...}}`.
///
/// ```
/// use serde_json::json;
/// use sse_runtime::error_body::{Detail, ErrorBody};
/// use sse_runtime::{HttpError, StatusCode};
///
/// let err = HttpError::with_detail(StatusCode::UNAUTHORIZED, json!({ "code": "nope" }));
/// assert_eq!(Detail.body(&err), json!({ "detail": { "code": "nope" } }));
/// assert_eq!(Detail.event(&err), json!({ "status": 401, "detail": { "code": "nope" } }));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Detail;

impl ErrorBody for Detail {
    fn body(&self, error: &HttpError) -> Value {
        json!({ "detail": error.detail() })
    }

    fn rejection(&self, rejection: &Rejection) -> Value {
        json!({ "detail": rejection.items() })
    }

    fn event(&self, error: &HttpError) -> Value {
        json!({ "status": error.status().as_u16(), "detail": error.detail() })
    }

    fn schema(&self) -> Value {
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
        })
    }
}

/// OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`, in responses and
/// in the error event alike (the data of `event: error`, which OpenAI's SDKs raise as an
/// `APIError`).
///
/// A text detail is the `message`. A structured detail (an object) gives any of
/// `message`, `type`, `param` and `code` itself; what it leaves out is filled in:
/// `message` from the status's reason, `type` from the status (`server_error` for 5xx,
/// `rate_limit_error` for 429, else `invalid_request_error`), `param` and `code` `null`.
/// Another JSON detail is the `message` as JSON text. A rejection names the offending
/// field as `param` (`"n"` for a bad `?n=`).
///
/// ```
/// use serde_json::json;
/// use sse_runtime::error_body::{ErrorBody, OpenAi};
/// use sse_runtime::{HttpError, StatusCode};
///
/// let err = HttpError::with_detail(
///     StatusCode::UNAUTHORIZED,
///     json!({ "message": "Incorrect API key provided", "code": "invalid_api_key" }),
/// );
/// assert_eq!(
///     OpenAi.body(&err),
///     json!({ "error": {
///         "message": "Incorrect API key provided",
///         "type": "invalid_request_error",
///         "param": null,
///         "code": "invalid_api_key",
///     } })
/// );
/// assert_eq!(
///     OpenAi.body(&HttpError::internal("upstream closed"))["error"]["type"],
///     "server_error"
/// );
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenAi;

impl OpenAi {
    /// The `type` OpenAI gives errors of `status`.
    fn kind(status: StatusCode) -> &'static str {
        if status.is_server_error() {
            "server_error"
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            "rate_limit_error"
        } else {
            "invalid_request_error"
        }
    }

    fn error(status: StatusCode, message: Value, param: Value) -> Value {
        json!({ "error": {
            "message": message,
            "type": Self::kind(status),
            "param": param,
            "code": Value::Null,
        } })
    }
}

impl ErrorBody for OpenAi {
    fn body(&self, error: &HttpError) -> Value {
        let status = error.status();
        let reason = || Value::from(status.canonical_reason().unwrap_or("Error"));
        match error.detail() {
            Value::String(text) => Self::error(status, text.as_str().into(), Value::Null),
            Value::Object(fields) => {
                let mut body = Self::error(status, reason(), Value::Null);
                for key in ["message", "type", "param", "code"] {
                    if let Some(value) = fields.get(key) {
                        body["error"][key] = value.clone();
                    }
                }
                body
            }
            Value::Null => Self::error(status, reason(), Value::Null),
            other => Self::error(status, other.to_string().into(), Value::Null),
        }
    }

    fn rejection(&self, rejection: &Rejection) -> Value {
        let param = rejection
            .items()
            .first()
            .and_then(|item| item.loc.get(1..))
            .filter(|rest| !rest.is_empty())
            .map_or(Value::Null, |rest| rest.join(".").into());
        Self::error(rejection.status(), rejection.to_string().into(), param)
    }

    fn schema(&self) -> Value {
        json!({
            "title": "ErrorResponse",
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "message": { "type": "string" },
                        "type": {
                            "type": "string",
                            "description": "`invalid_request_error`, `rate_limit_error`, `server_error`, ...",
                        },
                        "param": { "type": ["string", "null"] },
                        "code": { "type": ["string", "null"] },
                    },
                    "required": ["message", "type", "param", "code"],
                },
            },
            "required": ["error"],
        })
    }
}

/// The shape an app chose, as the app applies it: `None` is [`Detail`], which every
/// error response already has.
#[derive(Clone, Default)]
pub(crate) struct Shape {
    body: Option<Arc<dyn ErrorBody>>,
    /// [`ErrorBody::event`] as the streaming engine calls it, made once.
    record: Option<FailureRecord>,
}

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.body.is_some() {
            "Shape(custom)"
        } else {
            "Shape(Detail)"
        })
    }
}

impl Shape {
    pub(crate) fn new<B: ErrorBody>(body: B) -> Self {
        if TypeId::of::<B>() == TypeId::of::<Detail>() {
            return Self::default();
        }
        let body: Arc<dyn ErrorBody> = Arc::new(body);
        let shape = Arc::clone(&body);
        let record = FailureRecord(Arc::new(move |status, detail: &Value| {
            shape.event(&HttpError::with_detail(status, detail.clone()))
        }));
        Self {
            body: Some(body),
            record: Some(record),
        }
    }

    /// Rewrites the body of an error response (an [`HttpError`]'s or a [`Rejection`]'s,
    /// which carry the error in their extensions) in this shape; other responses, and
    /// every response of the default shape, pass as they are.
    pub(crate) fn finish(&self, response: Response) -> Response {
        let Some(shape) = &self.body else {
            return response;
        };
        let extensions = response.extensions();
        let body = if let Some(error) = extensions.get::<HttpError>() {
            shape.body(error)
        } else if let Some(rejection) = extensions.get::<Rejection>() {
            shape.rejection(rejection)
        } else {
            return response;
        };
        let replaced = json_response(response.status(), &body);
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(CONTENT_LENGTH);
        parts
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Response::from_parts(parts, replaced.into_body())
    }

    /// What a stream's failure record is in this shape (`None`: the format's own).
    pub(crate) fn failure_record(&self) -> Option<FailureRecord> {
        self.record.clone()
    }

    /// The schema of the error bodies, when the shape is not the default.
    #[cfg(feature = "openapi")]
    pub(crate) fn schema(&self) -> Option<Value> {
        self.body.as_ref().map(|shape| shape.schema())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_ai_fills_what_a_structured_detail_leaves_out() {
        let err = HttpError::with_detail(StatusCode::TOO_MANY_REQUESTS, json!({ "code": "slow" }));
        assert_eq!(
            OpenAi.body(&err),
            json!({ "error": {
                "message": "Too Many Requests",
                "type": "rate_limit_error",
                "param": null,
                "code": "slow",
            } })
        );
        let err = HttpError::with_detail(StatusCode::BAD_REQUEST, json!([1, 2]));
        assert_eq!(OpenAi.body(&err)["error"]["message"], "[1,2]");
    }

    #[test]
    fn open_ai_names_the_rejected_field() {
        let rejection = Rejection::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "int_parsing",
            &["query", "n"],
            "invalid digit found in string",
        );
        assert_eq!(
            OpenAi.rejection(&rejection),
            json!({ "error": {
                "message": "query.n: invalid digit found in string",
                "type": "invalid_request_error",
                "param": "n",
                "code": null,
            } })
        );
    }

    #[test]
    fn a_closure_is_a_shape_for_rejections_and_events_too() {
        let shape = |err: &HttpError| json!({ "status": err.status().as_u16() });
        let rejection =
            Rejection::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", &["body"], "big");
        assert_eq!(shape.rejection(&rejection), json!({ "status": 413 }));
        assert_eq!(
            shape.event(&HttpError::not_found("x")),
            json!({ "status": 404 })
        );
    }
}
