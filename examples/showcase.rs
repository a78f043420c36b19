//! The showcase: the other examples' routes in one app, plus `GET /`, one HTML page (plain
//! JS, no build step, `examples/showcase/index.html`) that opens an `EventSource` per GET
//! demo and shows the events live, reads the POST chat stream with `fetch` and a stream
//! reader, and has a chat room panel (an in-process broadcast hub): a form that posts
//! messages and an `EventSource` on the room that shows everyone's messages live and
//! resumes after a reconnection. The app also serves its OpenAPI document at
//! `/openapi.json` and a docs page at `/docs`, and the runtime's metrics at `/metrics` in
//! the Prometheus text format (`metrics-exporter-prometheus`, rendered by the app's own
//! route: no second listener), which the page draws as a live panel (open streams, events
//! per second). `docs/observability.md` lists the metrics.
//!
//! Each example is included as a module (`#[path]`), so their routes are used as they
//! are; their `main`s go unused here.
//!
//! ```text
//! cargo run --example showcase
//! # open http://127.0.0.1:8000/ in a browser, or http://127.0.0.1:8000/docs
//! ```

#[allow(dead_code)]
#[path = "chat.rs"]
pub mod chat;
#[allow(dead_code)]
#[path = "chat_room.rs"]
pub mod chat_room;
#[allow(dead_code)]
#[path = "llm_stream.rs"]
pub mod llm_stream;
#[allow(dead_code)]
#[path = "logs.rs"]
pub mod logs;
#[allow(dead_code)]
#[path = "notifications.rs"]
pub mod notifications;
#[allow(dead_code)]
#[path = "quickstart.rs"]
pub mod quickstart;
#[allow(dead_code)]
#[path = "resume.rs"]
pub mod resume;
#[allow(dead_code)]
#[path = "safe_stream.rs"]
pub mod safe_stream;
#[allow(dead_code)]
#[path = "stocks.rs"]
pub mod stocks;
#[allow(dead_code)]
#[path = "typed_events.rs"]
pub mod typed_events;

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sse_runtime::http::header::{HeaderValue, CONTENT_TYPE};
use sse_runtime::openapi::OpenApiConfig;
use sse_runtime::{App, Html, IntoResponse, Response, StatusCode};

/// The page served at `/` (`examples/showcase/index.html`).
pub const INDEX_HTML: &str = include_str!("showcase/index.html");

sse_runtime::routes! {
    /// `GET /`: the showcase page.
    #[get("/")]
    pub async fn index() -> Html<&'static str> {
        Html(INDEX_HTML)
    }

    /// `GET /metrics`: the runtime's metrics in the Prometheus text format
    /// (`docs/observability.md`).
    #[get("/metrics")]
    pub async fn metrics() -> Response {
        let Some(handle) = metrics_handle() else {
            return (StatusCode::SERVICE_UNAVAILABLE, "no metrics recorder").into_response();
        };
        // Histograms are drained on upkeep: once per scrape is enough here.
        handle.run_upkeep();
        let mut response = handle.render().into_response();
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        response
    }
}

/// The process's Prometheus recorder, installed (with the runtime's metric descriptions)
/// on first use; `None` if another recorder was installed first. One per process: the
/// `metrics` facade has one global recorder.
pub fn metrics_handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => {
                sse_runtime::observability::describe_metrics();
                Some(handle)
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot install the Prometheus recorder");
                None
            }
        })
        .as_ref()
}

/// The showcase app: the page, every example's routes with the state they need, the
/// OpenAPI document at `/openapi.json` with its docs page at `/docs`, and `/metrics`.
pub fn app() -> App {
    // Installed before any stream opens, so that every metric is recorded.
    metrics_handle();
    App::new()
        .route(index)
        .route(metrics)
        .route(quickstart::stream_data)
        .route(typed_events::get_events)
        .route(notifications::notifications)
        .route(logs::stream_logs)
        .route(chat::chat_stream)
        .state(chat::Model::new(chat::ScriptedModel::default()))
        .route(llm_stream::chat_completions)
        .route(stocks::stock_stream)
        .route(resume::stream_items)
        .route(chat_room::post_message)
        .route(chat_room::room_events)
        .state(chat_room::Hub::with_config(chat_room::hub_config()))
        .route(safe_stream::safe_stream)
        .route(safe_stream::stop_streams)
        .state(safe_stream::StreamControl::new())
        .openapi_config(OpenApiConfig::new(
            "sse-runtime showcase",
            env!("CARGO_PKG_VERSION"),
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
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    app().serve_with_listener(listener).await?; // until Ctrl-C or SIGTERM
    Ok(())
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use serde_json::json;
    use sse_runtime::testing::TestClient;
    use sse_runtime::{Method, StatusCode};

    use super::{app, INDEX_HTML};

    #[tokio::test]
    async fn index_is_the_html_page() {
        let response = TestClient::new(app()).get("/").send().await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        let html = response.text().await;
        assert_eq!(html, INDEX_HTML);
        assert!(html.starts_with("<!doctype html>"));
        for needle in [
            "new EventSource(",
            "getReader()",
            "\"/stream\"",
            "\"/events\"",
            "\"/notifications\"",
            "\"/logs/stream\"",
            "\"/items/stream\"",
            "\"/safe-stream\"",
            "\"/safe-stream/stop\"",
            "\"/stocks/\"",
            "\"/chat/stream?query=\"",
            "\"/v1/chat/completions\"",
            "\"/rooms/\"",
            "\"/messages\"",
            "Last-Event-ID",
            "\"/metrics\"",
            "sse_streams_open",
            "sse_stream_events_total",
        ] {
            assert!(html.contains(needle), "the page does not use {needle}");
        }
    }

    #[test]
    fn composes_every_example_route() {
        let service = app().build().expect("no conflicting routes");
        let mut routes = service.routes();
        routes.sort();
        let mut expected = vec![
            (Method::GET, "/".to_owned()),
            (Method::GET, "/stream".to_owned()),
            (Method::GET, "/events".to_owned()),
            (Method::GET, "/notifications".to_owned()),
            (Method::GET, "/logs/stream".to_owned()),
            (Method::POST, "/chat/stream".to_owned()),
            (Method::POST, "/v1/chat/completions".to_owned()),
            (Method::GET, "/stocks/{symbol}/stream".to_owned()),
            (Method::GET, "/items/stream".to_owned()),
            (Method::GET, "/safe-stream".to_owned()),
            (Method::POST, "/safe-stream/stop".to_owned()),
            (Method::GET, "/rooms/{room}/events".to_owned()),
            (Method::POST, "/rooms/{room}/messages".to_owned()),
            // The OpenAPI document and the docs page (`OpenApiConfig` in `app`).
            (Method::GET, "/openapi.json".to_owned()),
            (Method::GET, "/docs".to_owned()),
            (Method::GET, "/metrics".to_owned()),
        ];
        expected.sort();
        assert_eq!(routes, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn every_stream_answers_through_the_showcase() {
        let client = TestClient::new(app());
        // The chat room streams what was posted to it (history first).
        let posted = client
            .post("/rooms/showcase/messages")
            .json(&json!({"user": "ann", "text": "hello"}))
            .send()
            .await;
        assert_eq!(posted.status(), StatusCode::CREATED);
        for (method, path) in [
            (Method::GET, "/stream"),
            (Method::GET, "/events"),
            (Method::GET, "/notifications"),
            (Method::GET, "/logs/stream"),
            (Method::POST, "/chat/stream?query=q"),
            (Method::GET, "/stocks/AAPL/stream"),
            (Method::GET, "/items/stream"),
            (Method::GET, "/safe-stream"),
            (Method::GET, "/rooms/showcase/events"),
        ] {
            let response = client.request(method.clone(), path).send().await;
            response.assert_event_stream();
            let first = response.events().next().await;
            assert!(first.is_some(), "{method} {path} sent no event");
        }
    }
}
