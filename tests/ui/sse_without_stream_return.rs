// An `sse` route must return `impl Stream<Item = T>`.
use serde::Serialize;
use sse_runtime::{get, stream, App};

#[derive(Serialize)]
struct Tick {
    n: u32,
}

#[get("/ticks", sse)]
async fn ticks() -> Vec<Tick> {
    vec![Tick { n: 1 }]
}

#[get("/nothing", sse)]
async fn nothing() {
    let _ = stream! {
        yield 1;
    };
}

#[get("/unnamed", sse)]
async fn unnamed() -> impl sse_runtime::Stream {
    stream! {
        yield Tick { n: 1 };
    }
}

fn main() {
    let _ = App::new().route(ticks).route(nothing).route(unnamed);
}
