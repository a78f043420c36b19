//! A cross-origin, cookie-authenticated `EventSource`: a page on one origin logs in to an
//! API on another and streams from it with its session cookie.
//!
//! Two servers: the **page** (`http://localhost:8001`) and the **API**
//! (`http://localhost:8000`). Different ports are different origins, so every request of
//! the page to the API is cross-origin (CORS); but cookies ignore ports, so the two are
//! the same *site*, and a `SameSite=Lax` cookie set by the API goes with the page's
//! requests to it.
//!
//! 1. The page `POST`s the credentials to `API/login` with `fetch(.., { credentials:
//!    "include" })`; the API answers `204` with `Set-Cookie: session=...; HttpOnly;
//!    SameSite=Lax; Path=/` (`HttpOnly`: no script reads it, not even the page's).
//! 2. The page opens `new EventSource(API + "/events", { withCredentials: true })`: the
//!    browser sends the cookie, and accepts the stream because the API's CORS answer names
//!    the page's origin exactly, with `Access-Control-Allow-Credentials: true` (never `*`
//!    with credentials: `App::build` refuses that configuration).
//! 3. Without the cookie, `/events` answers `401` with `{"detail": ...}` before the stream
//!    starts, so the `EventSource` fails (`readyState` CLOSED) and gets no event. A page
//!    on an origin the API does not allow gets no event either: the browser drops the
//!    response for lack of CORS headers.
//!
//! ```text
//! cargo run --example cookie_auth     # then open http://localhost:8001/ (user demo, password demo)
//! ```
//!
//! `ADDR` and `PAGE_ADDR` choose the two addresses (`127.0.0.1:0` for free ports); the
//! first line printed is the API's, the second the page's.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use sse_runtime::extract::{AppState, FromRequestParts};
use sse_runtime::http::header::{HeaderValue, SET_COOKIE};
use sse_runtime::http::request::Parts;
use sse_runtime::{
    App, Cookies, Cors, Html, HttpError, IntoResponse, Json, Method, Response, ServerSentEvent,
    State, StatusCode, Stream,
};

/// The demo's one account.
pub const DEMO_USER: &str = "demo";
/// Its password.
pub const DEMO_PASSWORD: &str = "demo";

/// Open sessions: token → user. Cheap to clone (shared).
#[derive(Clone, Debug, Default)]
pub struct Sessions(Arc<Mutex<HashMap<String, String>>>);

impl Sessions {
    /// Opens a session for `user`, returning its new token.
    pub fn open(&self, user: &str) -> String {
        // 128 random bits from the std hasher's per-process random keys and a fresh
        // `RandomState` per token; a real app would use a CSPRNG (`rand`, `getrandom`).
        let token = format!(
            "{:016x}{:016x}",
            RandomState::new().hash_one(user),
            RandomState::new().hash_one(user)
        );
        self.lock().insert(token.clone(), user.to_owned());
        token
    }

    /// The user of `token`, if it is an open session.
    pub fn user(&self, token: &str) -> Option<String> {
        self.lock().get(token).cloned()
    }

    /// Ends the session of `token`.
    pub fn close(&self, token: &str) {
        self.lock().remove(token);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A panic while holding the lock leaves the map as it was: keep using it.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The session cookie, if the request has one.
#[derive(Debug, Deserialize)]
pub struct SessionCookie {
    /// The session token.
    pub session: Option<String>,
}

/// The logged-in user, from the `session` cookie; `401` without a valid one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User(pub String);

impl FromRequestParts for User {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let token = Cookies::<SessionCookie>::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|Cookies(cookie)| cookie.session)
            .ok_or_else(|| HttpError::unauthorized("not logged in: no session cookie"))?;
        state
            .get::<Sessions>()
            .and_then(|sessions| sessions.user(&token))
            .map(User)
            .ok_or_else(|| HttpError::unauthorized("invalid or expired session"))
    }
}

/// The body of `POST /login`.
#[derive(Debug, Deserialize)]
pub struct Login {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

/// The `Set-Cookie` value of a session: `HttpOnly` (no script reads it), `SameSite=Lax`
/// (sent to the API by pages of the same site, here any port of `localhost`). Add `Secure`
/// when served over HTTPS.
fn session_cookie(token: &str, max_age: u64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "session={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}"
    ))
    .ok()
}

sse_runtime::routes! {
    /// `POST /login` with `{"user": ..., "password": ...}`: `204` and the session cookie,
    /// or `401`.
    #[post("/login")]
    pub async fn login(
        State(sessions): State<Sessions>,
        Json(credentials): Json<Login>,
    ) -> Result<Response, HttpError> {
        if credentials.user != DEMO_USER || credentials.password != DEMO_PASSWORD {
            return Err(HttpError::unauthorized("wrong user or password"));
        }
        let token = sessions.open(&credentials.user);
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Some(cookie) = session_cookie(&token, 3600) {
            response.headers_mut().insert(SET_COOKIE, cookie);
        }
        Ok(response)
    }

    /// `POST /logout`: ends the session and clears the cookie.
    #[post("/logout")]
    pub async fn logout(
        State(sessions): State<Sessions>,
        Cookies(cookie): Cookies<SessionCookie>,
    ) -> Response {
        if let Some(token) = cookie.session {
            sessions.close(&token);
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Some(cookie) = session_cookie("", 0) {
            response.headers_mut().insert(SET_COOKIE, cookie);
        }
        response
    }

    /// `GET /events`: the logged-in user's stream, one `event: private` a second.
    #[get("/events", sse)]
    pub async fn events(User(name): User) -> impl Stream<Item = ServerSentEvent> {
        for n in 0u32.. {
            yield ServerSentEvent::new()
                .event("private")
                .data(json!({ "for": name, "n": n }));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// `GET /me`: `{"user": ...}` for the logged-in user.
    #[get("/me")]
    pub async fn me(User(name): User) -> Json<Value> {
        Json(json!({ "user": name }))
    }
}

/// The API on its own origin: it lets `page_origin` (exactly, e.g.
/// `http://localhost:8001`) call it with credentials.
pub fn api(sessions: Sessions, page_origin: &str) -> App {
    App::new()
        .route(login)
        .route(logout)
        .route(events)
        .route(me)
        .state(sessions)
        .cors(
            Cors::new()
                .allow_origin(page_origin)
                .allow_credentials(true)
                .allow_methods([Method::GET, Method::POST]),
        )
}

/// The page's origin: `GET /`, the page, which talks to the API at `api_origin`.
pub fn page(api_origin: &str) -> App {
    let html = PAGE.replace("{{API}}", api_origin);
    App::new().get("/", move || {
        let html = html.clone();
        async move { Html(html) }
    })
}

/// The page: a login form and the stream's events. `window.log` records what happened
/// (the browser test reads it).
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>cookie_auth: a cross-origin EventSource with a session cookie</title>
<style>body { font: 15px system-ui, sans-serif; margin: 2rem; } li { font-family: monospace; }</style>
<h1>Cross-origin EventSource with a session cookie</h1>
<p>This page's origin is <code id="origin"></code>; the API is <code>{{API}}</code>.</p>
<form id="login">
  <input name="user" value="demo" aria-label="user">
  <input name="password" type="password" value="demo" aria-label="password">
  <button>Log in</button>
  <button type="button" id="listen">Listen</button>
  <button type="button" id="logout">Log out</button>
</form>
<p id="status">not listening</p>
<ul id="events"></ul>
<script>
const API = "{{API}}";
window.log = [];
document.getElementById("origin").textContent = location.origin;
const status = (text) => { document.getElementById("status").textContent = text; };

// 1. Log in: the API sets an HttpOnly cookie; `credentials: "include"` makes the browser
// keep it although the API is another origin.
window.login = async (user, password) => {
  const response = await fetch(API + "/login", {
    method: "POST",
    credentials: "include",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user, password }),
  });
  window.log.push({ kind: "login", status: response.status });
  status(response.ok ? "logged in" : "login refused: " + response.status);
  return response.status;
};

// 2. Listen: `withCredentials` sends the cookie to the other origin.
window.listen = () => {
  const source = new EventSource(API + "/events", { withCredentials: true });
  window.source = source;
  source.onopen = () => { window.log.push({ kind: "open" }); status("listening"); };
  source.addEventListener("private", (event) => {
    window.log.push({ kind: "event", data: JSON.parse(event.data) });
    const item = document.createElement("li");
    item.textContent = event.data;
    document.getElementById("events").append(item);
  });
  source.addEventListener("error", (event) => {
    if (event instanceof MessageEvent) return; // a server-sent `event: error`
    window.log.push({ kind: "connection-error", readyState: source.readyState });
    // CLOSED: the API refused (401 when not logged in) or CORS did not allow this origin.
    status(source.readyState === EventSource.CLOSED ? "refused: log in first" : "reconnecting");
  });
};

document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  if ((await window.login(form.get("user"), form.get("password"))) === 204) window.listen();
});
document.getElementById("listen").addEventListener("click", () => window.listen());
document.getElementById("logout").addEventListener("click", async () => {
  window.source?.close();
  await fetch(API + "/logout", { method: "POST", credentials: "include" });
  status("logged out");
});
</script>
</html>
"#;

/// `http://localhost:PORT` for a listener: `localhost`, so both origins are one site.
fn origin_of(listener: &tokio::net::TcpListener) -> std::io::Result<String> {
    Ok(format!(
        "http://localhost:{}",
        listener.local_addr()?.port()
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let api_addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8000".to_owned());
    let page_addr = std::env::var("PAGE_ADDR").unwrap_or_else(|_| "127.0.0.1:8001".to_owned());
    let api_listener = tokio::net::TcpListener::bind(api_addr).await?;
    let page_listener = tokio::net::TcpListener::bind(page_addr).await?;
    let (api_origin, page_origin) = (origin_of(&api_listener)?, origin_of(&page_listener)?);
    println!("listening on http://{}", api_listener.local_addr()?);
    println!("page on {page_origin}/ (API at {api_origin})");
    // Both until Ctrl-C or SIGTERM.
    tokio::try_join!(
        api(Sessions::default(), &page_origin).serve_with_listener(api_listener),
        page(&api_origin).serve_with_listener(page_listener),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use serde_json::{json, Value};
    use sse_runtime::testing::{TestClient, TestResponse};
    use sse_runtime::StatusCode;

    use super::{api, page, Sessions, DEMO_PASSWORD, DEMO_USER};

    const PAGE_ORIGIN: &str = "http://localhost:8001";

    fn client() -> TestClient {
        TestClient::new(api(Sessions::default(), PAGE_ORIGIN))
    }

    /// The session cookie (`session=...`) a login response sets, checked for its flags.
    fn session_of(response: &TestResponse) -> String {
        let set_cookie = response.header("set-cookie").expect("a Set-Cookie");
        for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(set_cookie.contains(flag), "{flag} in {set_cookie}");
        }
        set_cookie.split(';').next().expect("name=value").to_owned()
    }

    async fn log_in(client: &TestClient) -> String {
        let response = client
            .post("/login")
            .header("origin", PAGE_ORIGIN)
            .json(&json!({ "user": DEMO_USER, "password": DEMO_PASSWORD }))
            .send()
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            response.header("access-control-allow-origin"),
            Some(PAGE_ORIGIN)
        );
        assert_eq!(
            response.header("access-control-allow-credentials"),
            Some("true")
        );
        session_of(&response)
    }

    #[tokio::test(start_paused = true)]
    async fn after_login_the_cookie_opens_the_stream_for_the_page_origin() {
        let client = client();
        let cookie = log_in(&client).await;
        let response = client
            .get("/events")
            .header("origin", PAGE_ORIGIN)
            .header("cookie", &cookie)
            .send()
            .await;
        response.assert_event_stream();
        assert_eq!(
            response.header("access-control-allow-origin"),
            Some(PAGE_ORIGIN),
            "the exact origin, never `*`"
        );
        assert_eq!(
            response.header("access-control-allow-credentials"),
            Some("true")
        );
        let events: Vec<_> = response.events().take(2).collect().await;
        assert_eq!(events[0].event, "private");
        assert_eq!(
            events[1].json::<Value>().expect("JSON"),
            json!({ "for": "demo", "n": 1 })
        );
    }

    #[tokio::test]
    async fn without_a_valid_session_the_stream_is_401_json_before_it_starts() {
        let client = client();
        for cookie in [None, Some("session=forged"), Some("theme=dark")] {
            let mut request = client.get("/events").header("origin", PAGE_ORIGIN);
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            let response = request.send().await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{cookie:?}");
            assert_eq!(response.header("content-type"), Some("application/json"));
            let body: Value = response.json().await;
            assert!(body["detail"].is_string(), "{body}");
        }
        let wrong = client
            .post("/login")
            .json(&json!({ "user": DEMO_USER, "password": "guess" }))
            .send()
            .await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.header("set-cookie"), None);
    }

    #[tokio::test]
    async fn another_origin_gets_no_cors_headers_and_no_preflight() {
        let client = client();
        let cookie = log_in(&client).await;
        let response = client
            .get("/me")
            .header("origin", "http://localhost:9999")
            .header("cookie", &cookie)
            .send()
            .await;
        // The server answers (it cannot know the caller), but without CORS headers the
        // browser hands the response to no script of that origin.
        assert_eq!(response.header("access-control-allow-origin"), None);
        assert_eq!(response.header("access-control-allow-credentials"), None);
        for (origin, status) in [
            (PAGE_ORIGIN, StatusCode::NO_CONTENT),
            ("http://localhost:9999", StatusCode::FORBIDDEN),
        ] {
            let preflight = client
                .request(sse_runtime::Method::OPTIONS, "/login")
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .send()
                .await;
            assert_eq!(preflight.status(), status, "{origin}");
        }
    }

    #[tokio::test]
    async fn logout_ends_the_session() {
        let client = client();
        let cookie = log_in(&client).await;
        let me: Value = client
            .get("/me")
            .header("cookie", &cookie)
            .send()
            .await
            .json()
            .await;
        assert_eq!(me, json!({ "user": "demo" }));
        let out = client
            .post("/logout")
            .header("cookie", &cookie)
            .send()
            .await;
        assert_eq!(out.status(), StatusCode::NO_CONTENT);
        assert!(out
            .header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0")));
        let me = client.get("/me").header("cookie", &cookie).send().await;
        assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn the_page_points_at_the_api() {
        let html = TestClient::new(page("http://localhost:8000"))
            .get("/")
            .send()
            .await
            .text()
            .await;
        assert!(html.contains(r#"const API = "http://localhost:8000";"#));
        assert!(html.contains("withCredentials: true"));
        assert!(html.contains(r#"credentials: "include""#));
    }
}
