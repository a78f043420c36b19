// A `Path` tuple takes one value per parameter of the route's pattern, in order: a tuple
// of another arity could never extract, so it is a compile error on the tuple. (A struct
// path's field names, and a single value against several parameters, are checked when
// the app is built: see `tests/it/startup.rs`.)
use sse_runtime::{get, App, Path};

#[get("/pairs/{a}/{b}")]
async fn pair(Path((a, b, c)): Path<(String, u32, u8)>) -> String {
    format!("{a}{b}{c}")
}

#[get("/items/{id}")]
async fn item(Path((id, extra)): Path<(u64, String)>) -> String {
    format!("{id}{extra}")
}

fn main() {
    let _ = App::new().route(pair).route(item);
}
