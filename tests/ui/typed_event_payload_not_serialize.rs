// The payload of an `Event<T>` must be `Serialize`.
use sse_runtime::{get, stream, App, Event, Stream};

struct Metric {
    value: f64,
}

#[get("/metrics", sse)]
async fn metrics() -> impl Stream<Item = Event<Metric>> {
    stream! {
        yield Event::new(Metric { value: 1.0 });
    }
}

fn main() {
    let _ = App::new().route(metrics);
}
