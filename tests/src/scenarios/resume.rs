//! Resume: `GET /items/stream` numbers its events with `id: 0`, `id: 1`, ...; a client
//! that reconnects with `Last-Event-ID: N` (browsers do it on their own) gets the items
//! after N only.

use std::time::Duration;

use serde::Serialize;
use sse_runtime::{get, stream, App, LastEventId, ServerSentEvent, Stream};

/// One item of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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

/// `GET /items/stream`: the items after `Last-Event-ID` (all of them without the header),
/// [`PAUSE`] apart, each with its index as `id`. The stream starts with `retry: 1000`, so
/// a browser reconnects one second after it ends or breaks.
///
/// A `Last-Event-ID` that is not a number is refused with `422`.
#[get("/items/stream", sse, retry = "1s")]
pub async fn stream_items(
    LastEventId(last): LastEventId<usize>,
) -> impl Stream<Item = ServerSentEvent> {
    stream! {
        let start = last.map_or(0, |id| id.saturating_add(1));
        for (i, item) in ITEMS.iter().enumerate().skip(start) {
            if i > start {
                tokio::time::sleep(PAUSE).await;
            }
            yield ServerSentEvent::new().data(item).id(i.to_string());
        }
    }
}

/// Adds this scenario's routes to `app`.
pub fn routes(app: App) -> App {
    app.route(stream_items)
}

/// An app with only this scenario.
pub fn app() -> App {
    routes(App::new())
}
