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
//!
//! # Features
//!
//! | feature | what it adds | on by default |
//! |---|---|---|
//! | `openapi` | the OpenAPI document (`/openapi.json`), the `/docs` page and JSON Schemas of routes (module `openapi`, via `schemars`) | yes |
//! | `zstd` | `zstd` as a content coding of compressed streams ([`Coding`]; libzstd, built with a C compiler) | yes |
//! | `client` | [`client`]: an `EventSource` for Rust (GET/POST, `Last-Event-ID`, `retry:`, backoff, typed items) over hyper-util's client; no extra dependency | yes |
//! | `tls` | HTTPS with rustls, ALPN `h2` and `http/1.1`: `App::serve_tls`, `TlsConfig`; `https` URLs of the client | no |
//! | `redis` | a broadcast hub shared by several app instances through Redis: `Broadcast::redis` | no |
//!
//! Without default features the core stays: events, routes, extractors, the server over
//! HTTP/1.1 and h2c, compression with gzip and br, broadcast in process, the test client.
//! Every item that needs a feature says which in these docs.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod broadcast;
#[cfg(feature = "client")]
pub mod client;
mod error;
pub mod error_body;
mod event;
pub mod extract;
pub mod observability;
#[cfg(feature = "client")]
pub mod relay;
mod response;
mod server;
mod state;
mod stream;
pub mod testing;

#[doc(hidden)]
pub mod __private;
mod app;
#[cfg(feature = "openapi")]
pub mod openapi;

pub use event::{encode, parse};

pub use app::build_error::BuildError;
pub use app::cors::Cors;
pub use app::handler::Handler;
pub use app::layer;
pub use app::limits::Limits;
pub use app::{App, AppService, IntoRoute, RouteDef};
pub use error::BoxError;
pub use error_body::ErrorBody;
pub use event::into_event::IntoEvent;
pub use event::server_sent::{EventError, ServerSentEvent};
pub use event::typed::Event;
pub use extract::{Cookies, Form, Json, LastEventId, Path, Query, State};
pub use response::http_error::HttpError;
pub use response::json_lines::{IntoJsonLine, JsonLines};
pub use response::sse::Sse;
pub use response::{Created, Html, IntoResponse, Request, Response};
#[cfg(feature = "tls")]
pub use server::tls::{TlsConfig, TlsError};
pub use server::{shutdown_signal, ServeError};
pub use stream::body::Body;
pub use stream::compress::{Coding, Compression};
pub use stream::keep_alive::KeepAlive;

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
