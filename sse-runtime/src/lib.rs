//! # sse-runtime
//!
//! Serve Server-Sent Events from plain generator functions: write a function that
//! `yield`s items, and get a typed, spec-correct `text/event-stream` endpoint with
//! keep-alive, prompt cleanup when the client goes away, and graceful shutdown.
//!
//! This crate holds everything at run time — [typed events](Event) and
//! [untyped ones](ServerSentEvent), the
//! [encoder](encode), [streaming responses](Sse), the router, [extractors](extract), the
//! [server](App::serve) and a [test client](testing) — and re-exports the route attributes,
//! so it is the only dependency an app needs.
//!
//! ```no_run
//! use std::time::Duration;
//! use sse_runtime::{App, Sse, ServerSentEvent};
//!
//! async fn ticks() -> Sse {
//!     Sse::new(async_stream::stream! {
//!         for i in 0.. {
//!             yield ServerSentEvent::new().data(serde_json::json!({ "tick": i })).id(i.to_string());
//!             tokio::time::sleep(Duration::from_secs(1)).await;
//!         }
//!     })
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), sse_runtime::ServeError> {
//!     App::new().get("/ticks", ticks).serve("127.0.0.1:8000").await
//! }
//! ```
//!
//! Data flows one way: request → router → extractors → handler stream → encoder → body.
#![warn(missing_docs)]

mod app;
#[cfg(test)]
mod architecture;
mod arity;
mod body;
pub mod broadcast;
#[cfg(feature = "client")]
pub mod client;
mod coalesce;
mod compress;
mod conn;
mod cors;
pub mod encode;
mod error;
pub mod error_body;
mod event;
pub mod extract;
mod handler;
mod http_error;
mod idle;
mod into_event;
mod keep_alive;
mod layer;
mod limits;
mod ndjson;
pub mod observability;
pub mod parse;
#[cfg(feature = "client")]
pub mod relay;
mod response;
mod router;
mod server;
mod sse;
mod state;
mod stream;
mod streaming;
pub mod testing;
#[cfg(feature = "tls")]
mod tls;
mod typed_event;

#[doc(hidden)]
#[path = "openapi/macro_support.rs"]
pub mod __openapi;
#[doc(hidden)]
pub mod __private;
#[cfg(feature = "openapi")]
pub mod openapi;

pub use app::{App, AppService, InnerService, IntoRoute, RouteDef};
pub use body::Body;
pub use compress::{Coding, Compression};
pub use cors::Cors;
pub use error::BoxError;
pub use error_body::ErrorBody;
pub use event::{EventError, ServerSentEvent};
pub use extract::{Cookies, Form, Json, LastEventId, Path, Query, State};
pub use handler::Handler;
pub use http_error::HttpError;
pub use into_event::IntoEvent;
pub use keep_alive::KeepAlive;
pub use limits::Limits;
pub use ndjson::{IntoJsonLine, JsonLines, JSON_LINES_CONTENT_TYPE};
pub use response::{Created, Html, IntoResponse, Request, Response};
pub use router::BuildError;
pub use server::{shutdown_signal, ServeError};
pub use sse::{Sse, EVENT_STREAM_CONTENT_TYPE};
pub use state::DEFAULT_BODY_LIMIT;
#[cfg(feature = "tls")]
pub use tls::{TlsConfig, TlsError};
pub use typed_event::Event;

pub use http::{self, HeaderMap, Method, StatusCode};

/// The JSON Schema crate the OpenAPI document is generated with (feature `openapi`):
/// derive `JsonSchema` for the types of documented routes
/// (`use sse_runtime::schemars::JsonSchema;`, and
/// `#[schemars(crate = "sse_runtime::schemars")]` on the type when your crate does not
/// depend on `schemars` itself).
#[cfg(feature = "openapi")]
pub use schemars;

/// The generator a streaming route's body ends in, on stable Rust: `stream! { ... yield
/// item; ... }`, or `try_stream!` for `Result` items with `?` (re-exported from
/// `async-stream`; see the route attributes for the rules).
pub use async_stream::{stream, try_stream};
/// The trait of the `impl Stream<Item = T>` a streaming route returns
/// (`futures_core::Stream`, the one every async ecosystem crate shares).
pub use futures_core::Stream;
pub use sse_macros::{delete, get, patch, post, put, route, routes};
