//! Cross-origin `EventSource` and `fetch`: preflights and response headers.

use sse_runtime::testing::TestClient;
use sse_runtime::{App, Cors, ServerSentEvent, Sse};

async fn events() -> Sse {
    Sse::new(futures_util::stream::iter([
        ServerSentEvent::new().raw_data("hi")
    ]))
}

fn app(cors: Cors) -> TestClient {
    TestClient::new(
        App::new()
            .get("/events", events)
            .post("/events", events)
            .cors(cors),
    )
}

#[tokio::test]
async fn public_stream_allows_any_origin_with_a_star() {
    let client = app(Cors::permissive());
    let response = client
        .get("/events")
        .header("origin", "https://elsewhere.example")
        .send()
        .await;
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert_eq!(response.header("access-control-allow-credentials"), None);
    assert_eq!(response.header("vary"), Some("origin"));
    assert_eq!(response.text().await, "data: hi\n\n");
}

#[tokio::test]
async fn credentialed_eventsource_gets_its_exact_origin_echoed() {
    let client = app(Cors::new()
        .allow_origin("https://app.example")
        .allow_credentials(true));
    let response = client
        .get("/events")
        .header("origin", "https://app.example")
        .header("cookie", "session=1")
        .send()
        .await;
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );

    let other = client
        .get("/events")
        .header("origin", "https://evil.example")
        .send()
        .await;
    assert_eq!(other.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn preflight_is_answered_before_routing() {
    let client = app(Cors::new()
        .allow_origin("https://app.example")
        .max_age(std::time::Duration::from_secs(600)));
    let response = client
        .request(sse_runtime::Method::OPTIONS, "/events")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, authorization",
        )
        .send()
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(
        response.header("access-control-allow-methods"),
        Some("GET, HEAD, POST")
    );
    assert_eq!(
        response.header("access-control-allow-headers"),
        Some("content-type, authorization")
    );
    assert_eq!(response.header("access-control-max-age"), Some("600"));

    let refused = client
        .request(sse_runtime::Method::OPTIONS, "/events")
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await;
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn without_cors_no_headers_are_added_and_options_is_405() {
    let client = TestClient::new(App::new().get("/events", events));
    let response = client
        .get("/events")
        .header("origin", "https://elsewhere.example")
        .send()
        .await;
    assert_eq!(response.header("access-control-allow-origin"), None);
    let options = client
        .request(sse_runtime::Method::OPTIONS, "/events")
        .header("origin", "https://elsewhere.example")
        .header("access-control-request-method", "GET")
        .send()
        .await;
    assert_eq!(options.status(), 405);
}

#[test]
fn any_origin_with_credentials_is_a_start_up_error() {
    for cors in [
        Cors::permissive().allow_credentials(true),
        Cors::new()
            .allow_origin("https://app.example")
            .allow_any_origin()
            .allow_credentials(true),
    ] {
        let err = App::new()
            .get("/events", events)
            .cors(cors)
            .build()
            .expect_err("any origin with credentials is refused");
        assert!(
            err.to_string().contains("any origin with credentials"),
            "{err}"
        );
    }
    // Either alone is fine.
    assert!(App::new().cors(Cors::permissive()).build().is_ok());
    assert!(App::new()
        .cors(
            Cors::new()
                .allow_origin("https://app.example")
                .allow_credentials(true)
        )
        .build()
        .is_ok());
}
