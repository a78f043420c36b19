//! [`OpenApiConfig`]: where and under which title the app serves its document.

/// Where and under which title the app serves its OpenAPI document and docs page; given
/// to [`App::openapi_config`](crate::App::openapi_config).
///
/// ```
/// use sse_runtime::openapi::OpenApiConfig;
///
/// let config = OpenApiConfig::new("Market data", "1.2.0")
///     .description("Live quotes over Server-Sent Events.")
///     .path("/api/openapi.json")
///     .docs_path("/api/docs");
/// # let _ = config;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct OpenApiConfig {
    pub(crate) title: String,
    pub(crate) version: String,
    pub(crate) description: Option<String>,
    pub(crate) path: String,
    pub(crate) docs_path: Option<String>,
}

impl Default for OpenApiConfig {
    /// Title "API", version "0.1.0", the document at `/openapi.json`, the docs at `/docs`.
    fn default() -> Self {
        Self::new("API", "0.1.0")
    }
}

impl OpenApiConfig {
    /// `info.title` and `info.version` of the document; the document at `/openapi.json`,
    /// the docs page at `/docs`.
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            version: version.into(),
            description: None,
            path: "/openapi.json".to_owned(),
            docs_path: Some("/docs".to_owned()),
        }
    }

    /// `info.description` (CommonMark).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The path the document is served at (default `/openapi.json`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The path the docs page is served at (default `/docs`).
    pub fn docs_path(mut self, path: impl Into<String>) -> Self {
        self.docs_path = Some(path.into());
        self
    }

    /// Serves the document only, no docs page.
    pub fn without_docs_page(mut self) -> Self {
        self.docs_path = None;
        self
    }
}
