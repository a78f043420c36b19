// `?` and `try_stream!` need `Result` items; in `try_stream!`, `yield` takes the `Ok` value.
use sse_runtime::{get, stream, try_stream, App, HttpError, Stream};

fn check() -> Result<(), HttpError> {
    Ok(())
}

#[get("/a", sse)]
async fn a() -> impl Stream<Item = u32> {
    stream! {
        check()?;
        yield 1;
    }
}

#[get("/b", sse)]
async fn b() -> impl Stream<Item = u32> {
    try_stream! {
        yield 1;
    }
}

#[get("/c", sse)]
async fn c() -> impl Stream<Item = Result<u32, HttpError>> {
    try_stream! {
        check()?;
        yield Ok(1);
    }
}

fn main() {
    let _ = App::new().route(a).route(b).route(c);
}
