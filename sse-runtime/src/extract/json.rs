//! [`Json`]: the JSON request body, and a JSON response.

use http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::body::{read_body, require_content_type};
use super::rejection::{serde_rejection, Rejection, UNPROCESSABLE};
use super::FromRequest;
use crate::response::{json_response, IntoResponse, Request, Response};
use crate::state::AppState;

/// The JSON request body, deserialized; also a JSON response from any `Serialize` value.
///
/// As an extractor it must be the handler's last argument. It requires
/// `content-type: application/json` (or `+json`) — otherwise 415 — and a body within the
/// app's limit (default 2 MiB) — otherwise 413. Malformed JSON or a value of the wrong
/// shape is answered with 422 and `loc: ["body", ...]`.
///
/// ```
/// use sse_runtime::{IntoResponse, Json};
///
/// let response = Json(serde_json::json!({"ok": true})).into_response();
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest for Json<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        require_content_type(
            &req,
            |mime| {
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            },
            "application/json",
        )?;
        let bytes = read_body(req, state).await?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
            if err.inner().is_syntax() || err.inner().is_eof() {
                Rejection::new(
                    UNPROCESSABLE,
                    "json_invalid",
                    &["body"],
                    format!("JSON decode error: {}", err.inner()),
                )
            } else {
                serde_rejection("body", err)
            }
        })?;
        de.end().map_err(|err| {
            Rejection::new(
                UNPROCESSABLE,
                "json_invalid",
                &["body"],
                format!("JSON decode error: {err}"),
            )
        })?;
        Ok(Json(value))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        json_response(StatusCode::OK, &self.0)
    }
}
