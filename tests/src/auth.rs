//! Authentication for `EventSource` streams.
//!
//! A browser's `EventSource` cannot send an `Authorization` header, so a stream is
//! authenticated by a cookie (sent automatically, also cross-origin with
//! `withCredentials: true`) or by a token in the query string (for clients that cannot
//! hold cookies; keep such tokens short-lived, since URLs end up in logs). The
//! [`User`] extractor accepts either and rejects with 401 **before** the stream starts,
//! so an unauthenticated client never sees a `200` and never gets an event.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sse_runtime::extract::FromRequestParts;
use sse_runtime::http::request::Parts;
use sse_runtime::{App, AppState, HttpError, Json, Query, ServerSentEvent, Sse};

/// Valid session tokens and the user each belongs to.
#[derive(Clone, Debug, Default)]
pub struct Sessions(pub Arc<HashMap<String, String>>);

/// An authenticated user, from the `session` cookie or the `token` query parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User(pub String);

impl FromRequestParts for User {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let token = match cookie(parts, "session") {
            Some(token) => Some(token),
            None => Query::<HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .ok()
                .and_then(|Query(mut query)| query.remove("token")),
        };
        let Some(token) = token else {
            return Err(HttpError::unauthorized(
                "not authenticated: send the `session` cookie or a `?token=` query parameter",
            ));
        };
        let user = state
            .get::<Sessions>()
            .and_then(|sessions| sessions.0.get(&token).cloned());
        user.map(User)
            .ok_or_else(|| HttpError::unauthorized("invalid or expired session"))
    }
}

fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(sse_runtime::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A private stream: only for authenticated users.
async fn private_events(User(name): User) -> Sse {
    Sse::new(async_stream::stream! {
        for i in 0u32.. {
            yield ServerSentEvent::new()
                .event("private")
                .data(serde_json::json!({ "for": name, "n": i }));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

/// Who am I? A plain JSON route behind the same extractor.
async fn me(User(name): User) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "user": name }))
}

/// The app: `GET /private/events` (stream) and `GET /me`, with the given sessions.
pub fn app(sessions: Sessions) -> App {
    App::new()
        .get("/private/events", private_events)
        .get("/me", me)
        .state(sessions)
}
