//! [`AppService`]: a built app, called once per request — its layers, then CORS, then
//! dispatch: route → extract → handler → respond (a streaming response enters the engine
//! through [`stream::start`](crate::stream::start)).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use http::header::{HeaderValue, ACCEPT_ENCODING, ALLOW};
use http::{Method, StatusCode};
use tokio_util::sync::CancellationToken;
use tower::util::{BoxCloneSyncService, ServiceExt};
use tracing::Instrument;

use crate::app::layer::InnerService;
use crate::app::limits::Limits;
use crate::app::router::{Match, Router};
use crate::app::{ApplyLayer, Settings};
use crate::error::panic_message;
use crate::response::http_error::HttpError;
use crate::response::{IntoResponse, Request, Response};
use crate::state::AppState;
use crate::stream::start::{self, Refusal, RequestHead};

/// A built app: cheap to clone, called once per request.
///
/// It is a [`tower::Service`] for requests with any body (see its `Service` impl), so it
/// can be mounted in an axum `Router` or wrapped in tower layers; [`App::layer`](crate::App::layer) wraps it
/// in layers that the app's own server and the test client go through too.
#[derive(Clone)]
pub struct AppService {
    inner: Arc<Core>,
    /// The routed service inside the app's layers, if it has any. (It holds its own
    /// `Arc<Core>`: the core never points back at it.)
    layered: Option<Arc<Layered>>,
}

/// The app inside its layers, boxed; a layer's error becomes a 500.
pub(crate) type Layered = BoxCloneSyncService<Request, Response, crate::BoxError>;

/// The routes, state and settings of a built app.
pub(crate) struct Core {
    pub(crate) router: Router,
    pub(crate) state: AppState,
    pub(crate) shutdown: CancellationToken,
    pub(crate) settings: Settings,
    #[cfg(feature = "openapi")]
    pub(crate) openapi: Arc<crate::openapi::AppDocs>,
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
    /// The built app: `core` inside `layers` (first added innermost).
    pub(super) fn new(core: Core, layers: Vec<ApplyLayer>) -> Self {
        let inner = Arc::new(core);
        let layered = if layers.is_empty() {
            None
        } else {
            let routed = InnerService::routed(Arc::clone(&inner));
            let layered = layers.into_iter().fold(routed, |inner, apply| apply(inner));
            Some(Arc::new(layered.into_boxed()))
        };
        Self { inner, layered }
    }

    /// Every `(method, path pattern)`, in registration order.
    pub fn routes(&self) -> Vec<(Method, String)> {
        self.inner
            .router
            .iter()
            .map(|(m, p)| (m.clone(), p.to_owned()))
            .collect()
    }

    /// The app's OpenAPI document (generated on first use, then kept), as served at
    /// `/openapi.json` when [`App::openapi_config`](crate::App::openapi_config) is set; see [`crate::openapi`].
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

    /// Answers one request: through the app's [layers](crate::App::layer), if any, to CORS,
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
    /// in the app's [shape](crate::App::error_body).
    pub(crate) async fn answer(&self, req: Request) -> Response {
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

    /// Route → extract → handler → respond.
    async fn dispatch(&self, mut req: Request) -> Response {
        let method = req.method().clone();
        let (endpoint, route) = match self.router.find(&method, req.uri().path()) {
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
        // Extractors and the handler.
        let call = endpoint.call(req, self.state.clone());
        let response = match AssertUnwindSafe(call).catch_unwind().await {
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

        let request = RequestHead {
            method: &method,
            accept_encoding: accept_encoding.as_ref(),
            route,
        };
        match start::start(response, request, &self.settings.streams, &self.shutdown).await {
            Ok(response) => response,
            Err(Refusal::Failed(failure)) => {
                tracing::warn!(
                    method = %method,
                    path = %path,
                    status = failure.status.as_u16(),
                    error = %failure.message(),
                    "stream failed before its first event"
                );
                HttpError::with_detail(failure.status, *failure.detail).into_response()
            }
            Err(Refusal::Panicked(panic)) => {
                tracing::error!(
                    method = %method,
                    path = %path,
                    panic,
                    "stream panicked before its first event"
                );
                internal_server_error()
            }
        }
    }
}

/// The answer to a request whose handler (or stream, before its first event) panicked:
/// 500 with `{"detail": "Internal Server Error"}`; the panic itself is only logged.
fn internal_server_error() -> Response {
    HttpError::internal("Internal Server Error").into_response()
}
