//! Resume: `GET /items/stream` numbers its events with `id: 0`, `id: 1`, ...; a client
//! that reconnects with `Last-Event-ID: N` (browsers do it on their own) gets the items
//! after N only.
//!
//! ```text
//! cargo run --example resume
//! curl -N http://127.0.0.1:8000/items/stream
//! curl -N -H 'Last-Event-ID: 2' http://127.0.0.1:8000/items/stream
//! ```

use std::time::Duration;

use serde::Serialize;
use sse_runtime::schemars::JsonSchema;
use sse_runtime::{App, Event, LastEventId, Stream};

/// One item of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct Item {
    /// The item's name.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
}

/// The items, in order; an item's index is its event id.
pub const ITEMS: [Item; 5] = [
    Item {
        name: "Plumbus",
        description: "A multi-purpose household device.",
    },
    Item {
        name: "Portal Gun",
        description: "A portal opening device.",
    },
    Item {
        name: "Meeseeks Box",
        description: "A box that summons a Meeseeks.",
    },
    Item {
        name: "Microverse Battery",
        description: "A car battery with a universe inside.",
    },
    Item {
        name: "Interdimensional Cable",
        description: "A TV box that receives every universe.",
    },
];

/// The pause between two items, so a reconnect in the middle is easy to try.
pub const PAUSE: Duration = Duration::from_secs(1);

sse_runtime::routes! {
    /// `GET /items/stream`: the items after `Last-Event-ID` (all of them without the header),
    /// [`PAUSE`] apart, each with its index as `id`. The stream starts with `retry: 1000`, so
    /// a browser reconnects one second after it ends or breaks.
    ///
    /// A `Last-Event-ID` that is not a number is refused with `422`.
    #[get("/items/stream", sse, retry = "1s")]
    pub async fn stream_items(
        LastEventId(last): LastEventId<usize>,
    ) -> impl Stream<Item = Event<Item>> {
        let start = last.map_or(0, |id| id.saturating_add(1));
        for (i, item) in ITEMS.iter().enumerate().skip(start) {
            if i > start {
                tokio::time::sleep(PAUSE).await;
            }
            yield Event::new(*item).id(i.to_string());
        }
    }
}

/// The app: `GET /items/stream`.
pub fn app() -> App {
    App::new().route(stream_items)
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
    use serde_json::{json, Value};
    use sse_runtime::parse::ParsedEvent;
    use sse_runtime::testing::{Protocol, TestClient, TestResponse};
    use sse_runtime::StatusCode;
    use tokio::time::Instant;

    use super::{app, ITEMS, PAUSE};

    fn item_json(i: usize) -> String {
        serde_json::to_string(&ITEMS[i]).unwrap()
    }

    async fn resume_after(last_event_id: Option<&str>) -> TestResponse {
        let client = TestClient::new(app());
        let mut request = client.get("/items/stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        request.send().await
    }

    #[tokio::test(start_paused = true)]
    async fn numbers_every_item_with_its_index() {
        let response = resume_after(None).await;
        response.assert_event_stream();
        let mut expected = String::from("retry: 1000\n\n");
        for i in 0..ITEMS.len() {
            expected.push_str(&format!("data: {}\nid: {i}\n\n", item_json(i)));
        }
        assert_eq!(response.text().await, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn items_come_a_pause_apart() {
        let start = Instant::now();
        let mut events = resume_after(None).await.events();
        for i in 0..ITEMS.len() {
            let event = events.next().await.expect("an item");
            assert_eq!(event.id, Some(i.to_string()));
            // Paused clock: exact milliseconds.
            assert_eq!(start.elapsed().as_millis(), PAUSE.as_millis() * i as u128);
        }
        assert!(events.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn last_event_id_continues_after_it() {
        let response = resume_after(Some("2")).await;
        response.assert_event_stream();
        assert_eq!(
            response.text().await,
            format!(
                "retry: 1000\n\ndata: {}\nid: 3\n\ndata: {}\nid: 4\n\n",
                item_json(3),
                item_json(4)
            )
        );
    }

    #[tokio::test(start_paused = true)]
    async fn after_the_last_item_there_is_nothing_more() {
        for id in ["4", "5", &usize::MAX.to_string()] {
            let response = resume_after(Some(id)).await;
            response.assert_event_stream();
            assert_eq!(
                response.text().await,
                "retry: 1000\n\n",
                "Last-Event-ID {id}"
            );
        }
    }

    #[tokio::test]
    async fn a_last_event_id_that_is_not_a_number_is_422() {
        let response = resume_after(Some("abc")).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = response.json().await;
        assert_eq!(body["detail"][0]["loc"], json!(["header", "last-event-id"]));
    }

    /// What a browser does: read some events, lose the connection, reconnect with the
    /// last id it saw, and get exactly the rest — over a real socket.
    #[tokio::test]
    async fn reconnect_over_tcp_resumes_where_it_stopped() {
        let client = TestClient::spawn(app(), Protocol::Http1).await;
        let mut events = client.get("/items/stream").send().await.events();
        let first = events.next().await.expect("item 0");
        let second = events.next().await.expect("item 1");
        assert_eq!(second.last_event_id, "1");
        drop(events); // connection lost

        let rest: Vec<ParsedEvent> = client
            .get("/items/stream")
            .header("Last-Event-ID", &second.last_event_id)
            .send()
            .await
            .events()
            .collect()
            .await;
        let mut ids: Vec<String> = vec![first.last_event_id, second.last_event_id];
        ids.extend(rest.iter().map(|e| e.last_event_id.clone()));
        assert_eq!(ids, ["0", "1", "2", "3", "4"]);
        assert_eq!(rest[0].data, item_json(2));
    }
}
