// Unreadable attribute arguments.
use sse_runtime::{get, route, App};

#[get]
fn no_path() {}

#[get(sse)]
fn flag_first() {}

#[route("/x")]
fn no_method() {}

#[route(FETCH, "/x")]
fn unknown_method() {}

#[get("/x" sse)]
fn missing_comma() {}

fn main() {
    let _ = App::new()
        .route(no_path)
        .route(flag_first)
        .route(no_method)
        .route(unknown_method)
        .route(missing_comma);
}
