//! [`App`]: routes, shared state and app-wide settings; built into an [`AppService`]
//! that the server (or the test client) calls for every request.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use http::header::{HeaderValue, ACCEPT_ENCODING, ALLOW, CONTENT_ENCODING, VARY};
use http::{Method, StatusCode};
use tokio_util::sync::CancellationToken;
use tower::util::{BoxCloneSyncService, ServiceExt};
use tracing::Instrument;

use crate::body::Body;
use crate::compress::Compression;
use crate::cors::Cors;
use crate::error::panic_message;
use crate::error_body::{ErrorBody, Shape};
use crate::event::ServerSentEvent;
use crate::handler::{Endpoint, Handler};
use crate::http_error::HttpError;
use crate::keep_alive::KeepAlive;
use crate::limits::Limits;
use crate::response::{IntoResponse, Request, Response};
use crate::router::{BuildError, Match, Router};
use crate::state::AppState;
use crate::stream::StreamContext;

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

/// One `App::layer`, applied when the app is built.
pub(crate) type ApplyLayer = Box<dyn FnOnce(InnerService) -> InnerService + Send + Sync>;

#[derive(Clone, Debug)]
struct Settings {
    keep_alive: KeepAlive,
    first_event_window: Duration,
    shutdown_grace: Duration,
    farewell: Option<Bytes>,
    limits: Limits,
    cors: Option<Cors>,
    compression: Compression,
    error_body: Shape,
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
                keep_alive: KeepAlive::new(),
                first_event_window: DEFAULT_FIRST_EVENT_WINDOW,
                shutdown_grace: Duration::from_secs(5),
                farewell: None,
                limits: Limits::default(),
                cors: None,
                compression: Compression::off(),
                error_body: Shape::default(),
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
        self.settings.keep_alive = keep_alive;
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
    /// [`HttpError`] a handler returns, an extractor's rejection, the router's 404 and
    /// 405, a panic's 500, and a streaming route's `Err` — as the response before its
    /// first event, as the data of its `event: error` after it. Pass
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
        self.settings.error_body = Shape::new(shape);
        self
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
        self.settings.compression = compression;
        self
    }

    /// Connection limits and timeouts (see [`Limits`] for the defaults).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.settings.limits = limits;
        self
    }

    /// The largest request body an extractor reads (default 2 MiB); larger ones get 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.state.set_body_limit(bytes);
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
        self.settings.first_event_window = window;
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
        crate::encode::write_event(&event, &mut buf)?;
        self.settings.farewell = Some(buf.freeze());
        Ok(self)
    }

    /// The schema of the app's error bodies, when it chose its own shape.
    #[cfg(feature = "openapi")]
    pub(crate) fn error_schema(&self) -> Option<serde_json::Value> {
        self.settings.error_body.schema()
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
    pub fn build(self) -> Result<AppService, BuildError> {
        let mut router = Router::default();
        let mut problems = Vec::new();
        #[cfg(feature = "openapi")]
        let openapi =
            crate::openapi::AppDocs::new(&self.routes, self.openapi.as_ref(), self.error_schema());
        for route in self.routes {
            let name = format!("{} {}", route.method, route.path);
            let params = crate::router::pattern_params(&route.path);
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
        let inner = Arc::new(Core {
            router,
            state: self.state,
            shutdown: CancellationToken::new(),
            settings: self.settings,
            #[cfg(feature = "openapi")]
            openapi,
        });
        let layered = if self.layers.is_empty() {
            None
        } else {
            let routed = InnerService(Stage::Routed(Arc::clone(&inner)));
            let layered = self
                .layers
                .into_iter()
                .fold(routed, |inner, apply| apply(inner));
            Some(Arc::new(layered.into_boxed()))
        };
        Ok(AppService { inner, layered })
    }
}

/// A built app: cheap to clone, called once per request.
///
/// It is a [`tower::Service`] for requests with any body (see its `Service` impl), so it
/// can be mounted in an axum `Router` or wrapped in tower layers; [`App::layer`] wraps it
/// in layers that the app's own server and the test client go through too.
#[derive(Clone)]
pub struct AppService {
    inner: Arc<Core>,
    /// The routed service inside the app's layers, if it has any. (It holds its own
    /// `Arc<Core>`: the core never points back at it.)
    layered: Option<Arc<Layered>>,
}

/// The app inside its layers, boxed; a layer's error becomes a 500.
type Layered = BoxCloneSyncService<Request, Response, crate::BoxError>;

/// The routes, state and settings of a built app.
struct Core {
    router: Router,
    state: AppState,
    shutdown: CancellationToken,
    settings: Settings,
    #[cfg(feature = "openapi")]
    openapi: Arc<crate::openapi::AppDocs>,
}

impl std::fmt::Debug for AppService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppService")
            .field("routes", &self.routes())
            .field("state", &self.inner.state)
            .finish_non_exhaustive()
    }
}

impl AppService {
    /// Every `(method, path pattern)`, in registration order.
    pub fn routes(&self) -> Vec<(Method, String)> {
        self.inner
            .router
            .iter()
            .map(|(m, p)| (m.clone(), p.to_owned()))
            .collect()
    }

    /// The app's OpenAPI document (generated on first use, then kept), as served at
    /// `/openapi.json` when [`App::openapi_config`] is set; see [`crate::openapi`].
    #[cfg(feature = "openapi")]
    pub fn openapi(&self) -> serde_json::Value {
        self.inner.openapi.document().as_ref().clone()
    }

    /// Tells every open stream to end; what the server does first on shutdown.
    pub fn shutdown_streams(&self) {
        self.inner.shutdown.cancel();
    }

    /// True once [`shutdown_streams`](Self::shutdown_streams) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutdown.is_cancelled()
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.inner.settings.limits
    }

    pub(crate) fn shutdown_grace(&self) -> Duration {
        self.inner.settings.shutdown_grace
    }

    /// Answers one request: through the app's [layers](App::layer), if any, to CORS,
    /// route, extract, run the handler, bind streaming bodies to the app's settings.
    /// A handler that panics gets a 500; a layer's panic unwinds (tower-http's
    /// `CatchPanicLayer`, added last, turns it into a 500 too).
    ///
    /// Each request runs in an `info` span `request` (fields `method`, `path`, and `route`
    /// once matched), which is also the parent of its stream's log records.
    pub async fn handle(&self, req: Request) -> Response {
        let span = tracing::info_span!(
            "request",
            method = req.method().as_str(),
            path = req.uri().path(),
            route = tracing::field::Empty,
        );
        async move {
            match &self.layered {
                None => self.inner.answer(req).await,
                Some(layered) => match Layered::clone(layered).oneshot(req).await {
                    Ok(response) => response,
                    Err(err) => {
                        tracing::error!(error = %err, "a layer failed the request");
                        self.inner
                            .settings
                            .error_body
                            .finish(internal_server_error())
                    }
                },
            }
        }
        .instrument(span)
        .await
    }
}

impl Core {
    /// The routed app's answer, inside any layers: CORS, then `dispatch`; an error's body
    /// in the app's [shape](App::error_body).
    async fn answer(&self, req: Request) -> Response {
        let response = self.answer_cors(req).await;
        self.settings.error_body.finish(response)
    }

    async fn answer_cors(&self, req: Request) -> Response {
        let Some(cors) = &self.settings.cors else {
            return self.dispatch(req).await;
        };
        if let Some(preflight) = cors.preflight(req.method(), req.headers()) {
            return preflight;
        }
        let origin = req.headers().get(http::header::ORIGIN).cloned();
        let mut response = self.dispatch(req).await;
        cors.decorate(origin.as_ref(), &mut response);
        response
    }

    async fn dispatch(&self, mut req: Request) -> Response {
        let inner = self;
        let method = req.method().clone();
        let (endpoint, route) = match inner.router.find(&method, req.uri().path()) {
            Match::Found(endpoint, params, route) => {
                req.extensions_mut().insert(params);
                tracing::Span::current().record("route", &**route);
                (endpoint, route)
            }
            Match::NotFound => {
                return HttpError::new(StatusCode::NOT_FOUND, "Not Found").into_response()
            }
            Match::MethodNotAllowed(allow) => {
                let mut response =
                    HttpError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
                        .into_response();
                if let Ok(value) = HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(ALLOW, value);
                }
                return response;
            }
            Match::BadPath(message) => return HttpError::bad_request(message).into_response(),
        };

        let path = req.uri().path().to_owned();
        let accept_encoding = req.headers().get(ACCEPT_ENCODING).cloned();
        let call = endpoint.call(req, inner.state.clone());
        let mut response = match AssertUnwindSafe(call).catch_unwind().await {
            Ok(response) => response,
            Err(panic) => {
                tracing::error!(
                    method = %method,
                    path = %path,
                    panic = panic_message(&*panic),
                    "handler panicked"
                );
                return internal_server_error();
            }
        };

        let status = response.status();
        let already_encoded = response.headers().contains_key(CONTENT_ENCODING);
        if let Some(stream) = response.body_mut().stream_mut() {
            let compression = stream
                .compression()
                .unwrap_or(&inner.settings.compression)
                .clone();
            if method == Method::HEAD {
                *response.body_mut() = Body::empty();
                if !compression.is_off() {
                    response.headers_mut().append(VARY, vary_accept_encoding());
                }
                return response;
            }
            // Only a successful stream with content is compressed; never one a layer or
            // the handler already encoded.
            let coding = if compressible(status) && !already_encoded {
                let header = accept_encoding.as_ref().and_then(|v| v.to_str().ok());
                compression.negotiate(header)
            } else {
                None
            };
            stream.bind(&StreamContext {
                keep_alive: inner.settings.keep_alive.clone(),
                shutdown: inner.shutdown.clone(),
                farewell: inner.settings.farewell.clone(),
                route: Arc::clone(route),
                span: tracing::Span::current(),
                failure_record: inner.settings.error_body.failure_record(),
            });
            let primed = AssertUnwindSafe(stream.prime(inner.settings.first_event_window))
                .catch_unwind()
                .await;
            match primed {
                Ok(Ok(())) => {}
                Ok(Err(failure)) => {
                    tracing::warn!(
                        method = %method,
                        path = %path,
                        status = failure.status.as_u16(),
                        error = %failure.message(),
                        "stream failed before its first event"
                    );
                    return HttpError::with_detail(failure.status, failure.detail).into_response();
                }
                Err(panic) => {
                    tracing::error!(
                        method = %method,
                        path = %path,
                        panic = panic_message(&*panic),
                        "stream panicked before its first event"
                    );
                    return internal_server_error();
                }
            }
            match coding.map(|coding| compression.encoder(coding)) {
                Some(Ok(encoder)) => {
                    response
                        .headers_mut()
                        .insert(CONTENT_ENCODING, encoder.header_value());
                    if let Some(stream) = response.body_mut().stream_mut() {
                        stream.compress_with(encoder);
                    }
                }
                Some(Err(err)) => {
                    tracing::error!(error = %err, "no compressor; the stream goes uncompressed");
                }
                None => {}
            }
            if !compression.is_off() {
                response.headers_mut().append(VARY, vary_accept_encoding());
            }
        } else if method == Method::HEAD {
            *response.body_mut() = Body::empty();
        }
        response
    }
}

/// The service an [`App::layer`] wraps: the routed app (CORS, routing, handlers), inside
/// the layers added before.
///
/// It answers every [`Request`], and is ready at once, unless a layer inside it fails or
/// says otherwise. Layers are generic over the service they wrap, so this type
/// is rarely named: see [`App::layer`].
#[derive(Clone)]
pub struct InnerService(Stage);

#[derive(Clone)]
enum Stage {
    Routed(Arc<Core>),
    Layered(Layered),
}

impl std::fmt::Debug for InnerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stage = match &self.0 {
            Stage::Routed(_) => "routed",
            Stage::Layered(_) => "layered",
        };
        f.debug_tuple("InnerService").field(&stage).finish()
    }
}

impl InnerService {
    /// Boxes a layered service that answers with any response body and may fail: the
    /// body is boxed into a [`Body`] (an unbuffered wrapper: frames pass as they come),
    /// the error into a `BoxError` (answered with a logged 500 by `AppService::handle`).
    pub(crate) fn layered<S, B>(service: S) -> Self
    where
        S: tower::Service<Request, Response = http::Response<B>> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
        S::Error: Into<crate::BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<crate::BoxError>,
    {
        let service = service.map_response(into_response::<B>).map_err(Into::into);
        Self(Stage::Layered(BoxCloneSyncService::new(service)))
    }

    fn into_boxed(self) -> Layered {
        match self.0 {
            Stage::Routed(core) => BoxCloneSyncService::new(InnerService(Stage::Routed(core))),
            Stage::Layered(layered) => layered,
        }
    }
}

/// A layered service's response, with its body boxed into a [`Body`].
fn into_response<B>(response: http::Response<B>) -> Response
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<crate::BoxError>,
{
    response.map(Body::new)
}

impl tower::Service<Request> for InnerService {
    type Response = Response;
    type Error = crate::BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response, crate::BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), crate::BoxError>> {
        match &mut self.0 {
            Stage::Routed(_) => Poll::Ready(Ok(())),
            Stage::Layered(layered) => layered.poll_ready(cx),
        }
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match &mut self.0 {
            Stage::Routed(core) => {
                let core = Arc::clone(core);
                Box::pin(async move { Ok(core.answer(req).await) })
            }
            Stage::Layered(layered) => layered.call(req),
        }
    }
}

/// Whether a stream answered with `status` may be compressed: a success with content.
fn compressible(status: StatusCode) -> bool {
    status.is_success()
        && !matches!(
            status,
            StatusCode::NO_CONTENT | StatusCode::RESET_CONTENT | StatusCode::PARTIAL_CONTENT
        )
}

fn vary_accept_encoding() -> HeaderValue {
    HeaderValue::from_static("accept-encoding")
}

/// The answer to a request whose handler (or stream, before its first event) panicked:
/// 500 with `{"detail": "Internal Server Error"}`; the panic itself is only logged.
fn internal_server_error() -> Response {
    HttpError::internal("Internal Server Error").into_response()
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
