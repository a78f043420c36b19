//! `Form<T>` (an urlencoded body) and `Cookies<T>` (the request's cookies): success, 413,
//! 415 and 422 naming the field, a cookie-authenticated event stream, and their OpenAPI
//! documentation.

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use sse_runtime::schemars::JsonSchema;
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{App, Cookies, Form, HttpError, Method, RouteDef, ServerSentEvent, Sse};

const FORM: &str = "application/x-www-form-urlencoded";

#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
struct Login {
    user: String,
    age: u32,
    remember: Option<bool>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
struct Session {
    session: String,
    theme: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
struct Visits {
    visits: u32,
}

async fn login(Form(login): Form<Login>) -> String {
    format!("{} {} {:?}", login.user, login.age, login.remember)
}

async fn me(Cookies(c): Cookies<Session>) -> String {
    format!("{} {:?}", c.session, c.theme)
}

async fn visits(Cookies(v): Cookies<Visits>) -> String {
    v.visits.to_string()
}

/// A private stream: the `session` cookie must be `t0k3n`; checked before it starts.
async fn private(Cookies(c): Cookies<Session>) -> Result<Sse, HttpError> {
    if c.session != "t0k3n" {
        return Err(HttpError::unauthorized("invalid or expired session"));
    }
    Ok(Sse::new(async_stream::stream! {
        for n in 0u32..3 {
            yield ServerSentEvent::new().event("private").data(n);
        }
    }))
}

fn app() -> App {
    App::new()
        .route(RouteDef::documented(Method::POST, "/login", login))
        .route(RouteDef::documented(Method::GET, "/me", me))
        .route(RouteDef::documented(Method::GET, "/visits", visits))
        .route(RouteDef::documented(
            Method::GET,
            "/private/events",
            private,
        ))
        .limits(sse_runtime::Limits::default().max_body_bytes(64))
}

async fn detail(response: sse_runtime::testing::TestResponse) -> Value {
    let body: Value = response.json().await;
    body["detail"].clone()
}

// Form

#[tokio::test]
async fn form_deserializes_an_urlencoded_body() {
    let client = TestClient::new(app());
    let response = client
        .post("/login")
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body("user=ada+lovelace%21&age=36")
        .send()
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await, "ada lovelace! 36 None");

    let response = client
        .post("/login")
        .header("content-type", FORM)
        .body("remember=true&age=1&user=x")
        .send()
        .await;
    assert_eq!(response.text().await, "x 1 Some(true)");
}

#[tokio::test]
async fn form_with_another_content_type_is_415() {
    let client = TestClient::new(app());
    for request in [
        client
            .post("/login")
            .json(&json!({"user": "ada", "age": 36})),
        client.post("/login").body("user=ada&age=36"),
    ] {
        let response = request.send().await;
        assert_eq!(response.status(), 415);
        assert_eq!(response.header("content-type"), Some("application/json"));
        let detail = detail(response).await;
        assert_eq!(detail[0]["loc"], json!(["header", "content-type"]));
        assert!(
            detail[0]["msg"].as_str().unwrap().contains(FORM),
            "{detail}"
        );
    }
}

#[tokio::test]
async fn form_over_the_body_limit_is_413() {
    let client = TestClient::new(app());
    let response = client
        .post("/login")
        .header("content-type", FORM)
        .body(format!("age=1&user={}", "a".repeat(100)))
        .send()
        .await;
    assert_eq!(response.status(), 413);
    assert_eq!(detail(response).await[0]["loc"], json!(["body"]));
}

#[tokio::test]
async fn form_missing_or_invalid_field_is_422_naming_it() {
    let client = TestClient::new(app());
    let send = |body: &'static str| {
        client
            .post("/login")
            .header("content-type", FORM)
            .body(body)
            .send()
    };
    let missing = send("age=36").await;
    assert_eq!(missing.status(), 422);
    let detail_missing = detail(missing).await;
    assert_eq!(detail_missing[0]["loc"], json!(["body", "user"]));
    assert_eq!(detail_missing[0]["type"], "missing");

    let invalid = send("user=ada&age=old").await;
    assert_eq!(invalid.status(), 422);
    let detail_invalid = detail(invalid).await;
    assert_eq!(detail_invalid[0]["loc"], json!(["body", "age"]));
    assert!(
        !detail_invalid.to_string().contains("Login"),
        "{detail_invalid}"
    );
}

// Cookies

#[tokio::test]
async fn cookies_from_one_header() {
    let client = TestClient::new(app());
    let response = client
        .get("/me")
        .header("cookie", "lang=en; session=abc%3Bd; theme=\"dark\"")
        .send()
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await, r#"abc;d Some("dark")"#);
}

#[tokio::test]
async fn cookies_from_several_headers_first_of_a_name_wins() {
    let client = TestClient::new(app());
    let response = client
        .get("/me")
        .header("cookie", "lang=en")
        .header("cookie", "session=s1; theme=light")
        .header("cookie", "session=s2")
        .send()
        .await;
    assert_eq!(response.text().await, r#"s1 Some("light")"#);
}

#[tokio::test]
async fn optional_cookie_absent_is_none() {
    let client = TestClient::new(app());
    let response = client
        .get("/me")
        .header("cookie", "session=a+b")
        .send()
        .await;
    assert_eq!(response.status(), 200);
    // A `+` in a cookie is a plus, not a space.
    assert_eq!(response.text().await, "a+b None");
}

#[tokio::test]
async fn missing_or_invalid_cookie_is_422_naming_it() {
    let client = TestClient::new(app());
    for request in [
        client.get("/me"),
        client.get("/me").header("cookie", "theme=dark; other=1"),
    ] {
        let response = request.send().await;
        assert_eq!(response.status(), 422);
        let detail = detail(response).await;
        assert_eq!(detail[0]["loc"], json!(["cookie", "session"]));
        assert_eq!(detail[0]["type"], "missing");
    }

    let response = client
        .get("/visits")
        .header("cookie", "visits=many")
        .send()
        .await;
    assert_eq!(response.status(), 422);
    let detail = detail(response).await;
    assert_eq!(detail[0]["loc"], json!(["cookie", "visits"]));
    assert!(!detail.to_string().contains("Visits"), "{detail}");
    let ok = client
        .get("/visits")
        .header("cookie", "visits=3")
        .send()
        .await;
    assert_eq!(ok.text().await, "3");
}

#[tokio::test]
async fn cookie_authenticated_stream_answers_before_it_starts() {
    let client = TestClient::spawn(app(), Protocol::Http1).await;

    let missing = client.get("/private/events").send().await;
    assert_eq!(missing.status(), 422);
    assert_eq!(missing.header("content-type"), Some("application/json"));
    assert_eq!(
        detail(missing).await[0]["loc"],
        json!(["cookie", "session"])
    );

    let wrong = client
        .get("/private/events")
        .header("cookie", "session=wrong")
        .send()
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.header("content-type"), Some("application/json"));

    let ok = client
        .get("/private/events")
        .header("cookie", "theme=dark; session=t0k3n")
        .send()
        .await;
    assert_eq!(ok.status(), 200);
    assert!(ok
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/event-stream")));
    let events: Vec<_> = ok.events().collect().await;
    let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["0", "1", "2"]);
    assert!(events.iter().all(|e| e.event == "private"));
}

// OpenAPI

#[test]
fn openapi_documents_cookie_parameters_and_the_form_body() {
    let doc = app().openapi();

    let me = &doc["paths"]["/me"]["get"];
    let params: Vec<(String, String, bool)> = me["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_owned(),
                p["in"].as_str().unwrap_or_default().to_owned(),
                p["required"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        params,
        [
            ("session".to_owned(), "cookie".to_owned(), true),
            ("theme".to_owned(), "cookie".to_owned(), false),
        ]
    );
    assert!(me["responses"].get("422").is_some(), "{me}");

    let login = &doc["paths"]["/login"]["post"];
    assert_eq!(login["requestBody"]["required"], true);
    let content = login["requestBody"]["content"]
        .as_object()
        .expect("content");
    assert_eq!(content.keys().collect::<Vec<_>>(), [FORM]);
    let schema = &content[FORM]["schema"];
    let name = schema["$ref"]
        .as_str()
        .and_then(|r| r.rsplit('/').next())
        .expect("a $ref");
    let login_schema = &doc["components"]["schemas"][name];
    assert_eq!(login_schema["required"], json!(["user", "age"]));
    for status in ["413", "415", "422"] {
        assert!(
            login["responses"].get(status).is_some(),
            "{status}: {login}"
        );
    }
}
