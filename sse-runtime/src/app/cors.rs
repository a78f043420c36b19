//! [`Cors`]: cross-origin access, so a page on another origin can open an `EventSource`
//! (with or without credentials) or `fetch` a stream.

use std::time::Duration;

use http::header::{
    HeaderName, HeaderValue, ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
    VARY,
};
use http::{HeaderMap, Method, StatusCode};

use crate::response::http_error::HttpError;
use crate::response::{IntoResponse, Response};

/// Cross-origin resource sharing settings, set with [`App::cors`](crate::App::cors).
///
/// `EventSource` sends an `Origin` header on cross-origin requests and, with
/// `new EventSource(url, { withCredentials: true })`, cookies too — which the browser only
/// accepts when the response names the origin exactly and allows credentials. `fetch`
/// streams with custom headers or `POST` bodies are preceded by an `OPTIONS` preflight,
/// answered here before routing.
///
/// ```
/// use std::time::Duration;
/// use sse_runtime::{App, Cors};
///
/// let app = App::new().cors(
///     Cors::new()
///         .allow_origin("https://app.example.com")
///         .allow_credentials(true)
///         .max_age(Duration::from_secs(600)),
/// );
/// # let _ = app;
/// ```
#[must_use = "a Cors does nothing until it is given to App::cors"]
#[derive(Clone, Debug, Default)]
pub struct Cors {
    any_origin: bool,
    origins: Vec<HeaderValue>,
    credentials: bool,
    methods: Vec<Method>,
    headers: Vec<HeaderName>,
    any_header: bool,
    expose: Vec<HeaderName>,
    max_age: Option<Duration>,
}

impl Cors {
    /// No origin allowed yet; methods `GET`, `HEAD`, `POST`; any request header.
    pub fn new() -> Self {
        Self {
            methods: vec![Method::GET, Method::HEAD, Method::POST],
            any_header: true,
            ..Self::default()
        }
    }

    /// Any origin, any request header, no credentials: for public streams.
    pub fn permissive() -> Self {
        Self::new().allow_any_origin()
    }

    /// Allows one origin (e.g. `https://app.example.com`). An invalid value is ignored.
    pub fn allow_origin(mut self, origin: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(origin.trim_end_matches('/')) {
            self.origins.push(value);
        }
        self
    }

    /// Allows every origin (`Access-Control-Allow-Origin: *`), for public data only.
    ///
    /// Not with [`allow_credentials`](Self::allow_credentials): any site could then read
    /// its visitors' authenticated streams, so [`App::build`](crate::App::build) refuses
    /// that combination. Name the origins that may send credentials with
    /// [`allow_origin`](Self::allow_origin).
    pub fn allow_any_origin(mut self) -> Self {
        self.any_origin = true;
        self
    }

    /// Lets the browser send cookies and read the response (`withCredentials: true`):
    /// `Access-Control-Allow-Credentials: true`, with the request's exact origin (never
    /// `*`) in `Access-Control-Allow-Origin`. Only for origins named with
    /// [`allow_origin`](Self::allow_origin): with
    /// [`allow_any_origin`](Self::allow_any_origin), [`App::build`](crate::App::build)
    /// fails.
    ///
    /// ```
    /// use sse_runtime::{App, Cors};
    ///
    /// let err = App::new()
    ///     .cors(Cors::permissive().allow_credentials(true))
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("credentials"), "{err}");
    /// ```
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.credentials = allow;
        self
    }

    /// The methods a preflight may ask for.
    pub fn allow_methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods = methods.into_iter().collect();
        self
    }

    /// The request headers a preflight may ask for (default: any).
    pub fn allow_headers<'a>(mut self, headers: impl IntoIterator<Item = &'a str>) -> Self {
        self.any_header = false;
        self.headers = headers
            .into_iter()
            .filter_map(|h| HeaderName::try_from(h).ok())
            .collect();
        self
    }

    /// Response headers scripts may read.
    pub fn expose_headers<'a>(mut self, headers: impl IntoIterator<Item = &'a str>) -> Self {
        self.expose = headers
            .into_iter()
            .filter_map(|h| HeaderName::try_from(h).ok())
            .collect();
        self
    }

    /// How long a browser may cache a preflight answer.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// What is wrong with these settings, if anything: a start-up error of the app.
    pub(crate) fn problem(&self) -> Option<String> {
        (self.any_origin && self.credentials).then(|| {
            "CORS allows any origin with credentials: any site could read its visitors' \
             authenticated responses; name the origins with `Cors::allow_origin` instead of \
             `allow_any_origin`/`permissive`, or drop `allow_credentials(true)`"
                .to_owned()
        })
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        self.any_origin || self.origins.iter().any(|o| o == origin)
    }

    /// The `Access-Control-Allow-Origin` value for an allowed origin: `*` for any origin
    /// (which `App::build` allows only without credentials), else the origin itself.
    fn allow_origin_value(&self, origin: &HeaderValue) -> HeaderValue {
        if self.any_origin && !self.credentials {
            HeaderValue::from_static("*")
        } else {
            origin.clone()
        }
    }

    /// Answers a preflight request, or `None` when `headers` are not a preflight's.
    pub(crate) fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<Response> {
        if method != Method::OPTIONS {
            return None;
        }
        let origin = headers.get(ORIGIN)?;
        let requested = headers.get(ACCESS_CONTROL_REQUEST_METHOD)?;
        let method_ok =
            Method::from_bytes(requested.as_bytes()).is_ok_and(|m| self.methods.contains(&m));
        if !self.allows(origin) || !method_ok {
            return Some(
                HttpError::new(StatusCode::FORBIDDEN, "CORS preflight refused").into_response(),
            );
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        let out = response.headers_mut();
        out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin_value(origin));
        if self.credentials {
            out.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        let methods = self
            .methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(value) = HeaderValue::from_str(&methods) {
            out.insert(ACCESS_CONTROL_ALLOW_METHODS, value);
        }
        let allowed_headers = if self.any_header {
            headers.get(ACCESS_CONTROL_REQUEST_HEADERS).cloned()
        } else {
            let list = self
                .headers
                .iter()
                .map(HeaderName::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            HeaderValue::from_str(&list).ok()
        };
        if let Some(value) = allowed_headers {
            out.insert(ACCESS_CONTROL_ALLOW_HEADERS, value);
        }
        if let Some(max_age) = self.max_age {
            out.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(max_age.as_secs()));
        }
        out.append(VARY, HeaderValue::from_static("origin"));
        Some(response)
    }

    /// Adds the CORS headers of an actual (non-preflight) response.
    pub(crate) fn decorate(&self, origin: Option<&HeaderValue>, response: &mut Response) {
        let out = response.headers_mut();
        out.append(VARY, HeaderValue::from_static("origin"));
        let Some(origin) = origin.filter(|o| self.allows(o)) else {
            return;
        };
        out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin_value(origin));
        if self.credentials {
            out.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if !self.expose.is_empty() {
            let list = self
                .expose
                .iter()
                .map(HeaderName::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(value) = HeaderValue::from_str(&list) {
                out.insert(ACCESS_CONTROL_EXPOSE_HEADERS, value);
            }
        }
    }
}
