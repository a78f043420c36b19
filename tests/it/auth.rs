//! The authentication example (`examples/auth.rs`): cookie or query token, 401 before any
//! stream starts.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;
use sse_runtime::testing::{Protocol, TestClient};

use crate::auth_example::{app, Sessions};

fn sessions() -> Sessions {
    Sessions(Arc::new(HashMap::from([(
        "t0k3n".to_owned(),
        "ada".to_owned(),
    )])))
}

#[tokio::test]
async fn unauthenticated_stream_is_401_json_not_an_empty_200() {
    let client = TestClient::spawn(app(sessions()), Protocol::Http1).await;
    for request in [
        client.get("/private/events"),
        client.get("/private/events?token=wrong"),
        client
            .get("/private/events")
            .header("cookie", "session=wrong"),
    ] {
        let response = request.send().await;
        assert_eq!(response.status(), 401);
        assert_eq!(response.header("content-type"), Some("application/json"));
        let body: serde_json::Value = response.json().await;
        assert!(
            body["detail"].as_str().unwrap().contains("session"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn cookie_or_query_token_opens_the_stream() {
    let client = TestClient::new(app(sessions()));
    for request in [
        client.get("/private/events?token=t0k3n"),
        client
            .get("/private/events")
            .header("cookie", "theme=dark; session=t0k3n"),
    ] {
        let response = request.send().await;
        assert_eq!(response.status(), 200);
        let first = response.events().next().await.unwrap();
        assert_eq!(first.event, "private");
        assert_eq!(first.data, r#"{"for":"ada","n":0}"#);
    }
    let me: serde_json::Value = client.get("/me?token=t0k3n").send().await.json().await;
    assert_eq!(me, serde_json::json!({"user": "ada"}));
}
