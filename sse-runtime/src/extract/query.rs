//! [`Query`]: the query string, deserialized.

use http::request::Parts;
use serde::de::DeserializeOwned;

use super::rejection::{serde_rejection, Rejection};
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

/// Deserializes `application/x-www-form-urlencoded` text into `T`: a 422 with
/// `loc: [origin, "<field>"]` when a field is missing or does not parse. The query string,
/// [`Form`](super::Form) bodies and [`Cookies`](super::Cookies) all go through here.
pub(super) fn from_urlencoded<T: DeserializeOwned>(
    origin: &str,
    text: &[u8],
) -> Result<T, Rejection> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(text));
    serde_path_to_error::deserialize(de).map_err(|err| serde_rejection(origin, err))
}
