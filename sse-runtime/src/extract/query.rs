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
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|err| serde_rejection("query", err))
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}
