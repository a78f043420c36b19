//! A misconfigured app fails when it is built, with every problem listed at once, instead
//! of answering each request with an error that blames the client; and a 500 never shows
//! the client an internal type name.

use serde::Deserialize;
use sse_runtime::extract::{AppState, FromRequestParts};
use sse_runtime::http::request::Parts;
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{get, routes, App, HttpError, Path, State, StatusCode, Stream};

#[derive(Clone)]
struct Stats;

#[derive(Clone)]
struct Quotes;

#[derive(Deserialize)]
struct MetricPath {
    metric: String,
}

/// A plain handler with a state and a struct path.
async fn metric(Path(path): Path<MetricPath>, State(_): State<Stats>) -> String {
    path.metric
}

/// A plain handler with a tuple path.
async fn pair(Path((a, b)): Path<(String, u32)>) -> String {
    format!("{a}{b}")
}

#[get("/quotes/{symbol}")]
async fn quote(Path(symbol): Path<String>, State(_): State<Quotes>) -> String {
    symbol
}

routes! {
    #[get("/ticks/{n}", sse)]
    async fn ticks(Path(n): Path<u32>, State(_): State<Stats>) -> impl Stream<Item = u32> {
        for i in 0..n {
            yield i;
        }
    }
}

#[test]
fn build_lists_every_problem_at_once() {
    let err = App::new()
        .get("/metrics/{metrc}", metric)
        .get("/pairs/{a}", pair)
        .route(quote)
        .route(ticks)
        .get("/health", || async { "ok" })
        .get("/health", || async { "again" })
        .build()
        .expect_err("a misconfigured app must not build");
    let text = err.to_string();
    let expected = [
        "the app has 6 problems:",
        "- `GET /metrics/{metrc}` reads `State<",
        "Stats>`, but no value of that type is registered (add `.state(value)` to the app)",
        "- `GET /metrics/{metrc}` extracts `Path<",
        "MetricPath>`: field `metric` matches no path parameter (the route has {metrc})",
        "- `GET /pairs/{a}` extracts `Path<(alloc::string::String, u32)>`: a tuple of 2 values, but the route has {a}",
        // The route attributes declare the same requirements as plain handlers.
        "- `GET /quotes/{symbol}` reads `State<",
        "Quotes>`",
        "- `GET /ticks/{n}` reads `State<",
        "- route `GET /health` is registered twice",
    ];
    for part in expected {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

#[test]
fn a_well_configured_app_builds() {
    App::new()
        .get("/metrics/{metric}", metric)
        .get("/pairs/{a}/{b}", pair)
        .route(quote)
        .route(ticks)
        .state(Stats)
        .state(Quotes)
        .build()
        .expect("everything is provided");
}

/// A custom extractor that reads a state it did not declare: only a request finds out.
struct Undeclared;

impl FromRequestParts for Undeclared {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let State(Stats) = State::<Stats>::from_request_parts(parts, state).await?;
        Ok(Undeclared)
    }
}

async fn undeclared(_: Undeclared) -> &'static str {
    "never"
}

#[tokio::test]
async fn a_500_shows_the_client_no_type_name() {
    let client = TestClient::spawn(App::new().get("/u", undeclared), Protocol::Http1).await;
    let response = client.get("/u").send().await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = response.text().await;
    assert_eq!(body, r#"{"detail":"Internal Server Error"}"#);
    assert!(!body.contains("Stats"), "{body}");
}
