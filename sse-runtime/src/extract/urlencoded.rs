//! `application/x-www-form-urlencoded` text into a type: what [`Query`](super::Query),
//! [`Form`](super::Form) and [`Cookies`](super::Cookies) share.

use serde::de::DeserializeOwned;

use super::rejection::{serde_rejection, Rejection};

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
