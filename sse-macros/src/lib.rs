//! Route attributes for [`sse-runtime`](https://docs.rs/sse-runtime): `#[get]`, `#[post]`,
//! `#[put]`, `#[patch]`, `#[delete]` and the general `#[route]`.
//!
//! Depend on `sse-runtime` only: it re-exports these attributes (`sse_runtime::get`, ...)
//! and everything the generated code needs, so a user crate needs no other dependency.
//!
//! ```
//! use std::time::Duration;
//! use serde::Serialize;
//! use sse_runtime::{get, stream, App, Path, Stream};
//!
//! #[derive(Serialize)]
//! struct StockUpdate { symbol: String, price: f64 }
//!
//! /// Streams a quote for `symbol` every second.
//! #[get("/stocks/{symbol}/stream", sse, keep_alive = "15s")]
//! async fn stocks(Path(symbol): Path<String>) -> impl Stream<Item = StockUpdate> {
//!     stream! {
//!         loop {
//!             yield StockUpdate { symbol: symbol.clone(), price: 42.0 };
//!             tokio::time::sleep(Duration::from_secs(1)).await;
//!         }
//!     }
//! }
//!
//! let app = App::new().route(stocks);
//! # let _ = app;
//! ```
//!
//! # Syntax
//!
//! ```text
//! #[get("/path", OPTIONS...)]        also #[post], #[put], #[patch], #[delete]
//! #[route(METHOD, "/path", OPTIONS...)]   METHOD: GET POST PUT PATCH DELETE HEAD OPTIONS TRACE CONNECT
//! ```
//!
//! The path uses the router's syntax: `{param}` for one segment, `{*rest}` for the rest of
//! the path (last only), `{{` / `}}` for literal braces. It is checked at compile time:
//! a missing leading `/`, an unclosed or empty `{}`, two parameters in one segment, a
//! repeated name or a catch-all that is not last is an error on the string literal.
//!
//! | option | meaning |
//! | --- | --- |
//! | `sse` | the route streams Server-Sent Events (`text/event-stream`) |
//! | `ndjson` | the route streams JSON Lines (`application/x-ndjson`): one compact JSON document per line, flushed per item |
//! | `keep_alive = "15s"` | (`sse` only) a `: ping` comment after this long without an event; units `ms`, `s`, `m`, `h`; overrides [`App::keep_alive`](https://docs.rs/sse-runtime/latest/sse_runtime/struct.App.html#method.keep_alive) |
//! | `keep_alive = off` | (`sse` only) no keep-alive comments (also `false` or `"off"`) |
//! | `retry = "3s"` | (`sse` only) sends `retry: 3000` first: how long a browser waits before reconnecting |
//! | `first_event_window = "0s"` | (`sse` or `ndjson`) how long the response headers wait for the first item (an `Err` within it is an HTTP status); overrides [`App::first_event_window`](https://docs.rs/sse-runtime/latest/sse_runtime/struct.App.html#method.first_event_window) (10 s); `"0s"`: headers at once, for a stream that may stay silent at first (a broadcast subscription in a generator) |
//!
//! Without `sse` or `ndjson` the route is a plain one: it returns anything that implements
//! `IntoResponse` (`Json<T>`, `String`, `StatusCode`, `Result<T, HttpError>`, ...), so one
//! family of attributes serves a whole app.
//!
//! # What the attribute generates
//!
//! For `#[get("/p/{id}", sse)] pub async fn f(Path(id): Path<u32>) -> impl Stream<Item = T>`:
//!
//! - `pub struct f;` — a unit struct with the function's name, visibility and doc
//!   comments, which [`App::route`](https://docs.rs/sse-runtime/latest/sse_runtime/struct.App.html#method.route)
//!   accepts (it implements `IntoRoute`, and `Handler`, so `App::get("/other", f)` works too);
//! - `f::call(Path(3))` — the function itself, with the same signature: a streaming route's
//!   `call` returns (a future of, when `async`) the `impl Stream<Item = T>` — the items,
//!   before any encoding — which a unit test can collect; a plain route's `call` returns
//!   its result as written. No extraction happens: you pass the extractor values.
//!
//! Attributes on the function other than doc comments (`#[allow]`, `#[tracing::instrument]`, ...)
//! go on `call`; `#[cfg]`s go on every generated item. Because `f` is a unit struct, a
//! local variable in the same module cannot be named `f` too (as with actix-web).
//! `docs/expansion.md` in the repository walks through one expansion line by line.
//!
//! # Streaming bodies
//!
//! - **A generator**: a streaming route's body ends in `stream! { ... }` (re-exported as
//!   `sse_runtime::stream`) whose statements `yield` items. The attribute checks that
//!   block: each `yield value` is checked against the item type `T` of
//!   `-> impl Stream<Item = T>`, so a value of another type is an error on that value;
//!   `yield` inside a closure, an `async` block or a nested `fn` is an error saying why
//!   (those are separate functions); `return;` ends the stream. Code before the block runs
//!   when the request arrives, before the response starts.
//! - **Why the `stream!` block**: stable rustc rejects the `yield` keyword ("yield syntax
//!   is experimental") while *parsing* a function, before any attribute runs, even one
//!   that removes it; only a macro's tokens escape that check. So either end the body in
//!   `stream! { ... }`, or put the route inside [`routes! { ... }`](routes!), which parses
//!   the functions itself and lets their bodies `yield` directly. On a toolchain whose parser
//!   accepts `yield` (nightly, with the feature its error names), the block may be left out:
//!   a body with bare `yield`s is wrapped into the generator by the attribute, with the
//!   same checks, and becomes a `try_stream!` when its items are `Result`s and it uses `?`.
//! - **No generator**: the body returns a stream value itself (a broadcast subscription,
//!   `futures::stream::iter(..)`, ...), optionally after `.await`ing something.
//! - **Extractors run first**: the arguments are extracted before the function is called,
//!   so a malformed path, query or body gets the extractor's 4xx response, never an empty
//!   stream.
//! - **`Result` items reject requests**: with `-> impl Stream<Item = Result<T, E>>`
//!   (`E: Display`, e.g. [`HttpError`](https://docs.rs/sse-runtime/latest/sse_runtime/struct.HttpError.html),
//!   which carries a status), an `Err` before the first event — within the first-event
//!   window, 10 s by default — becomes an HTTP error response with that status (500 for
//!   other error types) and a JSON body `{"detail": ...}`; an `Err` after the first event
//!   (or after the window) becomes one `event: error` (for `ndjson`, an `{"error": ...}`
//!   line) and ends the stream. The headers wait for the first item up to that window;
//!   `first_event_window = "0s"` sends them at once.
//!   - In `try_stream! { ... }` (`sse_runtime::try_stream`), `yield value` yields `T`
//!     (wrapped in `Ok`) and `?` ends the stream with `Err(e.into())`; reject explicitly
//!     with `Err(HttpError::not_found("..."))?;`. `?` inside a plain `stream!` is an error
//!     that says so.
//!   - In `stream! { ... }`, `yield` takes the whole item: `yield Ok(value)` /
//!     `yield Err(error)`.
//!   - `Result` is recognised by name (`Result<T, E>`, `io::Result<T>`, `anyhow::Result<T>`):
//!     a type alias with another name is a plain item type.
//!
//! # Compile-time checks
//!
//! Mistakes are reported on the user's code, as sentences: an argument that is not an
//! extractor, or a body extractor (`Json<T>`, `String`, `Bytes`, `Request`) that is not
//! last, on that argument; an item type that is neither `Serialize` nor `ServerSentEvent`
//! on the return type; a missing `-> impl Stream<Item = T>`, a `yield` without `sse`, an
//! unknown option, a bad path, a method with `self`, or the attribute on something that
//! is not a function, each with its own message. The macro itself never panics.

mod ast;
mod attr;
mod errors;
mod expand;
mod path;
mod pattern;
mod recover;
mod route;
mod routes;
mod valid;
mod yield_scan;

use proc_macro::TokenStream;

/// A `GET` route (which also answers `HEAD`).
///
/// `#[get("/path", options...)]`; see the [crate docs](crate) for the options and the
/// rules of streaming bodies.
///
/// ```
/// use serde::Serialize;
/// use sse_runtime::{get, stream, App, Json, Path, Stream, testing::TestClient};
///
/// #[derive(Serialize)]
/// struct Tick { n: u32 }
///
/// /// Counts to `to`.
/// #[get("/count/{to}", sse)]
/// async fn count(Path(to): Path<u32>) -> impl Stream<Item = Tick> {
///     stream! {
///         for n in 1..=to {
///             yield Tick { n };
///         }
///     }
/// }
///
/// #[get("/health")]
/// async fn health() -> Json<&'static str> {
///     Json("ok")
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let client = TestClient::new(App::new().route(count).route(health));
/// let body = client.get("/count/2").send().await.text().await;
/// assert_eq!(body, "data: {\"n\":1}\n\ndata: {\"n\":2}\n\n");
/// assert_eq!(client.get("/health").send().await.text().await, "\"ok\"");
///
/// // The function itself, without HTTP:
/// use futures_util::StreamExt;
/// let ticks: Vec<Tick> = count::call(Path(3)).await.collect().await;
/// assert_eq!(ticks.len(), 3);
/// # });
/// ```
#[proc_macro_attribute]
pub fn get(attr: TokenStream, item: TokenStream) -> TokenStream {
    route::attribute("get", Some("GET"), attr, item)
}

/// A `POST` route.
///
/// `#[post("/path", options...)]`; see the [crate docs](crate) for the options.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use sse_runtime::{post, try_stream, App, HttpError, Json, Stream, testing::TestClient};
///
/// #[derive(Deserialize)]
/// struct Prompt { words: Vec<String> }
///
/// #[derive(Serialize)]
/// struct Token { text: String }
///
/// /// Echoes the prompt word by word; an empty prompt is a 400.
/// #[post("/complete", sse)]
/// async fn complete(Json(prompt): Json<Prompt>) -> impl Stream<Item = Result<Token, HttpError>> {
///     try_stream! {
///         if prompt.words.is_empty() {
///             Err(HttpError::bad_request("empty prompt"))?;
///         }
///         for text in prompt.words {
///             yield Token { text };
///         }
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let client = TestClient::new(App::new().route(complete));
/// let ok = client.post("/complete").json(&serde_json::json!({"words": ["a", "b"]})).send().await;
/// assert_eq!(ok.text().await, "data: {\"text\":\"a\"}\n\ndata: {\"text\":\"b\"}\n\n");
/// let empty = client.post("/complete").json(&serde_json::json!({"words": []})).send().await;
/// assert_eq!(empty.status(), 400);
/// assert_eq!(empty.text().await, r#"{"detail":"empty prompt"}"#);
/// # });
/// ```
#[proc_macro_attribute]
pub fn post(attr: TokenStream, item: TokenStream) -> TokenStream {
    route::attribute("post", Some("POST"), attr, item)
}

/// A `PUT` route.
///
/// `#[put("/path", options...)]`; see the [crate docs](crate) for the options.
///
/// ```
/// use sse_runtime::{put, App, Path, StatusCode};
///
/// #[put("/items/{id}")]
/// async fn replace(Path(id): Path<u32>, body: String) -> (StatusCode, String) {
///     (StatusCode::CREATED, format!("{id}: {body}"))
/// }
///
/// let app = App::new().route(replace);
/// # let _ = app;
/// ```
#[proc_macro_attribute]
pub fn put(attr: TokenStream, item: TokenStream) -> TokenStream {
    route::attribute("put", Some("PUT"), attr, item)
}

/// A `PATCH` route.
///
/// `#[patch("/path", options...)]`; see the [crate docs](crate) for the options.
///
/// ```
/// use serde::Deserialize;
/// use sse_runtime::{patch, App, Json, Path};
///
/// #[derive(Deserialize)]
/// struct Rename { name: String }
///
/// #[patch("/items/{id}")]
/// async fn rename(Path(id): Path<u32>, Json(change): Json<Rename>) -> String {
///     format!("{id} is now {}", change.name)
/// }
///
/// let app = App::new().route(rename);
/// # let _ = app;
/// ```
#[proc_macro_attribute]
pub fn patch(attr: TokenStream, item: TokenStream) -> TokenStream {
    route::attribute("patch", Some("PATCH"), attr, item)
}

/// A `DELETE` route.
///
/// `#[delete("/path", options...)]`; see the [crate docs](crate) for the options.
///
/// ```
/// use sse_runtime::{delete, App, Path, StatusCode};
///
/// #[delete("/items/{id}")]
/// async fn remove(Path(_id): Path<u32>) -> StatusCode {
///     StatusCode::NO_CONTENT
/// }
///
/// let app = App::new().route(remove);
/// # let _ = app;
/// ```
#[proc_macro_attribute]
pub fn delete(attr: TokenStream, item: TokenStream) -> TokenStream {
    route::attribute("delete", Some("DELETE"), attr, item)
}

/// A route for any method: `#[route(METHOD, "/path", options...)]`, where `METHOD` is
/// one of `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`, `OPTIONS`, `TRACE`, `CONNECT`
/// (any case; a string literal works too). See the [crate docs](crate) for the options.
///
/// ```
/// use sse_runtime::{route, App, Stream, testing::TestClient};
///
/// /// Streams numbers as JSON Lines.
/// #[route(GET, "/numbers", ndjson)]
/// fn numbers() -> impl Stream<Item = u32> {
///     futures_util::stream::iter([1, 2, 3])
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let client = TestClient::new(App::new().route(numbers));
/// let response = client.get("/numbers").send().await;
/// assert_eq!(response.header("content-type"), Some("application/x-ndjson"));
/// assert_eq!(response.text().await, "1\n2\n3\n");
/// # });
/// ```
#[proc_macro_attribute]
pub fn route(attr: TokenStream, item: TokenStream) -> TokenStream {
    route::attribute("route", None, attr, item)
}

/// Route functions with bare `yield`, on stable Rust.
///
/// Stable rustc rejects the `yield` keyword while it parses a function, before a route
/// attribute can rewrite it ("yield syntax is experimental"); a function-like macro's
/// tokens escape that check. Wrap route functions in `routes! { ... }` and their bodies
/// may `yield` directly, without a `stream! { ... }` block:
///
/// ```
/// use serde::Serialize;
/// use sse_runtime::{routes, App, Path, Stream, testing::TestClient};
///
/// #[derive(Serialize)]
/// struct Tick { n: u32 }
///
/// routes! {
///     /// Counts to `to`.
///     #[get("/count/{to}", sse)]
///     async fn count(Path(to): Path<u32>) -> impl Stream<Item = Tick> {
///         for n in 1..=to {
///             yield Tick { n };
///         }
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let client = TestClient::new(App::new().route(count));
/// let body = client.get("/count/2").send().await.text().await;
/// assert_eq!(body, "data: {\"n\":1}\n\ndata: {\"n\":2}\n\n");
/// # });
/// ```
///
/// Inside the block:
///
/// - a function with one route attribute (`#[get]`, `#[post]`, `#[put]`, `#[patch]`,
///   `#[delete]`, `#[route]`, also path-qualified as `#[sse_runtime::get]`) expands exactly
///   as the attribute does outside it, with the same options and the same compile-time
///   checks: each `yield` is checked against the declared `Item` type (an error points at
///   the yielded value), a body whose items are `Result`s and that uses `?` becomes a
///   `try_stream!`, and `yield` inside a closure, an `async` block or a nested `fn` is an
///   error saying why. The attributes need not be imported;
/// - any other item (structs, helper functions, `use`s, impls) is passed through
///   unchanged; `yield` in a function without a route attribute is an error;
/// - the `stream! { ... }` form works too, so routes can move into the block as they are.
///
/// `routes!` does not collect or register anything (unlike Rocket's `routes![a, b]`):
/// register each route with [`App::route`](https://docs.rs/sse-runtime/latest/sse_runtime/struct.App.html#method.route)
/// as usual.
#[proc_macro]
pub fn routes(input: TokenStream) -> TokenStream {
    routes::expand(input.into()).into()
}
