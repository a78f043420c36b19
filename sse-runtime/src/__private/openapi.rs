//! The entry point of route attributes into the OpenAPI documentation, the same with the
//! `openapi` feature on or off, so generated code never depends on the feature. Not a
//! public API.
//!
//! Generated code documents a route with
//!
//! ```text
//! ::sse_runtime::__private::openapi::document(route, |__doc| {
//!     use ::sse_runtime::__private::openapi::{Described as _, Lenient as _, Undescribed as _};
//!     let __doc = __doc.operation_id("fn_name").doc_comment("...");
//!     let __doc = (&&&::sse_runtime::__private::openapi::Arg::<Path<u32>>::NEW).describe(__doc);
//!     let __doc = (&&&::sse_runtime::__private::openapi::Arg::<Query<Q>>::NEW).describe(__doc);
//!     let __doc = (&&&::sse_runtime::__private::openapi::SseItem::<Item>::NEW).describe(__doc);
//!     __doc
//! })
//! ```
//!
//! With the feature on, `d` is a [`RouteDoc`](crate::openapi::RouteDoc); with it off, `d`
//! is a no-op [`Doc`] whose methods accept any type, and the closure is never called.
//!
//! # Leniency: autoref specialization at the route's concrete types
//!
//! A route must compile whether or not its types implement `JsonSchema` (or a custom
//! extractor `DescribeArg`). Each type is wrapped in a zero-sized probe ([`Arg`],
//! [`SseItem`], [`JsonLine`], [`Response`]) and `describe` is called on `&&&probe`.
//! Method resolution tries the receiver types in order and takes the first impl whose
//! where-clauses hold — which works because the macro writes *concrete* types:
//!
//! 1. [`Described`] on `&&&P<T>`: `T` documents itself (`T: DescribeArg`,
//!    `T: DescribeEvent`, `T: JsonSchema`, `T: DescribeResponse`): the full description.
//! 2. [`Lenient`] on `&&P<T>`: a known wrapper of a type without a schema
//!    (`Json<T>`, `Query<T>`, `LastEventId<T>`, a stream item): the same shape with the
//!    schema "any JSON" (`serde_json::Value`, the schema `true`).
//! 3. [`Undescribed`] on `&P<T>`: anything else (a custom extractor without
//!    `DescribeArg`, `Path<T>` without a schema: its parameters stay the pattern's
//!    `string`s) contributes nothing; a response is a 200 without a described body.
//!
//! So a missing derive never is a compile error in a route; it only makes the document
//! vaguer. `RouteDef::documented` (hand-written routes) stays strict.

use std::marker::PhantomData;

use crate::app::RouteDef;

#[cfg(feature = "openapi")]
pub use crate::openapi::RouteDoc as Doc;

/// Attaches the documentation `edit` builds to `route`.
#[cfg(feature = "openapi")]
pub fn document(route: RouteDef, edit: impl FnOnce(Doc) -> Doc) -> RouteDef {
    route.with_doc(edit)
}

/// Without the `openapi` feature: returns `route` unchanged.
#[cfg(not(feature = "openapi"))]
pub fn document(route: RouteDef, edit: impl FnOnce(Doc) -> Doc) -> RouteDef {
    let _ = edit;
    route
}

/// Without the `openapi` feature: the documentation builder's methods, doing nothing.
#[cfg(not(feature = "openapi"))]
#[derive(Debug)]
pub struct Doc(());

#[cfg(not(feature = "openapi"))]
#[allow(missing_docs, clippy::must_use_candidate)]
impl Doc {
    pub fn summary(self, _: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        self
    }
    pub fn description(self, _: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        self
    }
    pub fn doc_comment(self, _: &str) -> Self {
        self
    }
    pub fn operation_id(self, _: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        self
    }
    pub fn tag(self, _: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        self
    }
    pub fn deprecated(self) -> Self {
        self
    }
    pub fn hidden(self) -> Self {
        self
    }
    pub fn args<A>(self) -> Self {
        self
    }
    pub fn response<R>(self) -> Self {
        self
    }
    pub fn sse<T: ?Sized>(self) -> Self {
        self
    }
    pub fn json_lines<T: ?Sized>(self) -> Self {
        self
    }
    pub fn json<T: ?Sized>(self) -> Self {
        self
    }
    pub fn body<T: ?Sized>(self) -> Self {
        self
    }
}

/// Declares a zero-sized probe type around `T`.
macro_rules! probe {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        pub struct $name<T: ?Sized>(PhantomData<fn() -> *const T>);

        impl<T: ?Sized> $name<T> {
            /// The probe.
            pub const NEW: Self = Self(PhantomData);
        }

        impl<T: ?Sized> std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($name))
            }
        }
    };
}

probe!(
    /// Probes a handler argument's type (an extractor).
    Arg
);
probe!(
    /// Probes the item type of an event stream (for `Result<T, E>` items: `T`).
    SseItem
);
probe!(
    /// Probes the item type of a JSON Lines stream (for `Result<T, E>` items: `T`).
    JsonLine
);
probe!(
    /// Probes a plain route's return type (for `Result<T, E>`, the macro probes `T` and
    /// `E` one by one).
    Response
);

/// Level 1: the type documents itself (see the module docs).
pub trait Described {
    /// Adds the type's documentation to `doc`.
    fn describe(self, doc: Doc) -> Doc;
}

/// Level 2: a known wrapper of a type without a schema: documented as any JSON.
pub trait Lenient {
    /// Adds the type's documentation, with generic schemas, to `doc`.
    fn describe(self, doc: Doc) -> Doc;
}

/// Level 3: anything else: nothing (a response: a 200 without a described body).
pub trait Undescribed {
    /// Returns `doc` (for a response: with a 200 without a described body).
    fn describe(self, doc: Doc) -> Doc;
}

#[cfg(feature = "openapi")]
mod lenient {
    use http::StatusCode;
    use schemars::JsonSchema;
    use serde_json::Value;

    use super::{Arg, Described, Doc, JsonLine, Lenient, Response, SseItem, Undescribed};
    use crate::extract::{Json, LastEventId, Query};
    use crate::openapi::{DescribeArg, DescribeEvent, DescribeResponse};

    /// "Any JSON": `serde_json::Value`, whose schema is `true`.
    type Any = Value;

    impl<T: DescribeArg> Described for &&&Arg<T> {
        fn describe(self, doc: Doc) -> Doc {
            T::describe(doc)
        }
    }
    impl<T> Lenient for &&Arg<Json<T>> {
        fn describe(self, doc: Doc) -> Doc {
            <Json<Any> as DescribeArg>::describe(doc)
        }
    }
    impl<T> Lenient for &&Arg<Query<T>> {
        fn describe(self, doc: Doc) -> Doc {
            <Query<std::collections::BTreeMap<String, Any>> as DescribeArg>::describe(doc)
        }
    }
    impl<T> Lenient for &&Arg<LastEventId<T>> {
        fn describe(self, doc: Doc) -> Doc {
            <LastEventId<Any> as DescribeArg>::describe(doc)
        }
    }
    impl<T: ?Sized> Undescribed for &Arg<T> {
        fn describe(self, doc: Doc) -> Doc {
            doc
        }
    }

    impl<T: DescribeEvent + ?Sized> Described for &&&SseItem<T> {
        fn describe(self, doc: Doc) -> Doc {
            doc.sse::<T>()
        }
    }
    impl<T: ?Sized> Lenient for &&SseItem<T> {
        fn describe(self, doc: Doc) -> Doc {
            doc.sse::<Any>()
        }
    }

    impl<T: JsonSchema + ?Sized> Described for &&&JsonLine<T> {
        fn describe(self, doc: Doc) -> Doc {
            doc.json_lines::<T>()
        }
    }
    /// A JSON Lines stream of `Event<T>` writes the payloads: its items are `T`s.
    impl<T: JsonSchema> Described for &&&JsonLine<crate::event::typed::Event<T>> {
        fn describe(self, doc: Doc) -> Doc {
            doc.json_lines::<T>()
        }
    }
    impl<T: ?Sized> Lenient for &&JsonLine<T> {
        fn describe(self, doc: Doc) -> Doc {
            doc.json_lines::<Any>()
        }
    }

    impl<R: DescribeResponse> Described for &&&Response<R> {
        fn describe(self, doc: Doc) -> Doc {
            doc.response::<R>()
        }
    }
    impl<T> Lenient for &&Response<Json<T>> {
        fn describe(self, doc: Doc) -> Doc {
            doc.json::<Any>()
        }
    }
    impl<T> Lenient for &&Response<(StatusCode, Json<T>)> {
        fn describe(self, doc: Doc) -> Doc {
            doc.json::<Any>()
        }
    }
    impl<T> Lenient for &&Response<crate::Created<Json<T>>> {
        fn describe(self, doc: Doc) -> Doc {
            doc.json::<Any>()
                .success_status(StatusCode::CREATED, "Created")
        }
    }
    impl<T: ?Sized> Undescribed for &Response<T> {
        fn describe(self, doc: Doc) -> Doc {
            doc.response::<()>()
        }
    }
}

/// Without the `openapi` feature every probe is [`Described`], doing nothing.
#[cfg(not(feature = "openapi"))]
mod lenient {
    use super::{Arg, Described, Doc, JsonLine, Response, SseItem};

    impl<T: ?Sized> Described for &&&Arg<T> {
        fn describe(self, doc: Doc) -> Doc {
            doc
        }
    }
    impl<T: ?Sized> Described for &&&SseItem<T> {
        fn describe(self, doc: Doc) -> Doc {
            doc
        }
    }
    impl<T: ?Sized> Described for &&&JsonLine<T> {
        fn describe(self, doc: Doc) -> Doc {
            doc
        }
    }
    impl<T: ?Sized> Described for &&&Response<T> {
        fn describe(self, doc: Doc) -> Doc {
            doc
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{App, Json, LastEventId, Method, Path, Query, RouteDef, ServerSentEvent, Sse};

    /// A `JsonSchema` type with the feature on, a plain one with it off.
    #[derive(serde::Deserialize, serde::Serialize)]
    #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
    struct Item {
        n: u32,
    }

    async fn handler(_: Path<u32>, _: Query<Item>, _: LastEventId<u64>, _: Json<Item>) -> Sse {
        Sse::new(futures_util::stream::empty::<ServerSentEvent>())
    }

    /// The shape of the code a route attribute generates compiles with the feature on and
    /// off, and documents the route when it is on.
    #[test]
    fn generated_code_compiles_with_and_without_the_feature() {
        let route = super::document(RouteDef::new(Method::POST, "/x/{id}", handler), |d| {
            d.operation_id("handler")
                .doc_comment(" Streams items.")
                .args::<(Path<u32>, Query<Item>, LastEventId<u64>, Json<Item>)>()
                .sse::<Item>()
        });
        let app = App::new().route(route);
        #[cfg(feature = "openapi")]
        {
            let doc = app.openapi();
            let op = &doc["paths"]["/x/{id}"]["post"];
            assert_eq!(op["summary"], "Streams items.");
            assert_eq!(op["parameters"].as_array().map(Vec::len), Some(3));
            assert_eq!(
                op["responses"]["200"]["content"]["text/event-stream"]["itemSchema"]["properties"]
                    ["data"]["contentSchema"]["$ref"],
                "#/components/schemas/Item"
            );
        }
        assert!(app.build().is_ok());
    }

    /// Neither `JsonSchema` nor `DescribeArg` (with the feature on or off).
    #[derive(serde::Deserialize, serde::Serialize)]
    struct Plain {
        n: u32,
    }

    /// A custom extractor without a `DescribeArg` impl.
    struct Custom;

    impl crate::extract::FromRequestParts for Custom {
        type Rejection = crate::HttpError;
        async fn from_request_parts(
            _: &mut http::request::Parts,
            _: &crate::extract::AppState,
        ) -> Result<Self, Self::Rejection> {
            Ok(Self)
        }
    }

    /// Exactly the shape of the code a route attribute generates, at types without any
    /// description: it compiles, and documents them as "any JSON" (or not at all).
    #[test]
    #[allow(clippy::needless_borrow)] // the `&&&` selects the impl
    fn types_without_schemas_are_documented_leniently() {
        // As in generated code: with the feature off, only `Described` is used.
        use super::{Arg, JsonLine, Response, SseItem};
        #[allow(unused_imports)]
        use super::{Described as _, Lenient as _, Undescribed as _};

        async fn lenient(_: Custom, _: Query<Plain>, _: Json<Plain>) -> Sse {
            Sse::new(futures_util::stream::empty::<ServerSentEvent>())
        }
        let document = |path: &'static str, result: u8| {
            super::document(RouteDef::new(Method::POST, path, lenient), move |__doc| {
                let __doc = __doc.operation_id(path).doc_comment(" Lenient.");
                let __doc = (&&&Arg::<Custom>::NEW).describe(__doc);
                let __doc = (&&&Arg::<Path<Plain>>::NEW).describe(__doc);
                let __doc = (&&&Arg::<Query<Plain>>::NEW).describe(__doc);
                let __doc = (&&&Arg::<LastEventId<Plain>>::NEW).describe(__doc);
                let __doc = (&&&Arg::<Json<Plain>>::NEW).describe(__doc);
                match result {
                    0 => {
                        let __doc = (&&&SseItem::<Plain>::NEW).describe(__doc);
                        (&&&Response::<crate::HttpError>::NEW).describe(__doc)
                    }
                    1 => (&&&JsonLine::<Plain>::NEW).describe(__doc),
                    2 => (&&&Response::<Json<Plain>>::NEW).describe(__doc),
                    _ => (&&&Response::<crate::Created<Json<Plain>>>::NEW).describe(__doc),
                }
            })
        };
        let app = App::new()
            .route(document("/sse/{n}", 0))
            .route(document("/lines", 1))
            .route(document("/json", 2))
            .route(document("/created", 3));
        #[cfg(feature = "openapi")]
        {
            use serde_json::json;
            let doc = app.openapi();
            let op = &doc["paths"]["/sse/{n}"]["post"];
            assert_eq!(op["summary"], "Lenient.");
            let params: Vec<(&str, &str)> = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
                .collect();
            assert_eq!(
                params,
                [
                    ("n", "path"),
                    ("params", "query"),
                    ("Last-Event-ID", "header")
                ]
            );
            assert_eq!(
                op["requestBody"]["content"]["application/json"]["schema"],
                json!(true)
            );
            let sse = &op["responses"]["200"]["content"]["text/event-stream"]["itemSchema"];
            assert_eq!(sse["properties"]["data"]["contentSchema"], json!(true));
            assert_eq!(
                op["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/HTTPError"
            );
            let ok = |path: &str| doc["paths"][path]["post"]["responses"]["200"]["content"].clone();
            assert_eq!(
                ok("/lines")["application/x-ndjson"]["itemSchema"],
                json!(true)
            );
            assert_eq!(ok("/json")["application/json"]["schema"], json!(true));
            let created = &doc["paths"]["/created"]["post"]["responses"];
            assert_eq!(created["201"]["description"], "Created");
            assert_eq!(
                created["201"]["content"]["application/json"]["schema"],
                json!(true)
            );
            assert!(created.get("200").is_none(), "{created}");
        }
        assert!(app.build().is_ok());
    }
}
