//! Extractors: typed values a handler takes as arguments, read from the request before the
//! handler (and its stream) starts.
//!
//! Every argument but the last must implement [`FromRequestParts`] (it reads the head of
//! the request); the last may instead implement [`FromRequest`] and consume the body.
//! A failed extraction answers for the handler: 422 with a FastAPI-shaped body
//! `{"detail": [{"type": ..., "loc": [..], "msg": ..., "input": ...}]}`, 413 for a body
//! over the limit, 415 for a body of the wrong content type — never a panic.
//!
//! ```
//! use serde::Deserialize;
//! use sse_runtime::{App, Json, Path, Query, testing::TestClient};
//!
//! #[derive(Deserialize)]
//! struct Page { n: u32 }
//!
//! async fn show(Path(id): Path<u64>, Query(page): Query<Page>) -> Json<(u64, u32)> {
//!     Json((id, page.n))
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = TestClient::new(App::new().get("/items/{id}", show).build().unwrap());
//! assert_eq!(client.get("/items/7?n=2").send().await.text().await, "[7,2]");
//!
//! let bad = client.get("/items/seven?n=2").send().await;
//! assert_eq!(bad.status(), 422);
//! let body: serde_json::Value = bad.json().await;
//! assert_eq!(body["detail"][0]["loc"], serde_json::json!(["path", "id"]));
//! # });
//! ```

mod path_de;

use std::convert::Infallible;
use std::future::Future;
use std::str::FromStr;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::response::{json_response, IntoResponse, Request, Response};
use crate::state::AppState;

/// Reads a value from the head of the request (method, URI, headers, path parameters,
/// app state). Any number of such arguments may come in any order.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor that reads the request head",
    label = "cannot be extracted from the request head",
    note = "use `Path<T>`, `Query<T>`, `HeaderMap`, `LastEventId`, `State<T>`, `Method`, `Uri` or `Parts`; \
            an extractor that reads the body (`Json<T>`, `String`, `Bytes`, `Request`) must be the last argument"
)]
pub trait FromRequestParts: Sized {
    /// The response sent when extraction fails.
    type Rejection: IntoResponse;

    /// Extracts the value.
    fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

/// Marker types that keep [`FromRequest`] implementations apart.
pub mod marker {
    /// The extractor reads the whole request, body included.
    #[derive(Debug)]
    pub enum ViaRequest {}
    /// The extractor reads only the head (every [`FromRequestParts`](super::FromRequestParts)).
    #[derive(Debug)]
    pub enum ViaParts {}
}

/// Reads a value from the whole request, body included. Only the last argument of a
/// handler may be such an extractor. Every [`FromRequestParts`] is one too.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor",
    label = "cannot be extracted from the request",
    note = "handler arguments must be extractors: `Path<T>`, `Query<T>`, `Json<T>`, `HeaderMap`, \
            `LastEventId`, `State<T>`, `Method`, `Uri`, `Parts`, `String`, `Bytes` or `Request`"
)]
pub trait FromRequest<M = marker::ViaRequest>: Sized {
    /// The response sent when extraction fails.
    type Rejection: IntoResponse;

    /// Extracts the value.
    fn from_request(
        req: Request,
        state: &AppState,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

impl<T: FromRequestParts + Send> FromRequest<marker::ViaParts> for T {
    type Rejection = T::Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, _) = req.into_parts();
        T::from_request_parts(&mut parts, state).await
    }
}

/// A failed extraction: the status and FastAPI-shaped error items.
///
/// Answered as `{"detail": [{"type": "...", "loc": [...], "msg": "...", "input": ...}]}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    status: StatusCode,
    items: Vec<ErrorItem>,
}

/// One entry of a [`Rejection`]'s `detail` list.
#[derive(Clone, Debug, PartialEq, Serialize)]
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

    fn with_input(mut self, input: Option<String>) -> Self {
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
    fn into_response(self) -> Response {
        json_response(self.status, &serde_json::json!({ "detail": self.items }))
    }
}

const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

/// The decoded path parameters of the matched route, in pattern order. The router puts
/// them in the request's extensions.
#[derive(Clone, Debug, Default)]
pub struct PathParams(pub(crate) Vec<(String, String)>);

impl PathParams {
    /// The parameters as `(name, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Path parameters, deserialized: one value (`Path<u32>`), a tuple in pattern order
/// (`Path<(String, u32)>`), or a struct by name.
///
/// A value that does not parse is answered with 422 and `loc: ["path", "<name>"]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts for Path<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Rejection> {
        let empty = PathParams::default();
        let params = parts.extensions.get::<PathParams>().unwrap_or(&empty);
        path_de::from_params(&params.0).map(Path).map_err(|err| {
            let name = err.param.clone().unwrap_or_default();
            let loc: Vec<&str> = if name.is_empty() {
                vec!["path"]
            } else {
                vec!["path", &name]
            };
            Rejection::new(UNPROCESSABLE, err.kind, &loc, err.message).with_input(err.input)
        })
    }
}

/// The query string, deserialized with `serde_urlencoded` into a struct (or a map).
///
/// A missing or unparsable field is answered with 422 and `loc: ["query", "<field>"]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts for Query<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|err| serde_rejection("query", err))
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// Turns a deserialization error into a 422 naming the field.
fn serde_rejection<E: std::fmt::Display>(
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

/// The JSON request body, deserialized; also a JSON response from any `Serialize` value.
///
/// As an extractor it must be the handler's last argument. It requires
/// `content-type: application/json` (or `+json`) — otherwise 415 — and a body within the
/// app's limit (default 2 MiB) — otherwise 413. Malformed JSON or a value of the wrong
/// shape is answered with 422 and `loc: ["body", ...]`.
///
/// ```
/// use sse_runtime::{IntoResponse, Json};
///
/// let response = Json(serde_json::json!({"ok": true})).into_response();
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest for Json<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(Rejection::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content_type",
                &["header", "content-type"],
                "Expected `content-type: application/json`",
            ));
        }
        let bytes = read_body(req, state).await?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
            if err.inner().is_syntax() || err.inner().is_eof() {
                Rejection::new(
                    UNPROCESSABLE,
                    "json_invalid",
                    &["body"],
                    format!("JSON decode error: {}", err.inner()),
                )
            } else {
                serde_rejection("body", err)
            }
        })?;
        de.end().map_err(|err| {
            Rejection::new(
                UNPROCESSABLE,
                "json_invalid",
                &["body"],
                format!("JSON decode error: {err}"),
            )
        })?;
        Ok(Json(value))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        json_response(StatusCode::OK, &self.0)
    }
}

async fn read_body(req: Request, state: &AppState) -> Result<Bytes, Rejection> {
    let limit = state.body_limit();
    let too_large = || {
        Rejection::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &["body"],
            format!("Request body is larger than the limit of {limit} bytes"),
        )
    };
    // A declared length over the limit is refused before reading a byte of it.
    if http_body::Body::size_hint(req.body()).lower() > limit as u64 {
        return Err(too_large());
    }
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(err) => Err(Rejection::new(
            StatusCode::BAD_REQUEST,
            "body_read",
            &["body"],
            format!("Failed to read the request body: {err}"),
        )),
    }
}

impl FromRequest for Bytes {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        read_body(req, state).await
    }
}

impl FromRequest for String {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        let bytes = read_body(req, state).await?;
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            Rejection::new(
                StatusCode::BAD_REQUEST,
                "utf8",
                &["body"],
                "Request body is not valid UTF-8",
            )
        })
    }
}

impl FromRequest for Request {
    type Rejection = Infallible;

    async fn from_request(req: Request, _: &AppState) -> Result<Self, Infallible> {
        Ok(req)
    }
}

impl IntoResponse for Infallible {
    fn into_response(self) -> Response {
        match self {}
    }
}

impl FromRequestParts for HeaderMap {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Infallible> {
        Ok(parts.headers.clone())
    }
}

impl FromRequestParts for Method {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Infallible> {
        Ok(parts.method.clone())
    }
}

impl FromRequestParts for Uri {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Infallible> {
        Ok(parts.uri.clone())
    }
}

impl FromRequestParts for Parts {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Infallible> {
        Ok(parts.clone())
    }
}

/// The `Last-Event-ID` request header a reconnecting `EventSource` sends: `None` on a
/// first connection, `Some(id)` after a reconnect. `T` is the id's type (any `FromStr`,
/// default `String`); an id that does not parse as `T` is answered with 422 and
/// `loc: ["header", "last-event-id"]`.
///
/// ```
/// use sse_runtime::LastEventId;
///
/// let resume_from = |last: LastEventId<u64>| last.0.map_or(0, |id| id + 1);
/// assert_eq!(resume_from(LastEventId(Some(4))), 5);
/// assert_eq!(resume_from(LastEventId(None)), 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LastEventId<T = String>(pub Option<T>);

impl<T> LastEventId<T> {
    /// The id, if the client sent one.
    pub fn into_inner(self) -> Option<T> {
        self.0
    }

    /// True when the client sent an id.
    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }
}

impl<T> std::ops::Deref for LastEventId<T> {
    type Target = Option<T>;

    fn deref(&self) -> &Option<T> {
        &self.0
    }
}

/// The `Last-Event-ID` header name.
pub const LAST_EVENT_ID: &str = "last-event-id";

impl<T> FromRequestParts for LastEventId<T>
where
    T: FromStr + Send,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Rejection> {
        let Some(value) = parts.headers.get(LAST_EVENT_ID) else {
            return Ok(LastEventId(None));
        };
        let reject = |input: Option<String>| {
            Rejection::new(
                UNPROCESSABLE,
                "header_parsing",
                &["header", LAST_EVENT_ID],
                format!("Last-Event-ID should be a valid {}", short_type_name::<T>()),
            )
            .with_input(input)
        };
        let text = value
            .to_str()
            .map_err(|_| reject(Some(String::from_utf8_lossy(value.as_bytes()).into_owned())))?;
        text.trim()
            .parse::<T>()
            .map(|id| LastEventId(Some(id)))
            .map_err(|_| reject(Some(text.to_owned())))
    }
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

/// A shared value registered with [`App::state`](crate::App::state), cloned out for the
/// handler (wrap big or mutable state in an `Arc`).
///
/// A `State<T>` whose `T` was never registered is a programming error: the request is
/// answered with 500 and the log says which type is missing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromRequestParts for State<T> {
    type Rejection = Rejection;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Rejection> {
        match state.get::<T>() {
            Some(value) => Ok(State(value.clone())),
            None => {
                let name = std::any::type_name::<T>();
                tracing::error!(
                    state = name,
                    "State<{name}> requested but never registered with App::state"
                );
                Err(Rejection::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "missing_state",
                    &["state"],
                    format!("server misconfigured: no state of type `{name}` (register it with App::state)"),
                ))
            }
        }
    }
}
