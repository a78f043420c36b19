//! [`Cookies`]: the request's cookies, deserialized.

use http::header::COOKIE;
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::rejection::Rejection;
use super::urlencoded::from_urlencoded;
use super::FromRequestParts;
use crate::state::AppState;

/// The request's cookies, deserialized into a struct (or a map) whose fields are cookie
/// names, as [`Query`](super::Query) does for the query string.
///
/// It reads every `Cookie:` header (`name=value; name2=value2`), percent-decodes the
/// values, and keeps the first of several cookies with the same name (the browser sends
/// the one with the most specific path first). A missing cookie is allowed for an
/// `Option` field (or one with `#[serde(default)]`); a missing required cookie or a value
/// that does not parse is answered with 422 and `loc: ["cookie", "<name>"]`.
/// `Cookies<HashMap<String, String>>` takes every cookie there is.
///
/// A browser `EventSource` cannot set headers but sends cookies: of its own origin always,
/// to another origin with `withCredentials: true` (and CORS credentials allowed), so a
/// cookie is how an event stream is usually authenticated.
///
/// Named in the plural because it reads the whole set of cookies into one value, not one
/// cookie (`Query`, not `QueryParam`); setting cookies is not its business.
///
/// ```
/// use serde::Deserialize;
/// use sse_runtime::{App, Cookies, testing::TestClient};
///
/// #[derive(Deserialize)]
/// struct Session { session: String, theme: Option<String> }
///
/// async fn me(Cookies(c): Cookies<Session>) -> String {
///     format!("{} {:?}", c.session, c.theme)
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let client = TestClient::new(App::new().get("/me", me).build().unwrap());
/// let response = client.get("/me").header("cookie", "session=abc%20d; lang=en").send().await;
/// assert_eq!(response.text().await, "abc d None");
///
/// let missing = client.get("/me").send().await;
/// assert_eq!(missing.status(), 422);
/// let body: serde_json::Value = missing.json().await;
/// assert_eq!(body["detail"][0]["loc"], serde_json::json!(["cookie", "session"]));
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cookies<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts for Cookies<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Rejection> {
        // The pairs, re-encoded as a form so that the query string's deserializer (and its
        // 422s) serve cookies too.
        let mut seen: Vec<String> = Vec::new();
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (name, value) in cookie_pairs(parts) {
            if seen.contains(&name) {
                continue;
            }
            form.append_pair(&name, &value);
            seen.push(name);
        }
        from_urlencoded("cookie", form.finish().as_bytes()).map(Cookies)
    }
}

/// Every `name=value` pair of every `Cookie:` header, values percent-decoded and
/// unquoted; a header that is not text and a pair without `=` are skipped.
fn cookie_pairs(parts: &Parts) -> impl Iterator<Item = (String, String)> + '_ {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(name, value)| {
            let name = name.trim();
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            (!name.is_empty()).then(|| {
                let decoded = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
                (name.to_owned(), decoded.into_owned())
            })
        })
}
