//! The documentation model: [`RouteDoc`], what one route documents, recorded as *which
//! types* to describe; `generate.rs` turns it into the document.

use std::borrow::Cow;

use http::StatusCode;
use schemars::{JsonSchema, Schema, SchemaGenerator};

/// A function that generates the JSON Schema of one type (a `$ref` for named types, whose
/// definition the generator collects into `components/schemas`).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

pub(super) fn subschema<T: JsonSchema + ?Sized>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// The type's own schema, never a `$ref` (for `Query` and `Path` structs, whose fields
/// become parameters).
pub(super) fn expanded<T: JsonSchema + ?Sized>(generator: &mut SchemaGenerator) -> Schema {
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
    pub(super) fn as_str(self) -> &'static str {
        match self {
            In::Path => "path",
            In::Query => "query",
            In::Header => "header",
            In::Cookie => "cookie",
        }
    }
}

#[derive(Clone, Debug)]
pub(super) enum ParamDoc {
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
pub(super) struct BodyDoc {
    pub(super) content_type: Cow<'static, str>,
    pub(super) schema: SchemaFn,
    pub(super) required: bool,
}

/// What a response's media type holds.
#[derive(Clone, Debug)]
pub(super) enum MediaDoc {
    /// A `schema`.
    Schema(SchemaFn),
    /// Typed Server-Sent Events: `itemSchema` with a `contentSchema`; `raw_text` when
    /// `data` may also be text that is not JSON ([`Event::raw`](crate::Event::raw)).
    SseTyped { schema: SchemaFn, raw_text: bool },
    /// Untyped Server-Sent Events ([`ServerSentEvent`](crate::ServerSentEvent) items).
    SseAny,
    /// A sequence of JSON documents (`itemSchema`).
    Items(SchemaFn),
    /// A sequence of JSON documents of any shape.
    AnyItems,
    /// One of the runtime's own error bodies (a component this module writes).
    Builtin(Builtin),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Builtin {
    /// `{"detail": [{"type","loc","msg","input"}]}`, a [`Rejection`](crate::extract::Rejection).
    ValidationError,
    /// `{"detail": ...}`, an [`HttpError`](crate::HttpError).
    HttpError,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum StatusKey {
    Code(u16),
    Default,
}

#[derive(Clone, Debug)]
pub(super) struct ResponseDoc {
    pub(super) status: StatusKey,
    pub(super) description: Cow<'static, str>,
    pub(super) content: Vec<(Cow<'static, str>, MediaDoc)>,
}

/// The documentation of one route: what [`RouteDef::with_doc`](crate::RouteDef::with_doc) and [`RouteDef::doc`](crate::RouteDef::doc)
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
/// let app = App::new().route(RouteDef::new(Method::POST, "/quotes/{symbol}", quotes).with_doc(|_| doc));
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
    pub(super) summary: Option<Cow<'static, str>>,
    pub(super) description: Option<Cow<'static, str>>,
    pub(super) operation_id: Option<Cow<'static, str>>,
    pub(super) tags: Vec<Cow<'static, str>>,
    pub(super) deprecated: bool,
    pub(super) hidden: bool,
    pub(super) params: Vec<ParamDoc>,
    pub(super) param_descriptions: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    pub(super) body: Option<BodyDoc>,
    pub(super) responses: Vec<ResponseDoc>,
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
    /// let app = App::new().route(RouteDef::new(Method::GET, "/t", || async { "" }).with_doc(|_| doc));
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

    /// Documents the route as a JSON Lines stream of `T` items: 200
    /// `application/x-ndjson` whose `itemSchema` is `T`'s schema. For a stream of
    /// `Result<T, E>`, name `T`.
    pub fn json_lines<T: JsonSchema + ?Sized>(self) -> Self {
        self.ok_content(
            crate::JsonLines::CONTENT_TYPE,
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

    /// Documents an error response `status` whose body is an [`HttpError`](crate::HttpError)'s
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
    /// [`response_description`](Self::response_description). [`Created`](crate::Created) does this for
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
    pub(super) fn named_after<H>(mut self) -> Self {
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

    pub(super) fn ok_mut(&mut self) -> Option<&mut ResponseDoc> {
        self.responses
            .iter_mut()
            .find(|r| r.status == StatusKey::Code(200))
    }

    pub(super) fn ok_content(mut self, content_type: &'static str, media: MediaDoc) -> Self {
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

    pub(super) fn ok_empty(mut self) -> Self {
        if self.ok_mut().is_none() {
            self.responses.push(ResponseDoc {
                status: StatusKey::Code(200),
                description: "Successful Response".into(),
                content: Vec::new(),
            });
        }
        self
    }

    pub(super) fn set_response(mut self, response: ResponseDoc) -> Self {
        self.responses.retain(|r| r.status != response.status);
        self.responses.push(response);
        self
    }

    pub(super) fn rejection(self, status: StatusCode, description: &'static str) -> Self {
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

    pub(super) fn validation(self) -> Self {
        self.rejection(StatusCode::UNPROCESSABLE_ENTITY, "Validation Error")
    }

    pub(super) fn json_body(self, schema: SchemaFn) -> Self {
        self.typed_body("application/json", schema)
    }

    /// A required body of a typed content type (JSON, a form): 413, 415 and 422.
    pub(super) fn typed_body(mut self, content_type: &'static str, schema: SchemaFn) -> Self {
        self.body = Some(BodyDoc {
            content_type: content_type.into(),
            schema,
            required: true,
        });
        self.rejection(StatusCode::PAYLOAD_TOO_LARGE, "Content Too Large")
            .rejection(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type")
            .validation()
    }

    pub(super) fn raw_body(mut self, content_type: &'static str, schema: SchemaFn) -> Self {
        self.body = Some(BodyDoc {
            content_type: content_type.into(),
            schema,
            required: false,
        });
        self.rejection(StatusCode::BAD_REQUEST, "Bad Request")
            .rejection(StatusCode::PAYLOAD_TOO_LARGE, "Content Too Large")
    }
}

impl RouteDoc {
    /// True when a 200 response with content was documented already (so an untyped `Sse`
    /// return type does not overwrite the item type given with [`RouteDoc::sse`]).
    pub(super) fn has_ok_content(&self) -> bool {
        self.responses
            .iter()
            .any(|r| r.status == StatusKey::Code(200) && !r.content.is_empty())
    }
}
