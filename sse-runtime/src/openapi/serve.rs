//! Serving the OpenAPI document (`/openapi.json`) and the docs page (`/docs`): what an
//! app keeps of its routes' docs, generated once on first use.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::Method;
use serde_json::Value;

use super::config::OpenApiConfig;
use super::model::RouteDoc;
use crate::app::build_error::BuildError;
use crate::app::handler::Endpoint;
use crate::app::router::Router;
use crate::app::RouteDef;
use crate::response::{Html, Response};

use super::generate::document;

const DOCS_PAGE: &str = include_str!("docs.html");

/// The documentation an [`AppService`](crate::AppService) keeps: its routes' docs, the
/// config, and the document once generated.
pub(crate) struct AppDocs {
    config: OpenApiConfig,
    /// The schema of the app's error bodies, when it chose its own shape.
    errors: Option<Value>,
    serve: bool,
    routes: Vec<(Method, String, Option<RouteDoc>)>,
    document: OnceLock<(Arc<Value>, Bytes)>,
}

impl std::fmt::Debug for AppDocs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppDocs")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppDocs {
    /// Keeps what the document needs of `routes`; `config` is `Some` when the app serves
    /// it.
    pub(crate) fn new(
        routes: &[RouteDef],
        config: Option<&OpenApiConfig>,
        errors: Option<Value>,
    ) -> Arc<Self> {
        Arc::new(Self {
            errors,
            serve: config.is_some(),
            config: config.cloned().unwrap_or_default(),
            routes: routes
                .iter()
                .map(|r| (r.method().clone(), r.path().to_owned(), r.doc().cloned()))
                .collect(),
            document: OnceLock::new(),
        })
    }

    /// Adds the routes serving the document and the docs page, when the app serves them.
    pub(crate) fn register(self: &Arc<Self>, router: &mut Router) -> Result<(), BuildError> {
        if !self.serve {
            return Ok(());
        }
        let docs = Arc::clone(self);
        let document = move || {
            let docs = Arc::clone(&docs);
            async move {
                let mut response = Response::new(docs.cached().1.clone().into());
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                response
            }
        };
        router.insert(Method::GET, &self.config.path, Endpoint::new(document))?;
        if let Some(docs_path) = &self.config.docs_path {
            let page = docs_page(&self.config.title, &self.config.path);
            let handler = move || {
                let page = page.clone();
                async move { Html(page) }
            };
            router.insert(Method::GET, docs_path, Endpoint::new(handler))?;
        }
        Ok(())
    }

    fn cached(&self) -> &(Arc<Value>, Bytes) {
        self.document.get_or_init(|| {
            let value = document(
                &self.config,
                self.errors.as_ref(),
                self.routes
                    .iter()
                    .map(|(m, p, d)| (m, p.as_str(), d.as_ref())),
            );
            let bytes = serde_json::to_vec(&value).unwrap_or_default().into();
            (Arc::new(value), bytes)
        })
    }

    /// The document.
    pub(crate) fn document(&self) -> &Arc<Value> {
        &self.cached().0
    }
}

/// The docs page, with the document's URL and the title filled in.
fn docs_page(title: &str, openapi_path: &str) -> Bytes {
    let url = serde_json::to_string(openapi_path)
        .unwrap_or_else(|_| "\"/openapi.json\"".to_owned())
        .replace("</", "<\\/");
    let title = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    Bytes::from(
        DOCS_PAGE
            .replace("__SSE_RUNTIME_TITLE__", &title)
            .replace("\"__SSE_RUNTIME_OPENAPI_URL__\"", &url),
    )
}
