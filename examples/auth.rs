//! Authenticated streams: a cookie or a query token, checked before the stream starts.
//!
//! A browser's `EventSource` cannot send an `Authorization` header, so a stream is
//! authenticated by a cookie (sent automatically, also cross-origin with
//! `withCredentials: true`) or by a token in the query string (for clients that cannot
//! hold cookies; keep such tokens short-lived, since URLs end up in logs). The
//! [`User`] extractor accepts either and rejects with 401 **before** the stream starts,
//! so an unauthenticated client never sees a `200` and never gets an event.
//!
//! ```text
//! cargo run --example auth
//! curl -N http://127.0.0.1:8000/private/events                       # 401
//! curl -N http://127.0.0.1:8000/private/events?token=demo-token      # events
//! curl -N -H 'cookie: session=demo-token' http://127.0.0.1:8000/private/events
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};
use sse_runtime::extract::AppState;
use sse_runtime::extract::FromRequestParts;
use sse_runtime::http::request::Parts;
use sse_runtime::{App, Cookies, Event, HttpError, Json, Query, Stream};

/// Valid session tokens and the user each belongs to.
#[derive(Clone, Debug, Default)]
pub struct Sessions(pub Arc<HashMap<String, String>>);

/// An authenticated user, from the `session` cookie or the `token` query parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User(pub String);

impl FromRequestParts for User {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let cookie = Cookies::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|Cookies(mut cookies)| cookies.remove("session"));
        let token = match cookie {
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

/// One event of the private stream: `{"for": "<user>", "n": 0}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PrivateEvent {
    /// The user the stream is for.
    #[serde(rename = "for")]
    pub user: String,
    /// The event's number, from 0.
    pub n: u32,
}

sse_runtime::routes! {
    /// A private stream: only for authenticated users.
    #[get("/private/events", sse)]
    pub async fn private_events(User(name): User) -> impl Stream<Item = Event<PrivateEvent>> {
        for i in 0u32.. {
            yield Event::new(PrivateEvent { user: name.clone(), n: i }).event("private");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Who am I? A plain JSON route behind the same extractor.
    #[get("/me")]
    pub async fn me(User(name): User) -> Json<Value> {
        Json(json!({ "user": name }))
    }
}

/// The sessions of the demo: the token `demo-token` belongs to the user `demo`.
pub fn demo_sessions() -> Sessions {
    Sessions(Arc::new(HashMap::from([(
        "demo-token".to_owned(),
        "demo".to_owned(),
    )])))
}

/// The app: `GET /private/events` (stream) and `GET /me`, with the given sessions.
pub fn app(sessions: Sessions) -> App {
    App::new().route(private_events).route(me).state(sessions)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    app(demo_sessions()).serve_with_listener(listener).await?; // until Ctrl-C or SIGTERM
    Ok(())
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use serde_json::{json, Value};
    use sse_runtime::testing::TestClient;
    use sse_runtime::StatusCode;

    use super::{app, demo_sessions};

    /// The requests of the module doc, as written there.
    #[tokio::test(start_paused = true)]
    async fn the_demo_token_opens_the_stream_and_nothing_else_does() {
        let client = TestClient::new(app(demo_sessions()));
        let response = client.get("/private/events").send().await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        for request in [
            client.get("/private/events?token=demo-token"),
            client
                .get("/private/events")
                .header("cookie", "session=demo-token"),
        ] {
            let response = request.send().await;
            assert_eq!(response.status(), StatusCode::OK);
            let mut events = response.events();
            for n in 0..2 {
                let event = events.next().await.expect("an endless stream");
                assert_eq!(event.event, "private");
                assert_eq!(event.data, format!(r#"{{"for":"demo","n":{n}}}"#));
            }
        }
        let me: Value = client.get("/me?token=demo-token").send().await.json().await;
        assert_eq!(me, json!({ "user": "demo" }));
    }
}
