//! The `Describe*` traits: how an extractor ([`DescribeArg`]), a response type
//! ([`DescribeResponse`]), a stream item ([`DescribeEvent`]) and a whole handler
//! ([`DescribeHandler`]) add themselves to a [`RouteDoc`], with their impls for this
//! crate's types.

use std::future::Future;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Method, StatusCode, Uri};
use schemars::{JsonSchema, Schema, SchemaGenerator};

use super::model::{
    expanded, subschema, Builtin, In, MediaDoc, ParamDoc, ResponseDoc, RouteDoc, SchemaFn,
    StatusKey,
};
use crate::app::arity::for_each_arity;
use crate::event::server_sent::ServerSentEvent;
use crate::event::typed::Event;
use crate::extract::{Cookies, Form, Json, LastEventId, Path, Query, Rejection, State};
use crate::response::http_error::HttpError;
use crate::response::json_lines::JsonLines;
use crate::response::sse::Sse;
use crate::response::{Created, Html, Request, Response};

// The `RouteDoc` methods that take a described type.
impl RouteDoc {
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
            Some(schema) => MediaDoc::SseTyped {
                schema,
                raw_text: T::may_send_raw_text(),
            },
            None => MediaDoc::SseAny,
        };
        self.ok_content("text/event-stream", media)
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
/// | `Cookies<T>` | one cookie parameter (`in: cookie`) per field of `T` (required unless it has a default or is an `Option`); 422 |
/// | `Json<T>` | a required `application/json` body of `T`; 413, 415, 422 |
/// | `Form<T>` | a required `application/x-www-form-urlencoded` body of `T`; 413, 415, 422 |
/// | `LastEventId<T>` | the optional `Last-Event-ID` header, typed by `T`; 422 |
/// | `String` / `Bytes` | a `text/plain` / `application/octet-stream` body; 400, 413 |
/// | `State<T>`, `HeaderMap`, `Method`, `Uri`, `Parts`, `Request` | nothing |
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be documented as a handler argument",
    label = "no OpenAPI description",
    note = "the types of `Path<T>`, `Query<T>`, `Cookies<T>`, `Json<T>`, `Form<T>` and `LastEventId<T>` must derive \
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

/// One parameter in `location` per field of `T` (as `Query` and `Cookies` read them); 422.
fn field_params<T: JsonSchema>(mut doc: RouteDoc, location: In) -> RouteDoc {
    doc.params.push(ParamDoc::Fields {
        location,
        schema: expanded::<T>,
    });
    doc.validation()
}

impl<T: JsonSchema> DescribeArg for Query<T> {
    fn describe(doc: RouteDoc) -> RouteDoc {
        field_params::<T>(doc, In::Query)
    }
}

impl<T: JsonSchema> DescribeArg for Cookies<T> {
    fn describe(doc: RouteDoc) -> RouteDoc {
        field_params::<T>(doc, In::Cookie)
    }
}

impl<T: JsonSchema> DescribeArg for Json<T> {
    fn describe(doc: RouteDoc) -> RouteDoc {
        doc.json_body(subschema::<T>)
    }
}

impl<T: JsonSchema> DescribeArg for Form<T> {
    fn describe(doc: RouteDoc) -> RouteDoc {
        doc.typed_body("application/x-www-form-urlencoded", subschema::<T>)
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

for_each_arity!(describe_tuple);

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
        doc.ok_content(crate::JsonLines::CONTENT_TYPE, MediaDoc::AnyItems)
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
/// [`Event<T>`](crate::Event) has `T`'s, and its `data` says that it may also be raw text
/// ([`Event::raw`](crate::Event::raw), e.g. `[DONE]`);
/// [`ServerSentEvent`](crate::ServerSentEvent) items get the generic event schema.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be documented as an event stream item",
    label = "no JSON Schema",
    note = "derive `JsonSchema` for the item type or the payload of an `Event<T>` \
            (`use sse_runtime::schemars::JsonSchema`), or yield `ServerSentEvent`s"
)]
pub trait DescribeEvent {
    /// The schema of the event's `data` (as JSON), or `None` for events of any data.
    fn data_schema() -> Option<SchemaFn>;

    /// True when an event's `data` may also be text that is not JSON (default: false).
    fn may_send_raw_text() -> bool {
        false
    }
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

/// `data` is `T`'s JSON, or raw text sent with [`Event::raw`](crate::Event::raw).
impl<T: JsonSchema> DescribeEvent for Event<T> {
    fn data_schema() -> Option<SchemaFn> {
        Some(subschema::<T>)
    }

    fn may_send_raw_text() -> bool {
        true
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
/// [`RouteDef::documented`](crate::RouteDef::documented); implemented for every such `async fn` (not for the unit
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

for_each_arity!(describe_handler);
