// Rocket's `routes![a, b]` collects handlers; ours wraps route functions. The error
// says how to register routes instead.
use sse_runtime::{get, routes, App};

#[get("/")]
async fn index() -> &'static str {
    "hi"
}

fn main() {
    let _ = App::new().route(index);
    let _ = routes![index];
}
