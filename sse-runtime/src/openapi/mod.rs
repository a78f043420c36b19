//! OpenAPI documentation: an [OpenAPI 3.2](https://spec.openapis.org/oas/v3.2.0.html)
//! document of the app's routes — streaming and plain — served at `/openapi.json`, and a
//! self-contained docs page at `/docs` (no CDN, works offline).
//!
//! Only with the default-on cargo feature `openapi`; without it this module, the
//! [`schemars`] re-export and the documentation methods of
//! [`App`], [`RouteDef`] and [`AppService`](crate::AppService) do not exist,
//! and nothing of it is compiled.
//!
//! # What a route documents
//!
//! Every route is listed, with its path parameters taken from the pattern. A route with a
//! [`RouteDoc`] says more: summary and description, query, path and header parameters,
//! request body and responses, each with a JSON Schema generated from the Rust type by
//! [`schemars`] (`#[derive(JsonSchema)]`). The document is built from the
//! *types*: every extractor implements [`DescribeArg`] (`Path<T>` → path parameters,
//! `Query<T>` → one query parameter per field, `Json<T>` → request body, `LastEventId<T>`
//! → the `Last-Event-ID` header, `State<T>`/`HeaderMap`/... → nothing), every response
//! type implements [`DescribeResponse`], and every item of an event stream implements
//! [`DescribeEvent`].
//!
//! An event stream's 200 response is `text/event-stream` with an `itemSchema` describing
//! one event, the shape FastAPI emits: for typed items
//!
//! ```json
//! {"type": "object",
//!  "properties": {
//!    "data": {"type": "string", "contentMediaType": "application/json",
//!             "contentSchema": {"$ref": "#/components/schemas/Tick"}},
//!    "event": {"type": "string"}, "id": {"type": "string"},
//!    "retry": {"type": "integer", "minimum": 0}},
//!  "required": ["data"]}
//! ```
//!
//! for [`Event<T>`](crate::Event) items the same, with `data` an `anyOf` of that JSON
//! and raw text ([`Event::raw`](crate::Event::raw)), and for
//! [`ServerSentEvent`](crate::ServerSentEvent) items the same without
//! `contentMediaType`, `contentSchema` and `required`. A JSON Lines route is
//! `application/x-ndjson` whose `itemSchema` is the item's schema. Extractors that can
//! reject a request document it: 422 (and 413/415 where a body is read) with the
//! `HTTPValidationError` schema of the `{"detail": [...]}` body.
//!
//! # Hand-written routes
//!
//! [`RouteDef::documented`](crate::RouteDef::documented) reads the parameters and the response from the handler's
//! signature; [`RouteDef::with_doc`](crate::RouteDef::with_doc) adds the rest (the item type of an [`Sse`](crate::Sse)
//! stream, which its type does not carry, a summary, ...):
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use sse_runtime::schemars::JsonSchema;
//! use sse_runtime::{App, Method, Path, Query, RouteDef, Sse};
//!
//! #[derive(Serialize, JsonSchema)]
//! struct Tick { n: u64 }
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Opts { limit: Option<u32> }
//!
//! async fn ticks(Path(room): Path<String>, Query(opts): Query<Opts>) -> Sse {
//!     let limit = u64::from(opts.limit.unwrap_or(3));
//!     # let _ = room;
//!     Sse::new(futures_util::stream::iter((0..limit).map(|n| Tick { n })))
//! }
//!
//! let app = App::new().route(
//!     RouteDef::documented(Method::GET, "/rooms/{room}/ticks", ticks)
//!         .with_doc(|d| d.summary("Ticks of a room").sse::<Tick>()),
//! );
//! let doc = app.openapi();
//! let op = &doc["paths"]["/rooms/{room}/ticks"]["get"];
//! assert_eq!(op["summary"], "Ticks of a room");
//! assert_eq!(op["parameters"][0]["name"], "room");
//! assert_eq!(op["parameters"][1]["name"], "limit");
//! assert_eq!(
//!     op["responses"]["200"]["content"]["text/event-stream"]["itemSchema"]["properties"]["data"]
//!         ["contentSchema"]["$ref"],
//!     "#/components/schemas/Tick"
//! );
//! ```
//!
//! # Route attributes
//!
//! The code a route attribute generates documents its route with the [`RouteDoc`]
//! methods `operation_id("fn_name")`, `doc_comment("...")` and, per argument, item and
//! return type, what that type describes — fully when it implements [`DescribeArg`],
//! [`DescribeEvent`], `JsonSchema` or [`DescribeResponse`], as "any JSON" or not at all
//! otherwise, never a compile error (autoref specialization at the route's concrete
//! types; see `docs/openapi.md` and `sse-runtime/src/openapi/macro_support.rs`).
//!
//! # Serving
//!
//! [`App::openapi_config`](crate::App::openapi_config) serves the document (default
//! `/openapi.json`) and the docs page (default `/docs`); [`App::openapi`](crate::App::openapi)
//! and [`AppService::openapi`](crate::AppService::openapi) return it, for tests or to write
//! it to a file.

mod config;
mod describe;
mod generate;
mod model;
mod operation;
mod refs;
mod serve;

use http::Method;

use serde_json::Value;

use crate::app::handler::Handler;
use crate::app::{App, RouteDef};

pub use config::OpenApiConfig;
pub use describe::{DescribeArg, DescribeEvent, DescribeHandler, DescribeResponse};
pub use model::{In, RouteDoc, SchemaFn};
pub(crate) use serve::AppDocs;

// What this feature adds to `RouteDef` and `App`.
impl RouteDef {
    /// A route documented from its handler's signature: parameters and body from the
    /// argument types ([`DescribeArg`]), responses from the result type
    /// ([`DescribeResponse`]), the operation id from the function's name. Add the rest
    /// with [`with_doc`](Self::with_doc).
    ///
    /// ```
    /// use serde::Deserialize;
    /// use sse_runtime::schemars::JsonSchema;
    /// use sse_runtime::{App, Json, Method, Query, RouteDef};
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct Search { q: String }
    ///
    /// async fn search(Query(search): Query<Search>) -> Json<Vec<String>> {
    ///     Json(vec![search.q])
    /// }
    ///
    /// let doc = App::new().route(RouteDef::documented(Method::GET, "/search", search)).openapi();
    /// let op = &doc["paths"]["/search"]["get"];
    /// assert_eq!(op["operationId"], "search");
    /// assert_eq!(op["summary"], "Search");
    /// assert_eq!(op["parameters"][0]["name"], "q");
    /// assert_eq!(op["parameters"][0]["required"], true);
    /// assert_eq!(op["responses"]["200"]["content"]["application/json"]["schema"]["type"], "array");
    /// ```
    pub fn documented<H, M, N>(method: Method, path: impl Into<String>, handler: H) -> Self
    where
        H: Handler<M> + DescribeHandler<N>,
    {
        let doc = H::describe(RouteDoc::new().named_after::<H>());
        Self::new(method, path, handler).with_doc(|_| doc)
    }

    /// Edits the route's documentation (starting from an empty [`RouteDoc`] if it has
    /// none): `.with_doc(|d| d.summary("...").sse::<Tick>())`.
    pub fn with_doc(mut self, edit: impl FnOnce(RouteDoc) -> RouteDoc) -> Self {
        let doc = self.doc.take().map(|d| *d).unwrap_or_default();
        self.doc = Some(Box::new(edit(doc)));
        self
    }

    /// The route's documentation, if it has any.
    pub fn doc(&self) -> Option<&RouteDoc> {
        self.doc.as_deref()
    }
}

impl App {
    /// Serves the OpenAPI document (`/openapi.json` by default) and the docs page (`/docs`
    /// by default). Neither route is listed in the document.
    ///
    /// ```
    /// use sse_runtime::openapi::OpenApiConfig;
    /// use sse_runtime::{App, testing::TestClient};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let app = App::new()
    ///     .get("/health", || async { "ok" })
    ///     .openapi_config(OpenApiConfig::new("Demo", "1.0.0"));
    /// let client = TestClient::new(app.build().unwrap());
    /// let doc: serde_json::Value = client.get("/openapi.json").send().await.json().await;
    /// assert_eq!(doc["info"]["title"], "Demo");
    /// assert_eq!(doc["openapi"], "3.2.0");
    /// let page = client.get("/docs").send().await;
    /// assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    /// # });
    /// ```
    pub fn openapi_config(mut self, config: OpenApiConfig) -> Self {
        self.openapi = Some(config);
        self
    }

    /// The OpenAPI document of the routes added so far (with the default
    /// [`OpenApiConfig`] unless [`openapi_config`](Self::openapi_config) set one), e.g.
    /// to write it to a file or compare it with a snapshot.
    pub fn openapi(&self) -> Value {
        let config = self.openapi.clone().unwrap_or_default();
        generate::document(
            &config,
            self.error_schema().as_ref(),
            self.routes.iter().map(|r| (r.method(), r.path(), r.doc())),
        )
    }
}
