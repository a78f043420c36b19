//! The raw request body as an extractor (`Bytes`, `String`, the whole `Request`), read
//! within the app's body limit.

use std::convert::Infallible;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::StatusCode;
use http_body_util::{BodyExt, Limited};

use super::rejection::Rejection;
use super::FromRequest;
use crate::response::Request;
use crate::state::AppState;

/// Checks the request's media type (lowercased, without parameters) with `accepts`:
/// 415 naming `expected` when it is absent or refused.
pub(super) fn require_content_type(
    req: &Request,
    accepts: impl Fn(&str) -> bool,
    expected: &str,
) -> Result<(), Rejection> {
    let accepted = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| accepts(&mime.trim().to_ascii_lowercase()));
    if accepted {
        Ok(())
    } else {
        Err(Rejection::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            &["header", "content-type"],
            format!("Expected `content-type: {expected}`"),
        ))
    }
}

/// Reads the whole body: 413 over the app's limit, 400 if it cannot be read.
pub(super) async fn read_body(req: Request, state: &AppState) -> Result<Bytes, Rejection> {
    let limit = state.body_limit();
    let too_large = || {
        Rejection::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &["body"],
            format!("Request body is larger than the limit of {limit} bytes"),
        )
    };
    // A declared length over the limit is refused before reading a byte of it.
    if http_body::Body::size_hint(req.body()).lower() > limit as u64 {
        return Err(too_large());
    }
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(err) => Err(Rejection::new(
            StatusCode::BAD_REQUEST,
            "body_read",
            &["body"],
            format!("Failed to read the request body: {err}"),
        )),
    }
}

impl FromRequest for Bytes {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        read_body(req, state).await
    }
}

impl FromRequest for String {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        let bytes = read_body(req, state).await?;
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            Rejection::new(
                StatusCode::BAD_REQUEST,
                "utf8",
                &["body"],
                "Request body is not valid UTF-8",
            )
        })
    }
}

impl FromRequest for Request {
    type Rejection = Infallible;

    async fn from_request(req: Request, _: &AppState) -> Result<Self, Infallible> {
        Ok(req)
    }
}
