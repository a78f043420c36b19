// A route function cannot be generic, const or unsafe.
use sse_runtime::{get, App, Json};

#[get("/echo")]
async fn echo<T: serde::Serialize>(value: Json<T>) -> Json<T> {
    value
}

#[get("/unsafe")]
unsafe fn danger() -> &'static str {
    "no"
}

fn main() {
    let _ = App::new();
}
