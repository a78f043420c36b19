// An argument whose type is not an extractor: the error is on that argument.
use sse_runtime::{get, App, Path};

struct Database;

#[get("/items/{id}")]
async fn item(Path(id): Path<u32>, db: Database, last: std::time::Duration) -> String {
    let _ = (db, last);
    id.to_string()
}

fn main() {
    let _ = App::new().route(item);
}
