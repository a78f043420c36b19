//! The showcase: every scenario in one app, plus `GET /`, one HTML page (plain JS, no
//! build step) that opens an `EventSource` per GET demo and shows the events live, reads
//! the POST chat stream with `fetch` and a stream reader, and has a chat room panel
//! (`chat_room`, on an in-process broadcast hub): a form that posts messages and an
//! `EventSource` on the room that shows everyone's messages live and resumes after a
//! reconnection.

use sse_runtime::openapi::OpenApiConfig;
use sse_runtime::{get, App, Html};

use super::{
    chat, chat_room, logs, notifications, quickstart, resume, safe_stream, stocks, typed_events,
};

/// The page served at `/` (`examples/showcase/index.html`).
pub const INDEX_HTML: &str = include_str!("../../../examples/showcase/index.html");

/// `GET /`: the showcase page.
#[get("/")]
pub async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

/// Adds every scenario's routes and the page to `app`.
pub fn routes(app: App) -> App {
    let app = app.route(index);
    let app = quickstart::routes(app);
    let app = typed_events::routes(app);
    let app = notifications::routes(app);
    let app = logs::routes(app);
    let app = chat::routes(app);
    let app = stocks::routes(app);
    let app = resume::routes(app);
    let app = chat_room::routes(app);
    safe_stream::routes(app)
}

/// The showcase app, with its OpenAPI document at `/openapi.json` and the docs page at
/// `/docs`.
pub fn app() -> App {
    routes(App::new()).openapi_config(OpenApiConfig::new(
        "sse-runtime showcase",
        env!("CARGO_PKG_VERSION"),
    ))
}
