// Every `yield` is checked against the declared item type, at the yielded expression.
use serde::Serialize;
use sse_runtime::{get, stream, App, Stream};

#[derive(Serialize)]
struct Tick {
    n: u32,
}

#[get("/ticks", sse)]
async fn ticks() -> impl Stream<Item = Tick> {
    stream! {
        yield Tick { n: 1 };
        yield "two";
        for n in 3..5_u64 {
            yield Tick { n };
        }
    }
}

fn main() {
    let _ = App::new().route(ticks);
}
