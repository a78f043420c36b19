//! Every field of an event: `GET /notifications` sends one typed [`Event`] with
//! `event: notification`, `data: {"type":"alert","content":"系统更新"}`, `id: 123` and
//! `retry: 3000` (reconnect after 3 s).
//!
//! The item type is `Event<Notification>`: the SSE fields do not cost the type of the
//! data, so every `yield` is checked and the OpenAPI document names `Notification`.
//!
//! ```text
//! cargo run --example notifications
//! curl -N http://127.0.0.1:8000/notifications
//! ```

use serde::{Deserialize, Serialize};
use sse_runtime::schemars::JsonSchema;
use sse_runtime::{App, Event, Stream};

/// The data of a notification: `{"type": "alert", "content": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct Notification {
    /// The kind of notification, sent as `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text shown to the user.
    pub content: String,
}

sse_runtime::routes! {
    /// `GET /notifications`: one `notification` event with an id and a retry hint.
    #[get("/notifications", sse)]
    pub async fn notifications() -> impl Stream<Item = Event<Notification>> {
        let alert = Notification {
            kind: "alert".to_owned(),
            content: "系统更新".to_owned(), // "system update"
        };
        yield Event::new(alert)
            .event("notification")
            .id("123")
            .retry(std::time::Duration::from_millis(3000)); // reconnect after 3 s
    }
}

/// The app: `GET /notifications`.
pub fn app() -> App {
    App::new().route(notifications)
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
    use sse_runtime::parse::ParsedEvent;
    use sse_runtime::testing::TestClient;

    use super::{app, Notification};

    #[tokio::test]
    async fn notification_has_every_field() {
        let response = TestClient::new(app()).get("/notifications").send().await;
        response.assert_event_stream();
        assert_eq!(
            response.text().await,
            "event: notification\n\
             data: {\"type\":\"alert\",\"content\":\"系统更新\"}\n\
             id: 123\n\
             retry: 3000\n\n"
        );
    }

    #[tokio::test]
    async fn browser_sees_a_notification_event() {
        let response = TestClient::new(app()).get("/notifications").send().await;
        response.assert_event_stream();
        let events: Vec<ParsedEvent> = response.events().collect().await;
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.event, "notification");
        assert_eq!(event.id.as_deref(), Some("123"));
        assert_eq!(event.last_event_id, "123");
        assert_eq!(event.retry, Some(3000));
        let data: Notification = event.json().expect("Notification");
        assert_eq!(data.kind, "alert");
        assert_eq!(data.content, "系统更新");
    }
}
