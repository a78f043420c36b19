// A generator in a route without `sse`: the error suggests `sse`.
use sse_runtime::{get, stream, App, Json};

#[get("/numbers")]
async fn numbers() -> Json<Vec<u32>> {
    stream! {
        yield 1;
    }
}

fn main() {
    let _ = App::new().route(numbers);
}
