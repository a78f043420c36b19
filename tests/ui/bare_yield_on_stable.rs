// Stable rustc rejects the `yield` keyword while parsing the function, before any
// attribute runs ("yield syntax is experimental", naming a nightly feature). The attribute
// still runs, and adds the error that says how to fix it on stable: put the route inside
// `routes! { ... }` (see `ui/routes_yield_wrong_type.rs` and `tests/routes_macro.rs`), or
// end the body in `stream! { ... }` (see `ui/yield_wrong_type.rs` and `tests/macros.rs`).
use sse_runtime::{get, App, Stream};

#[get("/ticks", sse)]
async fn ticks() -> impl Stream<Item = u32> {
    for n in 0..3 {
        yield n;
    }
}

fn main() {
    let _ = App::new().route(ticks);
}
