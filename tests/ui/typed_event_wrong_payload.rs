// An `Event<T>` keeps the item type: yielding an event of another payload type is a
// type error at the yield, as for bare items.
use serde::Serialize;
use sse_runtime::{get, stream, App, Event, Stream};

#[derive(Serialize)]
struct Metric {
    value: f64,
}

#[derive(Serialize)]
struct Other {
    text: &'static str,
}

#[get("/metrics", sse)]
async fn metrics() -> impl Stream<Item = Event<Metric>> {
    stream! {
        yield Event::new(Metric { value: 1.0 }).id("1");
        yield Event::new(Other { text: "oops" }).event("other");
        yield Event::raw("[DONE]");
    }
}

fn main() {
    let _ = App::new().route(metrics);
}
