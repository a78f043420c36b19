// A body extractor must be the last argument.
use serde::Deserialize;
use sse_runtime::{post, App, Json, Path};

#[derive(Deserialize)]
struct NewItem {
    name: String,
}

#[post("/items/{id}")]
async fn create(Json(item): Json<NewItem>, Path(id): Path<u32>) -> String {
    format!("{id}: {}", item.name)
}

fn main() {
    let _ = App::new().route(create);
}
