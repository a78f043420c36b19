//! [`Query`]: the query string, deserialized.

use http::request::Parts;
use serde::de::DeserializeOwned;

use super::rejection::Rejection;
use super::urlencoded::from_urlencoded;
use super::FromRequestParts;
use crate::state::AppState;

/// The query string, deserialized with `serde_urlencoded` into a struct (or a map).
///
/// A missing or unparsable field is answered with 422 and `loc: ["query", "<field>"]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts for Query<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        from_urlencoded("query", query.as_bytes()).map(Query)
    }
}
