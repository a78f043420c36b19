//! [`HttpError`]: an error with an HTTP status, answered as JSON `{"detail": ...}`.

use std::any::Any;
use std::fmt;

use http::StatusCode;
use serde_json::Value;

use crate::response::{json_response, IntoResponse, Response};

/// An HTTP error a handler returns (or a streaming route yields as `Err`) to reject a
/// request: the client gets `status` and the JSON body `{"detail": <detail>}`, the shape
/// FastAPI's `HTTPException` uses.
///
/// In a streaming route whose items are `Result<T, HttpError>`, an `Err` before the first
/// event (within the [first-event window](crate::App::first_event_window), 10 s by
/// default) becomes this HTTP response; after it, one `event: error` event ends the stream.
///
/// ```
/// use sse_runtime::{HttpError, IntoResponse, StatusCode};
///
/// let err = HttpError::not_found("no such symbol: XYZ");
/// assert_eq!(err.status(), StatusCode::NOT_FOUND);
/// assert_eq!(err.to_string(), "no such symbol: XYZ");
/// assert_eq!(err.into_response().status(), StatusCode::NOT_FOUND);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct HttpError {
    status: StatusCode,
    detail: Value,
}

impl HttpError {
    /// An error with `status` and a text detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: Value::String(detail.into()),
        }
    }

    /// An error with `status` and a structured detail (any JSON).
    pub fn with_detail(status: StatusCode, detail: Value) -> Self {
        Self { status, detail }
    }

    /// 400 Bad Request.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 401 Unauthorized.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// 403 Forbidden.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// 404 Not Found.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 500 Internal Server Error.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, detail)
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The detail sent as `{"detail": ...}`.
    pub fn detail(&self) -> &Value {
        &self.detail
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Value::String(text) => f.write_str(text),
            other => write!(f, "{other}"),
        }
    }
}

impl std::error::Error for HttpError {}

impl IntoResponse for HttpError {
    /// `{"detail": ...}` with the error's status. The error rides along in the response's
    /// extensions, so that an app with its own [error body](crate::App::error_body)
    /// writes the body in its shape instead.
    fn into_response(self) -> Response {
        let mut response =
            json_response(self.status, &serde_json::json!({ "detail": self.detail }));
        response.extensions_mut().insert(self);
        response
    }
}

/// The status and detail an error answers with: an [`HttpError`]'s own (a structured
/// detail stays JSON), else 500 and the error's text.
pub(crate) fn status_and_detail<E: fmt::Display + 'static>(err: &E) -> (StatusCode, Value) {
    match (err as &dyn Any).downcast_ref::<HttpError>() {
        Some(http) => (http.status, http.detail.clone()),
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Value::String(err.to_string()),
        ),
    }
}
