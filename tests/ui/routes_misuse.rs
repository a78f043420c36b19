// `routes!` misuse: `yield` in a function without a route attribute, and two route
// attributes on one function. Each is our own error at the user's code.
use sse_runtime::{routes, App, Stream};

routes! {
    fn helper() -> u32 {
        yield 1;
        1
    }

    #[get("/a", sse)]
    #[post("/b", sse)]
    async fn both() -> impl Stream<Item = u32> {
        yield 1;
    }
}

fn main() {
    let _ = App::new().route(both);
    let _ = helper();
}
