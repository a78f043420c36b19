// Unknown, misspelt, conflicting and malformed options: every one is reported.
use sse_runtime::{get, post, App, Stream};

#[get("/a", sse, keepalive = "5s")]
fn a() -> impl Stream<Item = u32> {
    futures_util::stream::iter([1])
}

#[get("/b", sse, ndjson, compress)]
fn b() -> impl Stream<Item = u32> {
    futures_util::stream::iter([1])
}

#[get("/c", sse, keep_alive = 15, retry = "soon")]
fn c() -> impl Stream<Item = u32> {
    futures_util::stream::iter([1])
}

#[post("/d", keep_alive = "5s")]
fn d() -> &'static str {
    "plain"
}

#[get("/e", ndjson, retry = "1s")]
fn e() -> impl Stream<Item = u32> {
    futures_util::stream::iter([1])
}

fn main() {
    let _ = App::new().route(a).route(b).route(c).route(d).route(e);
}
