//! Tower in both directions: [`App::layer`] wraps the app in any tower layer (tower-http's
//! tracing, request ids, authentication, compression, ...), and the built [`AppService`]
//! is a [`tower::Service`] for requests with any body, so another tower stack — an axum
//! `Router`, hyper-util's server — can serve it.
//!
//! [`InnerService`] is the service a layer wraps (rarely named: layers are generic over it).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

use tower::util::{BoxCloneSyncService, ServiceExt};

use crate::app::service::{Core, Layered};
use crate::app::{App, AppService};
use crate::error::BoxError;
use crate::response::{Request, Response};
use crate::stream::body::Body;

impl App {
    /// Wraps the whole app in a tower layer, like axum's `Router::layer`: every request
    /// goes through it, answers the router gives itself (404, 405, CORS preflights)
    /// included, whether the app runs on its own server, in the
    /// [test client](crate::testing::TestClient) or mounted in another service. Layers
    /// apply to every route, added before or after them; the first `layer` is the
    /// innermost, the last one sees the request first.
    ///
    /// A layer's service may answer with any [`http_body::Body`] of `Bytes` (it is boxed
    /// into a [`Body`]; frames pass through as they come, so streams stay unbuffered and
    /// keep their keep-alive and disconnect cleanup) and may fail with any error
    /// convertible into [`BoxError`], which is logged and answered with 500.
    ///
    /// Around a stream, a layer sees the response head when the stream's first event (or
    /// its first-event window) is there, then each chunk of the body as it goes out; the
    /// guide's "Tower layers and axum" says which layers fit and which do not (a timeout
    /// on the whole response would cut every stream).
    ///
    /// ```
    /// use sse_runtime::{get, App, testing::TestClient};
    /// use tower::ServiceBuilder;
    ///
    /// #[get("/health")]
    /// async fn health() -> &'static str {
    ///     "ok"
    /// }
    ///
    /// // Any `tower::Layer`: here a header on every response, written inline.
    /// let stamp = tower::util::MapResponseLayer::new(|mut response: sse_runtime::Response| {
    ///     let value = sse_runtime::http::HeaderValue::from_static("sse-runtime");
    ///     response.headers_mut().insert("x-served-by", value);
    ///     response
    /// });
    /// let app = App::new().route(health).layer(ServiceBuilder::new().layer(stamp));
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let client = TestClient::new(app);
    /// let response = client.get("/missing").send().await;
    /// assert_eq!(response.status(), 404);
    /// assert_eq!(response.header("x-served-by"), Some("sse-runtime"));
    /// # });
    /// ```
    pub fn layer<L, B>(mut self, layer: L) -> Self
    where
        L: tower::Layer<InnerService> + Send + Sync + 'static,
        L::Service:
            tower::Service<Request, Response = http::Response<B>> + Clone + Send + Sync + 'static,
        <L::Service as tower::Service<Request>>::Future: Send + 'static,
        <L::Service as tower::Service<Request>>::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.layers.push(Box::new(move |inner| {
            InnerService::layered(layer.layer(inner))
        }));
        self
    }
}

/// The app as a tower service, for requests with any body: mount it in an axum `Router`
/// (`nest_service`, `fallback_service`), serve it with hyper-util, or wrap it in tower
/// layers of your own. It goes through the app's own [layers](App::layer), is always
/// ready, never fails, and answers with a [`Body`] (an [`http_body::Body`]); the request
/// body is boxed into the app's [`Body`] as it is, never buffered.
///
/// A server other than the app's own does not apply [`Limits`](crate::Limits), and does
/// not end the app's streams on shutdown: call
/// [`shutdown_streams`](AppService::shutdown_streams) when it stops (the `axum_mount`
/// example shows how).
///
/// ```
/// use sse_runtime::{get, App, Body};
/// use tower::ServiceExt;
///
/// #[get("/health")]
/// async fn health() -> &'static str {
///     "ok"
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let app = App::new().route(health).build().expect("valid routes");
/// // Any request body: here `String`.
/// let request = http::Request::get("/health").body(String::new()).unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # });
/// ```
impl<B> tower::Service<http::Request<B>> for AppService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let service = self.clone();
        Box::pin(async move { Ok(service.handle(req.map(Body::new)).await) })
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
    /// The routed app itself, inside no layer.
    pub(crate) fn routed(core: Arc<Core>) -> Self {
        Self(Stage::Routed(core))
    }

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

    pub(crate) fn into_boxed(self) -> Layered {
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
