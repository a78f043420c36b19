//! [`App`]: routes, shared state and app-wide settings; built into an [`AppService`]
//! that the server (or the test client) calls for every request.

pub(crate) mod arity;
pub(crate) mod build_error;
pub(crate) mod cors;
pub(crate) mod handler;
pub mod layer;
pub(crate) mod limits;
pub(crate) mod pattern;
pub(crate) mod router;
mod service;

pub(crate) use layer::InnerService;
pub use service::AppService;
pub(crate) use service::Core;

use std::time::Duration;

use http::Method;
use tokio_util::sync::CancellationToken;

use crate::app::build_error::BuildError;
use crate::app::cors::Cors;
use crate::app::handler::{Endpoint, Handler};
use crate::app::limits::Limits;
use crate::app::router::Router;
use crate::error_body::{ErrorBody, Shape};
use crate::event::server_sent::ServerSentEvent;
use crate::state::AppState;
use crate::stream::compress::Compression;
use crate::stream::keep_alive::KeepAlive;
use crate::stream::start::StreamDefaults;

/// The default of [`App::first_event_window`].
const DEFAULT_FIRST_EVENT_WINDOW: Duration = Duration::from_secs(10);

/// One route: a method, a path pattern and a handler.
///
/// Route attributes (`#[get("/path", sse)]`, ...) generate a unit struct that implements
/// [`IntoRoute`] by building one of these; hand-written apps use [`App::get`] and friends,
/// or build one directly.
///
/// ```
/// use sse_runtime::{App, Method, RouteDef};
///
/// let route = RouteDef::new(Method::GET, "/health", || async { "ok" });
/// assert_eq!(route.path(), "/health");
/// let app = App::new().route(route);
/// # let _ = app;
/// ```
#[must_use = "a route does nothing until it is added to an App"]
#[derive(Clone, Debug)]
pub struct RouteDef {
    method: Method,
    path: String,
    endpoint: Endpoint,
    #[cfg(feature = "openapi")]
    pub(crate) doc: Option<Box<crate::openapi::RouteDoc>>,
}

impl RouteDef {
    /// A route for `method` and `path` (matchit syntax: `{param}`, `{*rest}`).
    pub fn new<H: Handler<M>, M>(method: Method, path: impl Into<String>, handler: H) -> Self {
        Self {
            method,
            path: path.into(),
            endpoint: Endpoint::new(handler),
            #[cfg(feature = "openapi")]
            doc: None,
        }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path pattern.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// Something [`App::route`] accepts: a [`RouteDef`], or the unit struct a route attribute
/// generates.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a route",
    label = "not a route",
    note = "pass a function annotated with `#[get(\"/path\")]`, `#[post(...)]`, ..., or a `RouteDef`"
)]
pub trait IntoRoute {
    /// The route.
    fn into_route(self) -> RouteDef;
}

impl IntoRoute for RouteDef {
    fn into_route(self) -> RouteDef {
        self
    }
}

/// The application builder.
///
/// ```
/// use std::time::Duration;
/// use sse_runtime::{App, KeepAlive};
///
/// async fn health() -> &'static str { "ok" }
///
/// let app = App::new()
///     .get("/health", health)
///     .state(String::from("shared"))
///     .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
///     .build()
///     .expect("valid routes");
/// # let _ = app;
/// ```
#[must_use = "an App does nothing until it is served"]
pub struct App {
    pub(crate) routes: Vec<RouteDef>,
    state: AppState,
    settings: Settings,
    /// `App::layer`s, first added innermost.
    pub(crate) layers: Vec<ApplyLayer>,
    #[cfg(feature = "openapi")]
    pub(crate) openapi: Option<crate::openapi::OpenApiConfig>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("routes", &self.routes)
            .field("state", &self.state)
            .field("settings", &self.settings)
            .field("layers", &self.layers.len())
            .finish_non_exhaustive()
    }
}

/// One `App::layer`, applied when the app is built.
pub(crate) type ApplyLayer = Box<dyn FnOnce(InnerService) -> InnerService + Send + Sync>;

/// App-wide settings, kept by the built app.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// What the app's streams get unless their response chose otherwise.
    pub(crate) streams: StreamDefaults,
    pub(crate) shutdown_grace: Duration,
    pub(crate) limits: Limits,
    pub(crate) cors: Option<Cors>,
    /// The shape of error bodies ([`App::error_body`]).
    pub(crate) error_body: Shape,
    /// The `retry:` every event stream sends when it ends at shutdown
    /// ([`App::shutdown_retry`]), before the farewell.
    pub(crate) shutdown_retry: Option<Duration>,
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    /// An app with no routes and default settings.
    pub fn new() -> Self {
        Self {
            routes: Vec::new(),
            state: AppState::default(),
            settings: Settings {
                streams: StreamDefaults {
                    keep_alive: KeepAlive::new(),
                    farewell: None,
                    first_event_window: DEFAULT_FIRST_EVENT_WINDOW,
                    compression: Compression::off(),
                    failure_record: None,
                },
                shutdown_grace: Duration::from_secs(5),
                limits: Limits::default(),
                cors: None,
                error_body: Shape::default(),
                shutdown_retry: None,
            },
            layers: Vec::new(),
            #[cfg(feature = "openapi")]
            openapi: None,
        }
    }

    /// Adds a route: a function annotated with a route attribute, or a [`RouteDef`].
    pub fn route(mut self, route: impl IntoRoute) -> Self {
        self.routes.push(route.into_route());
        self
    }

    /// Adds a `GET` route (which also answers `HEAD`).
    pub fn get<H: Handler<M>, M>(self, path: &str, handler: H) -> Self {
        self.route(RouteDef::new(Method::GET, path, handler))
    }

    /// Adds a `POST` route.
    pub fn post<H: Handler<M>, M>(self, path: &str, handler: H) -> Self {
        self.route(RouteDef::new(Method::POST, path, handler))
    }

    /// Adds a `PUT` route.
    pub fn put<H: Handler<M>, M>(self, path: &str, handler: H) -> Self {
        self.route(RouteDef::new(Method::PUT, path, handler))
    }

    /// Adds a `PATCH` route.
    pub fn patch<H: Handler<M>, M>(self, path: &str, handler: H) -> Self {
        self.route(RouteDef::new(Method::PATCH, path, handler))
    }

    /// Adds a `DELETE` route.
    pub fn delete<H: Handler<M>, M>(self, path: &str, handler: H) -> Self {
        self.route(RouteDef::new(Method::DELETE, path, handler))
    }

    /// Registers a shared value, read by handlers with [`State<T>`](crate::State).
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state = self.state.with(value);
        self
    }

    /// The keep-alive of every event stream that does not choose its own
    /// (default: `: ping` after 15 s of silence).
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> Self {
        self.settings.streams.keep_alive = keep_alive;
        self
    }

    /// Cross-origin access (none by default): preflights are answered before routing, and
    /// responses to allowed origins carry the CORS headers.
    pub fn cors(mut self, cors: Cors) -> Self {
        self.settings.cors = Some(cors);
        self
    }

    /// The JSON shape of every error the app answers (default: FastAPI's
    /// `{"detail": ...}`, [`error_body::Detail`](crate::error_body::Detail)): an
    /// [`HttpError`](crate::HttpError) a handler returns, an extractor's rejection, the
    /// router's 404 and 405, a panic's 500, and a streaming route's `Err` — as the
    /// response before its first event, as the data of its `event: error` (the last line
    /// of a JSON Lines stream) after it. Pass
    /// [`error_body::OpenAi`](crate::error_body::OpenAi) for OpenAI's
    /// `{"error": {"message", "type", "param", "code"}}`, or an
    /// [`ErrorBody`] of your own (a closure `Fn(&HttpError) -> serde_json::Value` is
    /// one). The OpenAPI document's error responses show the chosen shape. Responses made
    /// by [layers](Self::layer) are theirs.
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use sse_runtime::{error_body, testing::TestClient, App, HttpError, StatusCode};
    ///
    /// async fn key() -> Result<&'static str, HttpError> {
    ///     Err(HttpError::with_detail(
    ///         StatusCode::UNAUTHORIZED,
    ///         json!({ "message": "Incorrect API key", "code": "invalid_api_key" }),
    ///     ))
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let app = App::new().error_body(error_body::OpenAi).get("/key", key);
    /// let response = TestClient::new(app).get("/key").send().await;
    /// assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    /// let body: Value = response.json().await;
    /// assert_eq!(body["error"]["code"], "invalid_api_key");
    /// assert_eq!(body["error"]["type"], "invalid_request_error");
    /// # });
    /// ```
    pub fn error_body(mut self, shape: impl ErrorBody) -> Self {
        let shape = Shape::new(shape);
        self.settings.streams.failure_record = shape.failure_record();
        self.settings.error_body = shape;
        self
    }

    /// The schema of the app's error bodies, when it chose its own shape.
    #[cfg(feature = "openapi")]
    pub(crate) fn error_schema(&self) -> Option<serde_json::Value> {
        self.settings.error_body.schema()
    }

    /// Compresses event streams and JSON Lines streams for clients that accept it (off by
    /// default; [`Sse::compression`](crate::Sse::compression) overrides it per response).
    /// The coding is negotiated from `Accept-Encoding`, every frame is flushed through the
    /// compressor as it is written, and such responses carry `Vary: Accept-Encoding`.
    ///
    /// ```
    /// use sse_runtime::{App, Compression, Sse, ServerSentEvent, testing::TestClient};
    ///
    /// async fn hello() -> Sse {
    ///     Sse::new(futures_util::stream::iter([ServerSentEvent::new().raw_data("hello")]))
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let app = App::new().compression(Compression::new()).get("/hello", hello);
    /// let response = TestClient::new(app)
    ///     .get("/hello")
    ///     .header("accept-encoding", "gzip")
    ///     .send()
    ///     .await;
    /// assert_eq!(response.header("content-encoding"), Some("gzip"));
    /// assert_eq!(response.header("vary"), Some("accept-encoding"));
    /// // The test client decodes it, as a browser would.
    /// assert_eq!(response.text().await, "data: hello\n\n");
    /// # });
    /// ```
    pub fn compression(mut self, compression: Compression) -> Self {
        self.settings.streams.compression = compression;
        self
    }

    /// Connection limits, timeouts and the request body limit (see [`Limits`] for the
    /// defaults).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.state.set_body_limit(limits.max_body_bytes);
        self.settings.limits = limits;
        self
    }

    /// How long a streaming response's headers wait for its first item — an event, a
    /// comment, the end of the stream or an `Err` — before they go out anyway
    /// (default 10 s). An `Err` within the window becomes an HTTP error response (its
    /// status, `{"detail": ...}`); after it (or after the first event), an
    /// `event: error`. A response can choose its own window
    /// ([`Sse::first_event_window`](crate::Sse::first_event_window); a broadcast
    /// [`Subscription`](crate::broadcast::Subscription) sends its headers at once), and a
    /// stream releases its headers early by yielding a comment.
    ///
    /// Keep the window below the header (read) timeouts of the proxies and clients in
    /// front of the app — nginx's `proxy_read_timeout` and load balancers' idle timeouts
    /// are 60 s by default — and of the keep-alive interval: no keep-alive comment can go
    /// out before the headers. The 10 s default is below both (keep-alive: 15 s), long
    /// enough for an upstream's (an LLM's, an auth service's) slow first answer to fail
    /// with a real status, short enough that an `EventSource` still opens in time.
    pub fn first_event_window(mut self, window: Duration) -> Self {
        self.settings.streams.first_event_window = window;
        self
    }

    /// How long a graceful shutdown waits for open connections to finish once every
    /// stream has been told to end (default 5 s); what is left is then dropped.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.settings.shutdown_grace = grace;
        self
    }

    /// An event every open event stream sends just before it ends at shutdown
    /// (none by default). An invalid event is refused.
    pub fn farewell(mut self, event: ServerSentEvent) -> Result<Self, crate::EventError> {
        let mut buf = bytes::BytesMut::new();
        crate::event::encode::write_event(&event, &mut buf)?;
        self.settings.streams.farewell = Some(buf.freeze());
        Ok(self)
    }

    /// A `retry:` field (the client's reconnection delay) that every open event stream
    /// sends as it ends at shutdown, before the [`farewell`](Self::farewell) if there is
    /// one (none by default). An `EventSource` whose stream ends reconnects after its
    /// reconnection delay: a few seconds unless the stream set one. Behind a load balancer,
    /// a short delay here brings the clients of a draining instance back promptly, to
    /// another instance, resuming with `Last-Event-ID` (docs/deploy.md, "Rolling
    /// restarts").
    ///
    /// The delay stays in force for the rest of that `EventSource`'s life, unless the
    /// next stream sends its own: pair it with a `retry:` at the start of each stream
    /// ([`Sse::retry`](crate::Sse::retry), or `retry = "..."` on the route attribute), so
    /// that a client back on a live instance returns to its usual delay. JSON Lines
    /// streams send nothing.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_runtime::App;
    ///
    /// let app = App::new().shutdown_retry(Duration::from_millis(100));
    /// # let _ = app;
    /// ```
    pub fn shutdown_retry(mut self, delay: Duration) -> Self {
        self.settings.shutdown_retry = Some(delay);
        self
    }

    /// Checks the app and builds the service. One error lists every problem at once:
    /// conflicting, duplicate or invalid route patterns; a `State<T>` that no
    /// [`state`](Self::state) provides; a `Path` extractor whose struct fields (by their
    /// serde names) or tuple arity do not match the route pattern's parameters; CORS that
    /// allows any origin with credentials.
    ///
    /// ```
    /// use serde::Deserialize;
    /// use sse_runtime::{App, Path, State};
    ///
    /// #[derive(Deserialize)]
    /// struct Metric {
    ///     metric: String,
    /// }
    ///
    /// #[derive(Clone)]
    /// struct Stats;
    ///
    /// async fn show(Path(m): Path<Metric>, State(_): State<Stats>) -> String {
    ///     m.metric
    /// }
    ///
    /// let err = App::new().get("/metrics/{metrc}", show).build().unwrap_err();
    /// let text = err.to_string();
    /// assert!(text.contains("`GET /metrics/{metrc}` reads `State<"), "{text}");
    /// assert!(text.contains("field `metric` matches no path parameter"), "{text}");
    /// ```
    pub fn build(mut self) -> Result<AppService, BuildError> {
        if let Some(delay) = self.settings.shutdown_retry {
            let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
            let retry = format!("retry: {millis}\n\n");
            let mut farewell = bytes::BytesMut::from(retry.as_bytes());
            if let Some(event) = &self.settings.streams.farewell {
                farewell.extend_from_slice(event);
            }
            self.settings.streams.farewell = Some(farewell.freeze());
        }
        let mut router = Router::default();
        let mut problems = Vec::new();
        #[cfg(feature = "openapi")]
        let openapi =
            crate::openapi::AppDocs::new(&self.routes, self.openapi.as_ref(), self.error_schema());
        for route in self.routes {
            let name = format!("{} {}", route.method, route.path);
            let params = pattern::params(&route.path).unwrap_or_default();
            problems.extend(
                route
                    .endpoint
                    .requirements()
                    .problems(&name, &params, |id| self.state.has(id)),
            );
            if let Err(err) = router.insert(route.method, &route.path, route.endpoint) {
                problems.push(err.to_string());
            }
        }
        #[cfg(feature = "openapi")]
        if let Err(err) = openapi.register(&mut router) {
            problems.push(err.to_string());
        }
        problems.extend(self.settings.cors.as_ref().and_then(Cors::problem));
        if !problems.is_empty() {
            for problem in &problems {
                tracing::error!("{problem}");
            }
            return Err(BuildError::from_problems(problems));
        }
        Ok(AppService::new(
            Core {
                router,
                state: self.state,
                shutdown: CancellationToken::new(),
                settings: self.settings,
                #[cfg(feature = "openapi")]
                openapi,
            },
            self.layers,
        ))
    }
}

/// Turns an [`App`] or an [`AppService`] into a service (used by the test client).
pub trait IntoAppService {
    /// The service.
    ///
    /// # Panics
    /// For an [`App`] whose routes are invalid: the panic message is the build error.
    fn into_app_service(self) -> AppService;
}

impl IntoAppService for AppService {
    fn into_app_service(self) -> AppService {
        self
    }
}

impl IntoAppService for App {
    fn into_app_service(self) -> AppService {
        match self.build() {
            Ok(service) => service,
            Err(err) => panic!("the app's routes are invalid: {err}"),
        }
    }
}
