// Route paths are checked at compile time, with the error on the literal.
use sse_runtime::{get, App};

#[get("items")]
fn no_slash() {}

#[get("/items/{id")]
fn unclosed() {}

#[get("/items/{}")]
fn empty_param() {}

#[get("/files/{*rest}/meta")]
fn catch_all_not_last() {}

#[get("/{a}/{a}")]
fn repeated() {}

#[get("/items/{a}-{b}")]
fn two_in_a_segment() {}

#[get("/search?q=1")]
fn query() {}

fn main() {
    let _ = App::new()
        .route(no_slash)
        .route(unclosed)
        .route(empty_param)
        .route(catch_all_not_last)
        .route(repeated)
        .route(two_in_a_segment)
        .route(query);
}
