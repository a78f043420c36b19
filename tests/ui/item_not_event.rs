// The item type must become an event: `Serialize`, or `ServerSentEvent`.
use sse_runtime::{get, stream, App, Stream};

struct Tick {
    n: u32,
}

#[get("/ticks", sse)]
async fn ticks() -> impl Stream<Item = Tick> {
    stream! {
        yield Tick { n: 1 };
    }
}

fn main() {
    let _ = App::new().route(ticks);
}
