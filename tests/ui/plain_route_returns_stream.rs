// A route that returns a stream without `sse` / `ndjson`.
use sse_runtime::{get, App, Stream};

#[get("/numbers")]
async fn numbers() -> impl Stream<Item = u32> {
    futures_util::stream::iter([1, 2, 3])
}

fn main() {
    let _ = App::new().route(numbers);
}
