//! [`Path`]: the matched route's path parameters, deserialized (by `de.rs`).

use http::request::Parts;
use serde::de::DeserializeOwned;

mod de;
use super::rejection::{Rejection, UNPROCESSABLE};
use super::{FromRequestParts, Requirements};
use crate::state::AppState;

/// The decoded path parameters of the matched route, in pattern order. The router puts
/// them in the request's extensions.
#[derive(Clone, Debug, Default)]
pub struct PathParams(pub(crate) Vec<(String, String)>);

impl PathParams {
    /// The parameters as `(name, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Path parameters, deserialized: one value (`Path<u32>`), a tuple in pattern order
/// (`Path<(String, u32)>`), or a struct by name.
///
/// A value that does not parse is answered with 422 and `loc: ["path", "<name>"]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts for Path<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Rejection> {
        let empty = PathParams::default();
        let params = parts.extensions.get::<PathParams>().unwrap_or(&empty);
        de::from_params(&params.0).map(Path).map_err(|err| {
            let name = err.param.clone().unwrap_or_default();
            let loc: Vec<&str> = if name.is_empty() {
                vec!["path"]
            } else {
                vec!["path", &name]
            };
            Rejection::new(UNPROCESSABLE, err.kind, &loc, err.message).with_input(err.input)
        })
    }

    fn requirements(requirements: &mut Requirements) {
        requirements.path::<T>();
    }
}
