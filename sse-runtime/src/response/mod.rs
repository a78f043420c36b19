//! [`IntoResponse`]: what a handler may return, and the plain responses ([`Html`], text,
//! status codes, `Result`s).

pub(crate) mod http_error;
pub(crate) mod json_lines;
pub(crate) mod sse;
pub(crate) mod streaming;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::StatusCode;

use crate::stream::body::Body;

/// The request every handler receives, with a type-erased body.
pub type Request = http::Request<Body>;

/// The response every handler produces.
pub type Response = http::Response<Body>;

/// Turns a handler's return value into a [`Response`].
///
/// Implemented for event streams ([`Sse`](crate::Sse)), JSON Lines
/// ([`JsonLines`](crate::JsonLines)), [`Json`](crate::Json), [`Html`], `String`,
/// `&'static str`, [`StatusCode`], `(StatusCode, T)`, `()`, [`Response`],
/// [`HttpError`](crate::HttpError), and `Result<T, E>` where both sides are responses.
///
/// ```
/// use sse_runtime::{IntoResponse, StatusCode};
///
/// let response = (StatusCode::CREATED, "made").into_response();
/// assert_eq!(response.status(), StatusCode::CREATED);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a route",
    label = "not a response",
    note = "return `Json<T>`, `String`, `&'static str`, a `StatusCode`, a `Response`, \
            `Result<T, HttpError>`, or make the route stream with `sse`"
)]
pub trait IntoResponse {
    /// Builds the response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = self;
        response
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        StatusCode::OK.into_response()
    }
}

fn text(body: Body) -> Response {
    let mut response = Response::new(body);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        text(self.into())
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        text(self.into())
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        let mut response = Response::new(self.into());
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        response
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        *response.status_mut() = self.0;
        response
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(ok) => ok.into_response(),
            Err(err) => err.into_response(),
        }
    }
}

/// An HTML page: `content-type: text/html; charset=utf-8`.
///
/// ```
/// use sse_runtime::{Html, IntoResponse};
///
/// let response = Html("<h1>hi</h1>").into_response();
/// assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Html<T>(pub T);

impl<T: Into<Body>> IntoResponse for Html<T> {
    fn into_response(self) -> Response {
        let mut response = Response::new(self.0.into());
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    }
}

/// `201 Created` with `T`'s response: the answer of a route that creates something.
///
/// Unlike `(StatusCode::CREATED, body)`, the status is in the type, so the OpenAPI
/// document lists the route's success response under `201` (FastAPI's `status_code=201`).
///
/// ```
/// use serde::Serialize;
/// use sse_runtime::{post, App, Created, Json, testing::TestClient};
///
/// #[derive(Serialize)]
/// struct Posted { id: u64 }
///
/// #[post("/messages")]
/// async fn post_message(text: String) -> Created<Json<Posted>> {
///     Created(Json(Posted { id: text.len() as u64 }))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let client = TestClient::new(App::new().route(post_message));
/// let response = client.post("/messages").body("hello").send().await;
/// assert_eq!(response.status(), 201);
/// assert_eq!(response.text().await, r#"{"id":5}"#);
/// # });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Created<T>(pub T);

impl<T: IntoResponse> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        *response.status_mut() = StatusCode::CREATED;
        response
    }
}

/// A JSON response body from any `Serialize` value, with a status.
pub(crate) fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => {
            let mut response = Response::new(bytes.into());
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "response failed to serialize as JSON");
            let mut response =
                Response::new(r#"{"detail":"response failed to serialize as JSON"}"#.into());
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
    }
}
