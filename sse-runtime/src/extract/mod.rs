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

mod body;
mod cookie;
mod form;
mod json;
mod last_event_id;
mod path;
mod query;
mod rejection;
mod requirements;
mod state;
mod urlencoded;

use std::future::Future;

use http::request::Parts;
use http::{HeaderMap, Method, Uri};
use std::convert::Infallible;

use crate::response::{IntoResponse, Request};

pub use crate::state::AppState;
pub use cookie::Cookies;
pub use form::Form;
pub use json::Json;
pub use last_event_id::{LastEventId, LAST_EVENT_ID};
pub use path::{Path, PathParams};
pub use query::Query;
pub use rejection::{ErrorItem, Rejection};
pub use requirements::Requirements;
pub use state::State;

/// Reads a value from the head of the request (method, URI, headers, path parameters,
/// app state). Any number of such arguments may come in any order.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an extractor that reads the request head",
    label = "cannot be extracted from the request head",
    note = "use `Path<T>`, `Query<T>`, `Cookies<T>`, `HeaderMap`, `LastEventId`, `State<T>`, `Method`, `Uri` or `Parts`; \
            an extractor that reads the body (`Json<T>`, `Form<T>`, `String`, `Bytes`, `Request`) must be the last argument"
)]
pub trait FromRequestParts: Sized {
    /// The response sent when extraction fails.
    type Rejection: IntoResponse;

    /// Extracts the value.
    fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;

    /// Declares what the extractor needs from the app (a state type, the shape of the
    /// path parameters), checked when the app is built; nothing by default.
    fn requirements(requirements: &mut Requirements) {
        let _ = requirements;
    }
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
    note = "handler arguments must be extractors: `Path<T>`, `Query<T>`, `Cookies<T>`, `Json<T>`, `Form<T>`, `HeaderMap`, \
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

    /// Declares what the extractor needs from the app, as
    /// [`FromRequestParts::requirements`] does; nothing by default.
    fn requirements(requirements: &mut Requirements) {
        let _ = requirements;
    }
}

impl<T: FromRequestParts + Send> FromRequest<marker::ViaParts> for T {
    type Rejection = T::Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, _) = req.into_parts();
        T::from_request_parts(&mut parts, state).await
    }

    fn requirements(requirements: &mut Requirements) {
        <T as FromRequestParts>::requirements(requirements);
    }
}

// The request's own parts, as they are.

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
