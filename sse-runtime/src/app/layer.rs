//! Tower in both directions: [`App::layer`] wraps the app in any tower layer (tower-http's
//! tracing, request ids, authentication, compression, ...), and the built [`AppService`]
//! is a [`tower::Service`] for requests with any body, so another tower stack — an axum
//! `Router`, hyper-util's server — can serve it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;

use crate::app::{App, AppService, InnerService};
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
