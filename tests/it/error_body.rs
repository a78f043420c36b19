//! The app's error body shape (`App::error_body`): FastAPI's `{"detail": ...}` by default,
//! OpenAI's `{"error": {...}}` or an app's own, for plain routes, extractor rejections,
//! the router's 404 and 405, panics, and streaming routes (the response before the first
//! event, the error event and the last JSON Line after it); a structured
//! `HttpError::with_detail` stays JSON everywhere; the OpenAPI document shows the shape.

use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use sse_runtime::testing::{Protocol, TestClient, TestResponse};
use sse_runtime::{
    error_body, App, HttpError, IntoResponse, JsonLines, Query, ServerSentEvent, Sse, StatusCode,
};

fn structured() -> HttpError {
    HttpError::with_detail(
        StatusCode::UNAUTHORIZED,
        json!({ "message": "Incorrect API key provided", "code": "invalid_api_key" }),
    )
}

async fn plain() -> Result<&'static str, HttpError> {
    Err(structured())
}

/// Fails at once: before the first event, so the failure is the response.
async fn fails_first() -> Sse {
    Sse::try_new(futures_util::stream::iter([Err::<ServerSentEvent, _>(
        structured(),
    )]))
}

/// One event, then the failure: an `event: error` on a 200 stream.
async fn fails_later() -> Sse {
    Sse::try_new(futures_util::stream::iter([
        Ok(ServerSentEvent::new().data("one")),
        Err(structured()),
    ]))
}

/// The same as JSON Lines.
async fn lines_fail_later() -> JsonLines {
    JsonLines::try_new(futures_util::stream::iter([
        Ok(json!({ "n": 1 })),
        Err(structured()),
    ]))
}

/// A stream that errs with a type that is no `HttpError`: 500 and its text.
async fn io_error_later() -> Sse {
    Sse::try_new(futures_util::stream::iter([
        Ok(ServerSentEvent::new().data("one")),
        Err(std::io::Error::other("disk gone")),
    ]))
}

#[derive(Deserialize)]
struct Page {
    #[allow(dead_code)]
    n: u32,
}

async fn paged(Query(_): Query<Page>) -> &'static str {
    "ok"
}

async fn panics() -> &'static str {
    panic!("boom")
}

fn app() -> App {
    App::new()
        .get("/plain", plain)
        .get("/first", fails_first)
        .get("/later", fails_later)
        .get("/lines", lines_fail_later)
        .get("/io", io_error_later)
        .get("/paged", paged)
        .get("/panics", panics)
}

async fn json_of(response: TestResponse) -> (StatusCode, Value) {
    let status = response.status();
    assert_eq!(response.header("content-type"), Some("application/json"));
    (status, response.json().await)
}

/// The data of the last event of a stream, and its `event` field.
async fn last_event(response: TestResponse) -> (String, Value) {
    assert_eq!(response.status(), StatusCode::OK);
    let events: Vec<_> = response.events().collect().await;
    let last = events.last().expect("an event");
    (last.event.clone(), last.json::<Value>().expect("JSON data"))
}

async fn last_line(response: TestResponse) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await;
    let line = text.lines().last().expect("a line");
    serde_json::from_str(line).expect("a JSON line")
}

/// The default shape, unchanged but for the bug of issue 23: a structured detail yielded
/// as `Err` arrives as JSON, not as a string of JSON.
#[tokio::test]
async fn by_default_a_structured_detail_stays_json_in_streams() {
    let client = TestClient::new(app());
    let detail = json!({ "message": "Incorrect API key provided", "code": "invalid_api_key" });
    assert_eq!(
        json_of(client.get("/plain").send().await).await,
        (StatusCode::UNAUTHORIZED, json!({ "detail": detail }))
    );
    assert_eq!(
        json_of(client.get("/first").send().await).await,
        (StatusCode::UNAUTHORIZED, json!({ "detail": detail }))
    );
    assert_eq!(
        last_event(client.get("/later").send().await).await,
        (
            "error".to_owned(),
            json!({ "status": 401, "detail": detail })
        )
    );
    assert_eq!(
        last_line(client.get("/lines").send().await).await,
        json!({ "error": { "status": 401, "detail": detail } })
    );
    assert_eq!(
        last_event(client.get("/io").send().await).await,
        (
            "error".to_owned(),
            json!({ "status": 500, "detail": "disk gone" })
        )
    );
    let (status, body) = json_of(client.get("/paged?n=x").send().await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["loc"], json!(["query", "n"]));
    assert_eq!(
        json_of(client.get("/nowhere").send().await).await,
        (StatusCode::NOT_FOUND, json!({ "detail": "Not Found" }))
    );
}

/// OpenAI's shape everywhere, over real sockets (HTTP/1.1 and h2c).
#[tokio::test]
async fn open_ai_shape_for_every_error_the_app_answers() {
    let expected = json!({ "error": {
        "message": "Incorrect API key provided",
        "type": "invalid_request_error",
        "param": null,
        "code": "invalid_api_key",
    } });
    for protocol in [Protocol::Http1, Protocol::Http2] {
        let client = TestClient::spawn(app().error_body(error_body::OpenAi), protocol).await;
        let p = format!("{protocol:?}");
        assert_eq!(
            json_of(client.get("/plain").send().await).await,
            (StatusCode::UNAUTHORIZED, expected.clone()),
            "{p}"
        );
        assert_eq!(
            json_of(client.get("/first").send().await).await,
            (StatusCode::UNAUTHORIZED, expected.clone()),
            "{p}"
        );
        assert_eq!(
            last_event(client.get("/later").send().await).await,
            ("error".to_owned(), expected.clone()),
            "{p}"
        );
        assert_eq!(
            last_line(client.get("/lines").send().await).await,
            expected,
            "{p}"
        );
        let (event, data) = last_event(client.get("/io").send().await).await;
        assert_eq!(event, "error");
        assert_eq!(
            data,
            json!({ "error": {
                "message": "disk gone", "type": "server_error", "param": null, "code": null,
            } }),
            "{p}"
        );
        let (status, body) = json_of(client.get("/paged?n=x").send().await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(body["error"]["param"], "n", "{p}");
        assert_eq!(body["error"]["type"], "invalid_request_error", "{p}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("query.n: ")),
            "{body}"
        );
        assert_eq!(
            json_of(client.get("/nowhere").send().await).await,
            (
                StatusCode::NOT_FOUND,
                json!({ "error": {
                    "message": "Not Found", "type": "invalid_request_error",
                    "param": null, "code": null,
                } })
            ),
            "{p}"
        );
        let (status, body) = json_of(client.post("/plain").send().await).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{p}");
        assert_eq!(body["error"]["message"], "Method Not Allowed", "{p}");
        let (status, body) = json_of(client.get("/panics").send().await).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{p}");
        assert_eq!(body["error"]["type"], "server_error", "{p}");
    }
}

/// An app's own shape, as a closure: the same body in the response and the error event;
/// a rejection reaches it as an `HttpError` whose detail is the list of error items.
#[tokio::test]
async fn a_closure_is_an_apps_own_shape() {
    let shape = |err: &HttpError| json!({ "ok": false, "why": err.detail() });
    let client = TestClient::new(app().error_body(shape));
    let why = json!({ "message": "Incorrect API key provided", "code": "invalid_api_key" });
    assert_eq!(
        json_of(client.get("/first").send().await).await,
        (StatusCode::UNAUTHORIZED, json!({ "ok": false, "why": why }))
    );
    assert_eq!(
        last_event(client.get("/later").send().await).await,
        ("error".to_owned(), json!({ "ok": false, "why": why }))
    );
    let (status, body) = json_of(client.get("/paged").send().await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["ok"], false);
    assert_eq!(body["why"][0]["type"], "missing");
}

/// Headers a handler set on an error response stay when the body is rewritten.
#[tokio::test]
async fn a_rewritten_error_keeps_its_status_and_headers() {
    async fn limited() -> sse_runtime::Response {
        let error = HttpError::new(StatusCode::BAD_REQUEST, "slow down");
        let mut response = (StatusCode::TOO_MANY_REQUESTS, error).into_response();
        let value = sse_runtime::http::HeaderValue::from_static("3");
        response.headers_mut().insert("retry-after", value);
        response
    }
    let client = TestClient::new(
        App::new()
            .get("/limited", limited)
            .error_body(error_body::OpenAi),
    );
    let response = client.get("/limited").send().await;
    assert_eq!(response.header("retry-after"), Some("3"));
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["message"], "slow down");
}

/// A stream whose first `Err` comes after the first-event window: 200, then the error
/// event in the app's shape.
#[tokio::test(start_paused = true)]
async fn a_late_failure_is_an_error_event_in_the_apps_shape() {
    async fn slow() -> Sse {
        Sse::try_new(async_stream::stream! {
            tokio::time::sleep(Duration::from_secs(30)).await;
            yield Err::<ServerSentEvent, _>(HttpError::new(StatusCode::BAD_GATEWAY, "upstream"));
        })
    }
    let app = App::new().get("/slow", slow).error_body(error_body::OpenAi);
    let (event, data) = last_event(TestClient::new(app).get("/slow").send().await).await;
    assert_eq!(event, "error");
    assert_eq!(
        data,
        json!({ "error": {
            "message": "upstream", "type": "server_error", "param": null, "code": null,
        } })
    );
}

/// The OpenAPI document's error responses refer to the chosen shape's schema.
#[test]
fn the_openapi_document_shows_the_chosen_shape() {
    #[sse_runtime::get("/items/{id}")]
    async fn item(sse_runtime::Path(id): sse_runtime::Path<u32>) -> Result<String, HttpError> {
        Ok(id.to_string())
    }
    let default_doc = App::new().route(item).openapi();
    let responses = &default_doc["paths"]["/items/{id}"]["get"]["responses"];
    assert_eq!(
        responses["422"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/HTTPValidationError"
    );
    assert_eq!(
        responses["default"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/HTTPError"
    );

    let doc = App::new()
        .route(item)
        .error_body(error_body::OpenAi)
        .openapi();
    let responses = &doc["paths"]["/items/{id}"]["get"]["responses"];
    for status in ["422", "default"] {
        assert_eq!(
            responses[status]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorResponse",
            "{status}"
        );
    }
    let schemas = &doc["components"]["schemas"];
    assert!(schemas.get("HTTPError").is_none(), "{schemas:#}");
    assert!(schemas.get("HTTPValidationError").is_none(), "{schemas:#}");
    assert_eq!(
        schemas["ErrorResponse"]["properties"]["error"]["required"],
        json!(["message", "type", "param", "code"])
    );

    // A closure's shape: the default schema, an object named `Error`.
    let doc = App::new()
        .route(item)
        .error_body(|err: &HttpError| json!({ "e": err.to_string() }))
        .openapi();
    assert_eq!(
        doc["paths"]["/items/{id}"]["get"]["responses"]["default"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/Error"
    );
    assert_eq!(doc["components"]["schemas"]["Error"]["type"], "object");
}
