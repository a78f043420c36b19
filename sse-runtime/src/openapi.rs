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
//! and for [`ServerSentEvent`] items the same without
//! `contentMediaType`, `contentSchema` and `required`. A JSON Lines route is
//! `application/x-ndjson` whose `itemSchema` is the item's schema. Extractors that can
//! reject a request document it: 422 (and 413/415 where a body is read) with the
//! `HTTPValidationError` schema of the `{"detail": [...]}` body.
//!
//! # Hand-written routes
//!
//! [`RouteDef::documented`] reads the parameters and the response from the handler's
//! signature; [`RouteDef::with_doc`] adds the rest (the item type of an [`Sse`]
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

mod generate;

use std::borrow::Cow;
use std::future::Future;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Method, StatusCode, Uri};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;

use crate::app::{App, RouteDef};
use crate::event::ServerSentEvent;
use crate::extract::{Json, LastEventId, Path, Query, Rejection, State};
use crate::handler::Handler;
use crate::http_error::HttpError;
use crate::ndjson::JsonLines;
use crate::response::{Created, Html, Request, Response};
use crate::sse::Sse;

pub(crate) use generate::AppDocs;

/// A function that generates the JSON Schema of one type (a `$ref` for named types, whose
/// definition the generator collects into `components/schemas`).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn subschema<T: JsonSchema + ?Sized>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// The type's own schema, never a `$ref` (for `Query` and `Path` structs, whose fields
/// become parameters).
fn expanded<T: JsonSchema + ?Sized>(generator: &mut SchemaGenerator) -> Schema {
    T::json_schema(generator)
}

/// Where a parameter is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum In {
    /// A path parameter (`{name}` in the pattern); always required.
    Path,
    /// A query string parameter.
    Query,
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
}

impl In {
    fn as_str(self) -> &'static str {
        match self {
            In::Path => "path",
            In::Query => "query",
            In::Header => "header",
            In::Cookie => "cookie",
        }
    }
}

#[derive(Clone, Debug)]
enum ParamDoc {
    /// One named parameter.
    One {
        location: In,
        name: Cow<'static, str>,
        schema: SchemaFn,
        required: Option<bool>,
        description: Option<Cow<'static, str>>,
    },
    /// One parameter per property of a struct (`Query<T>`).
    Fields { location: In, schema: SchemaFn },
    /// The path parameters, matched with the pattern's names (`Path<T>`).
    Path(SchemaFn),
}

#[derive(Clone, Debug)]
struct BodyDoc {
    content_type: Cow<'static, str>,
    schema: SchemaFn,
    required: bool,
}

/// What a response's media type holds.
#[derive(Clone, Debug)]
enum MediaDoc {
    /// A `schema`.
    Schema(SchemaFn),
    /// Typed Server-Sent Events: `itemSchema` with a `contentSchema`.
    SseTyped(SchemaFn),
    /// Untyped Server-Sent Events ([`ServerSentEvent`] items).
    SseAny,
    /// A sequence of JSON documents (`itemSchema`).
    Items(SchemaFn),
    /// A sequence of JSON documents of any shape.
    AnyItems,
    /// One of the runtime's own error bodies (a component this module writes).
    Builtin(Builtin),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Builtin {
    /// `{"detail": [{"type","loc","msg","input"}]}`, a [`Rejection`].
    ValidationError,
    /// `{"detail": ...}`, an [`HttpError`].
    HttpError,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum StatusKey {
    Code(u16),
    Default,
}

#[derive(Clone, Debug)]
struct ResponseDoc {
    status: StatusKey,
    description: Cow<'static, str>,
    content: Vec<(Cow<'static, str>, MediaDoc)>,
}

/// The documentation of one route: what [`RouteDef::with_doc`] and [`RouteDef::doc`]
/// attach, and what the route's operation in the OpenAPI document is built from.
///
/// Schemas are not generated here: each method records *which type* to describe, and the
/// schemas are generated when the document is built, all routes sharing one
/// `components/schemas`. Request-side types are described as they deserialize, response
/// types as they serialize; a type whose two schemas differ appears twice, as
/// `Name-Input` and `Name-Output` (as FastAPI does).
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use sse_runtime::openapi::{In, RouteDoc};
/// use sse_runtime::schemars::JsonSchema;
/// use sse_runtime::{App, Json, LastEventId, Method, Path, RouteDef, Sse, StatusCode};
///
/// #[derive(Serialize, JsonSchema)]
/// struct Quote { symbol: String, price: f64 }
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Filter { min: f64 }
///
/// async fn quotes(Path(symbol): Path<String>, last: LastEventId<u64>, Json(filter): Json<Filter>) -> Sse {
///     # let _ = (symbol, last, filter);
///     Sse::new(futures_util::stream::empty::<Quote>())
/// }
///
/// let doc = RouteDoc::new()
///     .doc_comment(" Live quotes of a symbol.\n\n Prices at or above `min`, as they change.")
///     .operation_id("quotes")
///     .tag("market")
///     .args::<(Path<String>, LastEventId<u64>, Json<Filter>)>()
///     .describe_param("symbol", "The ticker, e.g. `ACME`")
///     .param::<bool>(In::Query, "verbose")
///     .error(StatusCode::NOT_FOUND, "No such symbol")
///     .sse::<Quote>();
/// let app = App::new().route(RouteDef::new(Method::POST, "/quotes/{symbol}", quotes).doc(doc));
///
/// let op = &app.openapi()["paths"]["/quotes/{symbol}"]["post"];
/// assert_eq!(op["summary"], "Live quotes of a symbol.");
/// assert_eq!(op["description"], "Prices at or above `min`, as they change.");
/// let names: Vec<&str> = op["parameters"].as_array().unwrap().iter()
///     .map(|p| p["name"].as_str().unwrap()).collect();
/// assert_eq!(names, ["symbol", "Last-Event-ID", "verbose"]);
/// assert_eq!(op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
///            "#/components/schemas/Filter");
/// let statuses: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
/// assert_eq!(statuses, ["200", "404", "413", "415", "422"]);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct RouteDoc {
    summary: Option<Cow<'static, str>>,
    description: Option<Cow<'static, str>>,
    operation_id: Option<Cow<'static, str>>,
    tags: Vec<Cow<'static, str>>,
    deprecated: bool,
    hidden: bool,
    params: Vec<ParamDoc>,
    param_descriptions: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    body: Option<BodyDoc>,
    responses: Vec<ResponseDoc>,
}

impl RouteDoc {
    /// Empty documentation: the operation gets its path parameters from the pattern and a
    /// generic 200 response.
    pub fn new() -> Self {
        Self::default()
    }

    /// The one-line `summary`.
    pub fn summary(mut self, summary: impl Into<Cow<'static, str>>) -> Self {
        self.summary = Some(summary.into());
        self
    }

    /// The longer `description` (CommonMark).
    pub fn description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets summary and description from a doc comment, as written after `///` (lines
    /// joined with `\n`, the space after `///` kept or not): the first paragraph, joined
    /// into one line, becomes the `summary`; the rest, with the common indentation
    /// removed, the `description`. Blank text sets nothing.
    ///
    /// ```
    /// use sse_runtime::openapi::RouteDoc;
    /// use sse_runtime::{App, RouteDef, Method};
    ///
    /// let doc = RouteDoc::new().doc_comment(" Streams ticks.\n\n One per second.\n   - indented");
    /// let app = App::new().route(RouteDef::new(Method::GET, "/t", || async { "" }).doc(doc));
    /// let op = &app.openapi()["paths"]["/t"]["get"];
    /// assert_eq!(op["summary"], "Streams ticks.");
    /// assert_eq!(op["description"], "One per second.\n  - indented");
    /// ```
    pub fn doc_comment(mut self, text: &str) -> Self {
        let lines: Vec<&str> = text.lines().collect();
        let indent = lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        let lines: Vec<&str> = lines
            .iter()
            .map(|l| l.get(indent..).unwrap_or("").trim_end())
            .collect();
        let mut rest = lines.iter().skip_while(|l| l.is_empty()).peekable();
        let mut summary = Vec::new();
        while let Some(line) = rest.next_if(|l| !l.is_empty()) {
            summary.push(line.trim());
        }
        let description: Vec<&str> = rest.copied().skip_while(|l| l.is_empty()).collect();
        let description = description.join("\n");
        if !summary.is_empty() {
            self.summary = Some(summary.join(" ").into());
        }
        if !description.trim().is_empty() {
            self.description = Some(description.trim_end().to_owned().into());
        }
        self
    }

    /// The `operationId` (default: derived from method and path, made unique). Also gives
    /// the `summary` when none is set: `list_items` → "List Items".
    pub fn operation_id(mut self, id: impl Into<Cow<'static, str>>) -> Self {
        self.operation_id = Some(id.into());
        self
    }

    /// Adds a tag (the docs page groups operations by their first tag).
    pub fn tag(mut self, tag: impl Into<Cow<'static, str>>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Marks the operation deprecated.
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// Leaves the route out of the document (it is still served).
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// Documents a handler's arguments from their types: one extractor (`args::<Query<Q>>()`)
    /// or a tuple of them in argument order (`args::<(Path<u32>, Query<Q>, Json<B>)>()`).
    /// See [`DescribeArg`] for what each extractor adds.
    pub fn args<A: DescribeArg>(self) -> Self {
        A::describe(self)
    }

    /// Documents the response from the handler's return type (see [`DescribeResponse`]),
    /// e.g. `response::<Json<Item>>()` or `response::<Result<String, HttpError>>()`.
    pub fn response<R: DescribeResponse>(self) -> Self {
        R::describe(self)
    }

    /// Documents the route as an event stream of `T` items: 200 `text/event-stream` with
    /// an `itemSchema` (see [`DescribeEvent`]). For a stream of `Result<T, E>`, name `T`.
    pub fn sse<T: DescribeEvent + ?Sized>(self) -> Self {
        let media = match T::data_schema() {
            Some(schema) => MediaDoc::SseTyped(schema),
            None => MediaDoc::SseAny,
        };
        self.ok_content("text/event-stream", media)
    }

    /// Documents the route as a JSON Lines stream of `T` items: 200
    /// `application/x-ndjson` whose `itemSchema` is `T`'s schema. For a stream of
    /// `Result<T, E>`, name `T`.
    pub fn json_lines<T: JsonSchema + ?Sized>(self) -> Self {
        self.ok_content(
            crate::JSON_LINES_CONTENT_TYPE,
            MediaDoc::Items(subschema::<T>),
        )
    }

    /// Documents a 200 `application/json` response of `T` (same as
    /// `response::<Json<T>>()`).
    pub fn json<T: JsonSchema + ?Sized>(self) -> Self {
        self.ok_content("application/json", MediaDoc::Schema(subschema::<T>))
    }

    /// Documents a JSON request body of `T` (same as `args::<Json<T>>()`).
    pub fn body<T: JsonSchema + ?Sized>(self) -> Self {
        self.json_body(subschema::<T>)
    }

    /// Documents one parameter of type `T`. A path parameter is always required; another
    /// one is required unless its schema admits `null` (an `Option<T>`).
    pub fn param<T: JsonSchema + ?Sized>(
        mut self,
        location: In,
        name: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.params.push(ParamDoc::One {
            location,
            name: name.into(),
            schema: subschema::<T>,
            required: None,
            description: None,
        });
        self
    }

    /// Sets the `description` of the parameter(s) called `name` — one documented with
    /// [`param`](Self::param), a field of a `Query` struct or a path parameter.
    pub fn describe_param(
        mut self,
        name: impl Into<Cow<'static, str>>,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.param_descriptions
            .push((name.into(), description.into()));
        self
    }

    /// Documents an error response `status` whose body is an [`HttpError`]'s
    /// `{"detail": ...}` (for errors the handler returns, e.g. 404).
    pub fn error(self, status: StatusCode, description: impl Into<Cow<'static, str>>) -> Self {
        self.set_response(ResponseDoc {
            status: StatusKey::Code(status.as_u16()),
            description: description.into(),
            content: vec![(
                "application/json".into(),
                MediaDoc::Builtin(Builtin::HttpError),
            )],
        })
    }

    /// Sets the description of the 200 response (default "Successful Response").
    pub fn response_description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
        let description = description.into();
        match self.ok_mut() {
            Some(ok) => ok.description = description,
            None => self.responses.push(ResponseDoc {
                status: StatusKey::Code(200),
                description,
                content: Vec::new(),
            }),
        }
        self
    }

    /// Moves the success response (documented as `200` by the response types) to
    /// `status`, with `description` unless one was set with
    /// [`response_description`](Self::response_description). [`Created`] does this for
    /// `201`.
    pub fn success_status(
        mut self,
        status: StatusCode,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        let code = status.as_u16();
        let description = description.into();
        match self.ok_mut() {
            Some(ok) => {
                ok.status = StatusKey::Code(code);
                if ok.description == "Successful Response" {
                    ok.description = description;
                }
            }
            None => self.responses.push(ResponseDoc {
                status: StatusKey::Code(code),
                description,
                content: Vec::new(),
            }),
        }
        self
    }

    /// A description from a handler's type name: the last path segment, unless it is a
    /// closure. Sets the operation id when none is set.
    fn named_after<H>(mut self) -> Self {
        let full = std::any::type_name::<H>();
        let name = full.rsplit("::").next().unwrap_or(full);
        let is_ident = !name.is_empty()
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if self.operation_id.is_none() && is_ident {
            self.operation_id = Some(name.to_owned().into());
        }
        self
    }

    fn ok_mut(&mut self) -> Option<&mut ResponseDoc> {
        self.responses
            .iter_mut()
            .find(|r| r.status == StatusKey::Code(200))
    }

    fn ok_content(mut self, content_type: &'static str, media: MediaDoc) -> Self {
        let content = vec![(Cow::Borrowed(content_type), media)];
        match self.ok_mut() {
            Some(ok) => ok.content = content,
            None => self.responses.push(ResponseDoc {
                status: StatusKey::Code(200),
                description: "Successful Response".into(),
                content,
            }),
        }
        self
    }

    fn ok_empty(mut self) -> Self {
        if self.ok_mut().is_none() {
            self.responses.push(ResponseDoc {
                status: StatusKey::Code(200),
                description: "Successful Response".into(),
                content: Vec::new(),
            });
        }
        self
    }

    fn set_response(mut self, response: ResponseDoc) -> Self {
        self.responses.retain(|r| r.status != response.status);
        self.responses.push(response);
        self
    }

    fn rejection(self, status: StatusCode, description: &'static str) -> Self {
        if self
            .responses
            .iter()
            .any(|r| r.status == StatusKey::Code(status.as_u16()))
        {
            return self;
        }
        self.set_response(ResponseDoc {
            status: StatusKey::Code(status.as_u16()),
            description: description.into(),
            content: vec![(
                "application/json".into(),
                MediaDoc::Builtin(Builtin::ValidationError),
            )],
        })
    }

    fn validation(self) -> Self {
        self.rejection(StatusCode::UNPROCESSABLE_ENTITY, "Validation Error")
    }

    fn json_body(mut self, schema: SchemaFn) -> Self {
        self.body = Some(BodyDoc {
            content_type: "application/json".into(),
            schema,
            required: true,
        });
        self.rejection(StatusCode::PAYLOAD_TOO_LARGE, "Content Too Large")
            .rejection(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type")
            .validation()
    }

    fn raw_body(mut self, content_type: &'static str, schema: SchemaFn) -> Self {
        self.body = Some(BodyDoc {
            content_type: content_type.into(),
            schema,
            required: false,
        });
        self.rejection(StatusCode::BAD_REQUEST, "Bad Request")
            .rejection(StatusCode::PAYLOAD_TOO_LARGE, "Content Too Large")
    }
}

/// An extractor (handler argument) that documents what it reads: parameters, a request
/// body, the error responses of its rejections.
///
/// Implemented for every extractor of this crate and for tuples of up to 12 of them.
/// Implement it for your own extractors — the default documents nothing, so
/// `impl DescribeArg for MyExtractor {}` is enough:
///
/// ```
/// use sse_runtime::openapi::{DescribeArg, RouteDoc};
/// use sse_runtime::StatusCode;
///
/// struct User; // an extractor that reads a bearer token
///
/// impl DescribeArg for User {
///     fn describe(doc: RouteDoc) -> RouteDoc {
///         doc.error(StatusCode::UNAUTHORIZED, "Missing or invalid token")
///     }
/// }
/// ```
///
/// | extractor | documents |
/// | --- | --- |
/// | `Path<T>` | the pattern's path parameters, typed by `T` (a value, a tuple in pattern order, or a struct by name); 422 |
/// | `Query<T>` | one query parameter per field of `T` (required unless it has a default or is an `Option`); 422 |
/// | `Json<T>` | a required `application/json` body of `T`; 413, 415, 422 |
/// | `LastEventId<T>` | the optional `Last-Event-ID` header, typed by `T`; 422 |
/// | `String` / `Bytes` | a `text/plain` / `application/octet-stream` body; 400, 413 |
/// | `State<T>`, `HeaderMap`, `Method`, `Uri`, `Parts`, `Request` | nothing |
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be documented as a handler argument",
    label = "no OpenAPI description",
    note = "the types of `Path<T>`, `Query<T>`, `Json<T>` and `LastEventId<T>` must derive \
            `JsonSchema` (`use sse_runtime::schemars::JsonSchema`); a custom extractor needs \
            `impl sse_runtime::openapi::DescribeArg for {Self} {{}}`; or turn off the \
            `openapi` feature of `sse-runtime`"
)]
pub trait DescribeArg {
    /// Adds what this extractor reads to `doc` (default: nothing).
    fn describe(doc: RouteDoc) -> RouteDoc {
        doc
    }
}

impl<T: JsonSchema> DescribeArg for Path<T> {
    fn describe(mut doc: RouteDoc) -> RouteDoc {
        doc.params.push(ParamDoc::Path(expanded::<T>));
        doc.validation()
    }
}

impl<T: JsonSchema> DescribeArg for Query<T> {
    fn describe(mut doc: RouteDoc) -> RouteDoc {
        doc.params.push(ParamDoc::Fields {
            location: In::Query,
            schema: expanded::<T>,
        });
        doc.validation()
    }
}

impl<T: JsonSchema> DescribeArg for Json<T> {
    fn describe(doc: RouteDoc) -> RouteDoc {
        doc.json_body(subschema::<T>)
    }
}

impl<T: JsonSchema> DescribeArg for LastEventId<T> {
    fn describe(mut doc: RouteDoc) -> RouteDoc {
        doc.params.push(ParamDoc::One {
            location: In::Header,
            name: "Last-Event-ID".into(),
            schema: subschema::<T>,
            required: Some(false),
            description: Some(
                "The `id` of the last event received, sent by a reconnecting `EventSource` \
                 so the stream can resume after it."
                    .into(),
            ),
        });
        doc.validation()
    }
}

impl DescribeArg for String {
    fn describe(doc: RouteDoc) -> RouteDoc {
        doc.raw_body("text/plain", subschema::<String>)
    }
}

fn binary_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "string", "contentMediaType": "application/octet-stream"})
}

impl DescribeArg for Bytes {
    fn describe(doc: RouteDoc) -> RouteDoc {
        doc.raw_body("application/octet-stream", binary_schema)
    }
}

impl<T> DescribeArg for State<T> {}
impl DescribeArg for HeaderMap {}
impl DescribeArg for Method {}
impl DescribeArg for Uri {}
impl DescribeArg for Parts {}
impl DescribeArg for Request {}

macro_rules! describe_tuple {
    ($($t:ident),*) => {
        impl<$($t: DescribeArg),*> DescribeArg for ($($t,)*) {
            #[allow(unused_mut)]
            fn describe(mut doc: RouteDoc) -> RouteDoc {
                $(doc = $t::describe(doc);)*
                doc
            }
        }
    };
}

describe_tuple!();
describe_tuple!(T1);
describe_tuple!(T1, T2);
describe_tuple!(T1, T2, T3);
describe_tuple!(T1, T2, T3, T4);
describe_tuple!(T1, T2, T3, T4, T5);
describe_tuple!(T1, T2, T3, T4, T5, T6);
describe_tuple!(T1, T2, T3, T4, T5, T6, T7);
describe_tuple!(T1, T2, T3, T4, T5, T6, T7, T8);
describe_tuple!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
describe_tuple!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
describe_tuple!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
describe_tuple!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);

/// A handler's return type, documenting its responses.
///
/// | type | documents |
/// | --- | --- |
/// | `Json<T>` | 200 `application/json` of `T` |
/// | `String`, `&'static str` | 200 `text/plain` |
/// | `Html<T>` | 200 `text/html` |
/// | `Bytes` | 200 `application/octet-stream` |
/// | `Sse` | 200 `text/event-stream` of untyped events (name the item with [`RouteDoc::sse`]) |
/// | `JsonLines` | 200 `application/x-ndjson` of any JSON (name the item with [`RouteDoc::json_lines`]) |
/// | `Result<T, E>` | `T`'s responses and `E`'s |
/// | `HttpError` | a `default` error response `{"detail": ...}` |
/// | `(StatusCode, T)` | `T`'s responses (the status is only known at run time: prefer [`Created`]) |
/// | `Created<T>` | `T`'s success response, under `201 Created` |
/// | `()`, `StatusCode`, `Response` | a 200 without a described body |
///
/// Your own response types implement it with an empty impl (a 200 without a described
/// body) or describe themselves:
///
/// ```
/// use sse_runtime::openapi::{DescribeResponse, RouteDoc};
///
/// struct Csv(String);
///
/// impl DescribeResponse for Csv {
///     fn describe(doc: RouteDoc) -> RouteDoc {
///         doc.response_description("A CSV file")
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be documented as a response",
    label = "no OpenAPI description",
    note = "a `Json<T>` response needs `T: JsonSchema`; a custom response type needs \
            `impl sse_runtime::openapi::DescribeResponse for {Self} {{}}`"
)]
pub trait DescribeResponse {
    /// Adds this type's responses to `doc` (default: a 200 without a described body).
    fn describe(doc: RouteDoc) -> RouteDoc {
        doc.ok_empty()
    }
}

impl<T: JsonSchema> DescribeResponse for Json<T> {
    fn describe(doc: RouteDoc) -> RouteDoc {
        doc.json::<T>()
    }
}

impl DescribeResponse for String {
    fn describe(doc: RouteDoc) -> RouteDoc {
        doc.ok_content("text/plain", MediaDoc::Schema(subschema::<String>))
    }
}

impl DescribeResponse for &'static str {
    fn describe(doc: RouteDoc) -> RouteDoc {
        <String as DescribeResponse>::describe(doc)
    }
}

impl<T> DescribeResponse for Html<T> {
    fn describe(doc: RouteDoc) -> RouteDoc {
        doc.ok_content("text/html", MediaDoc::Schema(subschema::<String>))
    }
}

impl DescribeResponse for Bytes {
    fn describe(doc: RouteDoc) -> RouteDoc {
        doc.ok_content("application/octet-stream", MediaDoc::Schema(binary_schema))
    }
}

impl DescribeResponse for Sse {
    fn describe(doc: RouteDoc) -> RouteDoc {
        if doc.has_ok_content() {
            return doc;
        }
        doc.sse::<ServerSentEvent>()
    }
}

impl DescribeResponse for JsonLines {
    fn describe(doc: RouteDoc) -> RouteDoc {
        if doc.has_ok_content() {
            return doc;
        }
        doc.ok_content(crate::JSON_LINES_CONTENT_TYPE, MediaDoc::AnyItems)
    }
}

impl RouteDoc {
    /// True when a 200 response with content was documented already (so an untyped `Sse`
    /// return type does not overwrite the item type given with [`RouteDoc::sse`]).
    fn has_ok_content(&self) -> bool {
        self.responses
            .iter()
            .any(|r| r.status == StatusKey::Code(200) && !r.content.is_empty())
    }
}

impl<T: DescribeResponse, E: DescribeResponse> DescribeResponse for Result<T, E> {
    fn describe(doc: RouteDoc) -> RouteDoc {
        E::describe(T::describe(doc))
    }
}

impl<T: DescribeResponse> DescribeResponse for Created<T> {
    fn describe(doc: RouteDoc) -> RouteDoc {
        T::describe(doc).success_status(StatusCode::CREATED, "Created")
    }
}

impl<T: DescribeResponse> DescribeResponse for (StatusCode, T) {
    fn describe(doc: RouteDoc) -> RouteDoc {
        T::describe(doc)
    }
}

impl DescribeResponse for HttpError {
    fn describe(doc: RouteDoc) -> RouteDoc {
        if doc.responses.iter().any(|r| r.status == StatusKey::Default) {
            return doc;
        }
        doc.set_response(ResponseDoc {
            status: StatusKey::Default,
            description: "Error".into(),
            content: vec![(
                "application/json".into(),
                MediaDoc::Builtin(Builtin::HttpError),
            )],
        })
    }
}

impl DescribeResponse for Rejection {
    fn describe(doc: RouteDoc) -> RouteDoc {
        doc.validation()
    }
}

impl DescribeResponse for () {}
impl DescribeResponse for StatusCode {}
impl DescribeResponse for Response {}

/// The item type of an event stream, documented as the `itemSchema` of its
/// `text/event-stream` response.
///
/// Every `T: JsonSchema` (sent as JSON `data:`) has a typed item schema whose `data` has
/// `contentMediaType: application/json` and `contentSchema: <T's schema>`;
/// [`ServerSentEvent`] items get the generic event schema.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be documented as an event stream item",
    label = "no JSON Schema",
    note = "derive `JsonSchema` for the item type (`use sse_runtime::schemars::JsonSchema`), \
            or yield `ServerSentEvent`s"
)]
pub trait DescribeEvent {
    /// The schema of the event's `data` (as JSON), or `None` for events of any data.
    fn data_schema() -> Option<SchemaFn>;
}

impl<T: JsonSchema + ?Sized> DescribeEvent for T {
    fn data_schema() -> Option<SchemaFn> {
        Some(subschema::<T>)
    }
}

impl DescribeEvent for ServerSentEvent {
    fn data_schema() -> Option<SchemaFn> {
        None
    }
}

/// A broadcast subscription's items: `data` is the published value's JSON, or — for the
/// [`reset`](crate::broadcast::RESET_EVENT) event that announces a gap —
/// `{"last_event_id": "..."}`.
impl<T: JsonSchema> DescribeEvent for crate::broadcast::Message<T> {
    fn data_schema() -> Option<SchemaFn> {
        Some(broadcast_message_schema::<T>)
    }
}

fn broadcast_message_schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    let published = generator.subschema_for::<T>();
    schemars::json_schema!({
        "anyOf": [
            published,
            {
                "description": "With `event: reset`: events after this id are no longer \
                                buffered; reload the state, then resume live.",
                "type": "object",
                "properties": { "last_event_id": { "type": "string" } },
                "required": ["last_event_id"]
            }
        ]
    })
}

/// A handler function whose arguments and result document themselves: every argument
/// implements [`DescribeArg`] and the result [`DescribeResponse`]. Used by
/// [`RouteDef::documented`]; implemented for every such `async fn` (not for the unit
/// structs of route attributes, which document themselves).
///
/// `M` is a marker (`fn(T1, T2) -> R`) that keeps the implementations apart.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be documented from its signature",
    label = "an argument or the result has no OpenAPI description",
    note = "every argument must implement `sse_runtime::openapi::DescribeArg` and the result \
            `DescribeResponse`; a handler returning `impl IntoResponse` can use \
            `RouteDef::new(..).with_doc(..)` instead"
)]
pub trait DescribeHandler<M> {
    /// Adds the arguments' and the result's documentation to `doc`.
    fn describe(doc: RouteDoc) -> RouteDoc;
}

macro_rules! describe_handler {
    ($($t:ident),*) => {
        impl<F, Fut, R, $($t,)*> DescribeHandler<fn($($t,)*) -> R> for F
        where
            F: FnOnce($($t,)*) -> Fut,
            Fut: Future<Output = R>,
            R: DescribeResponse,
            $($t: DescribeArg,)*
        {
            fn describe(doc: RouteDoc) -> RouteDoc {
                R::describe(<($($t,)*) as DescribeArg>::describe(doc))
            }
        }
    };
}

describe_handler!();
describe_handler!(T1);
describe_handler!(T1, T2);
describe_handler!(T1, T2, T3);
describe_handler!(T1, T2, T3, T4);
describe_handler!(T1, T2, T3, T4, T5);
describe_handler!(T1, T2, T3, T4, T5, T6);
describe_handler!(T1, T2, T3, T4, T5, T6, T7);
describe_handler!(T1, T2, T3, T4, T5, T6, T7, T8);
describe_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
describe_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
describe_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
describe_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);

/// Where and under which title the app serves its OpenAPI document and docs page; given
/// to [`App::openapi_config`].
///
/// ```
/// use sse_runtime::openapi::OpenApiConfig;
///
/// let config = OpenApiConfig::new("Market data", "1.2.0")
///     .description("Live quotes over Server-Sent Events.")
///     .path("/api/openapi.json")
///     .docs_path("/api/docs");
/// # let _ = config;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct OpenApiConfig {
    pub(crate) title: String,
    pub(crate) version: String,
    pub(crate) description: Option<String>,
    pub(crate) path: String,
    pub(crate) docs_path: Option<String>,
}

impl Default for OpenApiConfig {
    /// Title "API", version "0.1.0", the document at `/openapi.json`, the docs at `/docs`.
    fn default() -> Self {
        Self::new("API", "0.1.0")
    }
}

impl OpenApiConfig {
    /// `info.title` and `info.version` of the document; the document at `/openapi.json`,
    /// the docs page at `/docs`.
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            version: version.into(),
            description: None,
            path: "/openapi.json".to_owned(),
            docs_path: Some("/docs".to_owned()),
        }
    }

    /// `info.description` (CommonMark).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The path the document is served at (default `/openapi.json`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The path the docs page is served at (default `/docs`).
    pub fn docs_path(mut self, path: impl Into<String>) -> Self {
        self.docs_path = Some(path.into());
        self
    }

    /// Serves the document only, no docs page.
    pub fn without_docs_page(mut self) -> Self {
        self.docs_path = None;
        self
    }
}

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
        Self::new(method, path, handler).doc(doc)
    }

    /// Replaces the route's documentation.
    pub fn doc(mut self, doc: RouteDoc) -> Self {
        self.doc = Some(Box::new(doc));
        self
    }

    /// Edits the route's documentation (starting from an empty [`RouteDoc`] if it has
    /// none): `.with_doc(|d| d.summary("...").sse::<Tick>())`.
    pub fn with_doc(mut self, edit: impl FnOnce(RouteDoc) -> RouteDoc) -> Self {
        let doc = self.doc.take().map(|d| *d).unwrap_or_default();
        self.doc = Some(Box::new(edit(doc)));
        self
    }

    /// The route's documentation, if it has any.
    pub fn route_doc(&self) -> Option<&RouteDoc> {
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
            self.routes
                .iter()
                .map(|r| (r.method(), r.path(), r.route_doc())),
        )
    }
}
