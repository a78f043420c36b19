// A JSON Lines item must be `Serialize` (a `ServerSentEvent` is not).
use sse_runtime::{get, stream, App, ServerSentEvent, Stream};

#[get("/lines", ndjson)]
async fn lines() -> impl Stream<Item = ServerSentEvent> {
    stream! {
        yield ServerSentEvent::new().data(1);
    }
}

fn main() {
    let _ = App::new().route(lines);
}
