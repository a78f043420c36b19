//! `ServerSentEvent` fields: `GET /notifications` sends one event with every field set:
//! `event: notification`, `data: {"type":"alert","content":"系统更新"}`, `id: 123` and
//! `retry: 3000` (reconnect after 3 s).

use serde::{Deserialize, Serialize};
use sse_runtime::{get, stream, App, ServerSentEvent, Stream};

/// The data of a notification: `{"type": "alert", "content": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The kind of notification, sent as `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text shown to the user.
    pub content: String,
}

/// `GET /notifications`: one `notification` event with an id and a retry hint.
#[get("/notifications", sse)]
pub async fn notifications() -> impl Stream<Item = ServerSentEvent> {
    stream! {
        let alert = Notification {
            kind: "alert".to_owned(),
            content: "系统更新".to_owned(), // "system update"
        };
        yield ServerSentEvent::new()
            .data(alert)
            .event("notification")
            .id("123")
            .retry_ms(3000); // reconnect after 3 s
    }
}

/// Adds this scenario's routes to `app`.
pub fn routes(app: App) -> App {
    app.route(notifications)
}

/// An app with only this scenario.
pub fn app() -> App {
    routes(App::new())
}
