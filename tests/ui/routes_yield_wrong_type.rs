// Inside `routes! { ... }` a route may `yield` without a `stream!` block, on stable;
// each `yield` is still checked against the declared item type, at the yielded value.
use sse_runtime::{routes, App, Stream};

routes! {
    #[get("/ticks", sse)]
    async fn ticks() -> impl Stream<Item = u32> {
        yield 1;
        yield "two";
    }
}

fn main() {
    let _ = App::new().route(ticks);
}
